"""Health on the stream: flatline, no data, gateway offline, out of range, PM order."""

import pytest
from tests.rules.conftest import (
    HENGTONG,
    QINGYUAN,
    at,
    engine_for,
    evidence,
    feed,
    outcomes,
    reading,
    utc,
)

from telemetry import Quality

DEVICE = "site:site-hengtong-east/device:pm-1"
GATEWAY = "gateway:gw-0001"


# --- flatline ---------------------------------------------------------------------------------

FLAT = "rules: [{id: stuck, kind: flatline, metric: pm25, for: 5m, tolerance: 0.5}]"


def test_identical_values_for_the_hold_fire_and_a_change_resolves():
    engine = engine_for(FLAT)
    assert feed(engine, [30, 42.0, 42.2, 41.8, 42.1, 42.0]) == []  # 41.8..42.2 spans 4 minutes
    [fired] = feed(engine, [42.3], start=6)  # 41.8..42.3: within 0.5, 5 minutes since 42.0
    assert outcomes([fired]) == [(DEVICE, "firing", utc(1), None)]
    assert (fired.value, fired.limit, evidence(fired)["band"]) == (42.0, 0.5, [41.8, 42.3])
    assert feed(engine, [42.0] * 10, start=7) == []
    [resolved] = feed(engine, [43.0], start=17)
    assert outcomes([resolved]) == [(DEVICE, "resolved", utc(1), utc(17))]
    assert evidence(resolved)["readings"]["count"] == 16
    assert evidence(resolved)["broken_by"]["value"] == 43.0


def test_a_changing_signal_never_flatlines():
    engine = engine_for(FLAT)
    assert feed(engine, [40 + (n % 3) for n in range(60)]) == []


def test_a_single_reading_is_not_a_flatline_even_with_no_hold():
    engine = engine_for("rules: [{id: stuck, kind: flatline, metric: pm25, for: 0s}]")
    assert feed(engine, [40]) == []
    assert [r.outcome for r in feed(engine, [40], start=1)] == ["firing"]


# --- no data ----------------------------------------------------------------------------------

NO_DATA = """
rules:
  - {id: device-quiet, kind: no_data, subject: device, for: 10m}
  - {id: gateway-quiet, kind: no_data, subject: gateway, for: 30m, severity: major}
"""


def test_a_quiet_device_fires_on_a_tick_from_its_last_reading_and_resolves_when_data_return():
    engine = engine_for(NO_DATA)
    feed(engine, [30, 31], device="pm-1")
    feed(engine, [5.0], device="meter-1", metric="active_power", start=5)
    assert engine.tick(at(10.9)) == []
    [quiet] = engine.tick(at(11))
    assert outcomes([quiet]) == [(DEVICE, "firing", utc(1), None)]
    assert (quiet.rule, quiet.value, quiet.limit) == ("device-quiet", None, 600.0)
    assert quiet.evidence == {"subject": "device", "for_s": 600.0, "seen": True}
    assert engine.tick(at(12)) == []  # firing already
    [meter] = engine.tick(at(15))
    assert meter.subject == "site:site-hengtong-east/device:meter-1"
    [back] = feed(engine, [33], start=20)
    assert outcomes([back]) == [(DEVICE, "resolved", utc(1), utc(20))]
    assert back.value == 19 * 60
    assert evidence(back)["returned"]["ts"] == at(20)


def test_a_quiet_gateway_fires_on_its_subject_and_any_device_brings_it_back():
    engine = engine_for(NO_DATA)
    feed(engine, [30], device="pm-1")
    feed(engine, [5.0], device="meter-1", metric="active_power", start=2)
    results = engine.tick(at(32))
    assert [(r.rule, r.subject, r.window_start) for r in results] == [
        ("device-quiet", DEVICE, utc(0)),
        ("device-quiet", "site:site-hengtong-east/device:meter-1", utc(2)),
        ("gateway-quiet", GATEWAY, utc(2)),
    ]
    back = feed(engine, [6.0], device="meter-1", metric="active_power", start=40)
    assert [(r.rule, r.outcome, r.window_end) for r in back] == [
        ("device-quiet", "resolved", utc(40)),
        ("gateway-quiet", "resolved", utc(40)),
    ]


def test_an_aggregate_counts_as_seen_until_its_interval_ends():
    engine = engine_for("rules: [{id: quiet, kind: no_data, subject: device, for: 10m}]")
    engine.on_reading(HENGTONG, reading(30, 0, interval_s=60.0, count=12))
    assert engine.tick(at(10.5)) == []
    [quiet] = engine.tick(at(11))
    assert quiet.window_start == utc(1)


def test_a_registered_gateway_that_never_sends_is_quiet_from_when_it_was_watched():
    engine = engine_for(NO_DATA)
    engine.watch(QINGYUAN, at(0))
    engine.watch(QINGYUAN, at(20))  # already watched: its silence began at 0
    [quiet] = engine.tick(at(30))
    assert (quiet.subject, quiet.window_start, evidence(quiet)["seen"]) == (
        "gateway:gw-0002",
        utc(0),
        False,
    )
    assert quiet.site == "site-qingyuan-stack"


def test_readings_in_maintenance_still_show_a_device_is_alive():
    engine = engine_for(NO_DATA)
    feed(engine, [30] * 20, quality=Quality.MAINTENANCE)
    assert engine.tick(at(25)) == []


# --- gateway offline --------------------------------------------------------------------------

OFFLINE = "rules: [{id: offline, kind: gateway_offline, for: 5m}]"


def test_an_offline_gateway_fires_after_the_hold_and_resolves_when_back_online():
    engine = engine_for(OFFLINE)
    assert engine.on_status(HENGTONG, online=False, ts_ms=at(0)) == []
    assert engine.tick(at(4)) == []
    [offline] = engine.tick(at(5))
    assert outcomes([offline]) == [(GATEWAY, "firing", utc(0), None)]
    assert engine.on_status(HENGTONG, online=False, ts_ms=at(6)) == []  # still the same episode
    [online] = engine.on_status(HENGTONG, online=True, ts_ms=at(9))
    assert outcomes([online]) == [(GATEWAY, "resolved", utc(0), utc(9))]
    assert (online.value, online.limit) == (540.0, 300.0)


def test_a_gateway_back_before_the_hold_fires_nothing():
    engine = engine_for(OFFLINE)
    engine.on_status(HENGTONG, online=False, ts_ms=at(0))
    assert engine.on_status(HENGTONG, online=True, ts_ms=at(2)) == []
    assert engine.tick(at(10)) == []


def test_without_a_hold_offline_fires_at_once_and_an_early_online_clock_is_clamped():
    engine = engine_for("rules: [{id: offline, kind: gateway_offline}]")
    [offline] = engine.on_status(HENGTONG, online=False, ts_ms=at(10))
    assert offline.outcome == "firing"
    [online] = engine.on_status(HENGTONG, online=True, ts_ms=at(9))  # the gateway's clock lags
    assert (online.window_end, online.value) == (utc(10), 0.0)


# --- out of range -----------------------------------------------------------------------------

RANGE = "rules: [{id: range, kind: out_of_range}]"


def test_a_value_outside_the_physical_range_fires_at_once_and_resolves_when_back_in_range():
    engine = engine_for(RANGE)
    [out] = feed(engine, [1200.0])
    assert outcomes([out]) == [(f"{DEVICE}/metric:pm25", "firing", utc(0), None)]
    assert (out.value, out.limit) == (1200.0, 1000.0)
    assert (evidence(out)["low"], evidence(out)["high"]) == (0, 1000)
    assert feed(engine, [1500.0], start=1) == []
    [back] = feed(engine, [80.0], start=2)
    assert outcomes([back]) == [(f"{DEVICE}/metric:pm25", "resolved", utc(0), utc(2))]
    assert evidence(back)["readings"]["count"] == 2


def test_each_metric_out_of_range_is_its_own_episode_and_min_max_count():
    engine = engine_for(RANGE)
    results = [
        *engine.on_reading(HENGTONG, reading(-60, metric="temperature", device="th-1")),
        *engine.on_reading(HENGTONG, reading(101, metric="humidity", device="th-1")),
        *engine.on_reading(
            HENGTONG, reading(50, 1, interval_s=60.0, count=10, min=10.0, max=1100.0)
        ),
    ]
    assert [(r.subject, r.value, r.limit) for r in results] == [
        ("site:site-hengtong-east/device:th-1/metric:temperature", -60.0, -50.0),
        ("site:site-hengtong-east/device:th-1/metric:humidity", 101.0, 100.0),
        (f"{DEVICE}/metric:pm25", 1100.0, 1000.0),
    ]


def test_out_of_range_can_watch_chosen_metrics_only():
    engine = engine_for("rules: [{id: range, kind: out_of_range, metrics: [pm10]}]")
    assert feed(engine, [1200.0]) == []
    assert len(feed(engine, [2500.0], metric="pm10")) == 1


# --- PM2.5 above PM10 -------------------------------------------------------------------------

ORDER = "rules: [{id: pm-order, kind: pm25_above_pm10, tolerance: 2}]"


def pair(minute: float, pm25: float, pm10: float, **fields):
    return [reading(pm25, minute, **fields), reading(pm10, minute, metric="pm10", **fields)]


def test_pm25_above_pm10_at_the_same_time_fires_and_a_later_pair_in_order_resolves():
    engine = engine_for(ORDER)
    assert engine.on_readings(HENGTONG, pair(0, 50, 49)) == []  # within the tolerance
    [fired] = engine.on_readings(HENGTONG, pair(1, 60, 55))
    assert outcomes([fired]) == [(DEVICE, "firing", utc(1), None)]
    assert (fired.value, fired.limit) == (5.0, 2.0)
    assert engine.on_readings(HENGTONG, pair(2, 70, 60)) == []
    [resolved] = engine.on_readings(HENGTONG, pair(3, 40, 60))
    assert outcomes([resolved]) == [(DEVICE, "resolved", utc(1), utc(3))]
    assert resolved.value == 10.0
    assert evidence(resolved)["readings"]["first"] == [
        {"ts": at(1), "pm25": 60, "pm10": 55},
        {"ts": at(2), "pm25": 70, "pm10": 60},
    ]


def test_readings_at_different_times_or_of_different_devices_are_no_pair():
    engine = engine_for(ORDER)
    readings = [
        reading(80, 0),
        reading(20, 0.5, metric="pm10"),
        reading(80, 1, device="pm-2"),
        reading(20, 1, metric="pm10", device="pm-3"),
        reading(80, 2, interval_s=60.0, count=12),
        reading(20, 2, metric="pm10"),
    ]
    assert engine.on_readings(HENGTONG, readings) == []


@pytest.mark.parametrize("order", ["pm10 first", "pm25 first"])
def test_a_pair_completes_in_either_order(order):
    engine = engine_for(ORDER)
    first, second = pair(0, 80, 20)
    if order == "pm10 first":
        first, second = second, first
    assert engine.on_readings(HENGTONG, [first]) == []
    assert [r.outcome for r in engine.on_readings(HENGTONG, [second])] == ["firing"]


def test_a_pair_older_than_the_last_judged_one_is_ignored():
    engine = engine_for(ORDER)
    late_pm25 = reading(80, 0)
    engine.on_readings(HENGTONG, [late_pm25, *pair(1, 30, 40)])
    assert engine.on_readings(HENGTONG, [reading(20, 0, metric="pm10")]) == []
