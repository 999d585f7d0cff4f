"""Threshold rules on the stream: hold, hysteresis, direction, source, quality and scope."""

from typing import Any

import pytest
from tests.rules.conftest import (
    HENGTONG,
    QINGYUAN,
    SHUICHENG,
    at,
    engine_for,
    evidence,
    feed,
    outcomes,
    reading,
    rule_set,
    utc,
)

from rules.stream import StreamEngine
from store.sql import RuleResult
from telemetry import Quality

SPIKE = """
version: "2026.1"
rules:
  - {id: pm25-spike, kind: threshold, metric: pm25, above: 150, for: 10m, clear_below: 115,
     severity: major}
"""
DEVICE = "site:site-hengtong-east/device:pm-1"


def test_a_level_held_for_the_hold_fires_once_with_the_episode_start():
    engine = engine_for(SPIKE)
    results = feed(engine, [160, 170, 155, 180, 160, 160, 160, 160, 160, 160, 165, 170])
    [fired] = results
    version = engine.rules["pm25-spike"]
    assert version.startswith("2026.1+")
    assert fired == RuleResult(
        rule="pm25-spike",
        rule_version=version,
        kind="threshold",
        subject=DEVICE,
        window_start=utc(0),
        outcome="firing",
        severity="major",
        value=180.0,
        limit=150.0,
        county="chiping",
        park="xinfa-materials",
        enterprise="ent-hengtong-al",
        site="site-hengtong-east",
        device="pm-1",
        gateway="gw-0001",
        evidence={
            "metric": "pm25",
            "for_s": 600.0,
            "above": 150.0,
            "clear_below": 115.0,
            "source": "any",
            "held_until": at(10),
            "readings": {
                "count": 11,
                "first": [
                    {"metric": "pm25", "ts": at(n), "value": v, "quality": "N"}
                    for n, v in enumerate([160, 170, 155, 180, 160, 160, 160, 160, 160, 160])
                ],
                "last": [{"metric": "pm25", "ts": at(10), "value": 165, "quality": "N"}],
            },
        },
    )


def test_a_level_that_drops_before_the_hold_fires_nothing_and_starts_over():
    engine = engine_for(SPIKE)
    assert feed(engine, [160] * 9 + [150] + [160] * 10) == []  # 150 is not above 150
    [fired] = feed(engine, [160], start=20)
    assert outcomes([fired]) == [(DEVICE, "firing", utc(10), None)]


def test_hysteresis_keeps_firing_between_the_levels_and_resolves_below_the_clear_level():
    engine = engine_for(SPIKE)
    assert [r.outcome for r in feed(engine, [160] * 11)] == ["firing"]
    assert feed(engine, [140, 150, 115, 120, 149], start=11) == []  # 115 is not below 115
    [resolved] = feed(engine, [114], start=16)
    assert outcomes([resolved]) == [(DEVICE, "resolved", utc(0), utc(16))]
    assert resolved.value == 160.0
    assert evidence(resolved)["cleared_by"] == {
        "metric": "pm25",
        "ts": at(16),
        "value": 114,
        "quality": "N",
    }
    assert evidence(resolved)["readings"]["count"] == 16  # every reading of the episode
    assert len(evidence(resolved)["readings"]["last"]) == 6


def test_without_a_clear_level_it_clears_where_it_fires():
    engine = engine_for("rules: [{id: r, kind: threshold, metric: pm25, above: 150}]")
    [fired] = feed(engine, [151])
    assert fired.outcome == "firing"  # for: 0 fires at the first offending reading
    [resolved] = feed(engine, [150], start=1)
    assert outcomes([resolved]) == [(DEVICE, "resolved", utc(0), utc(1))]


def test_below_fires_on_low_values_and_keeps_the_lowest_as_value():
    engine = engine_for(
        "rules: [{id: undervoltage, kind: threshold, metric: voltage, below: 200, for: 2m,"
        " clear_above: 210}]"
    )
    results = feed(engine, [199, 190, 195, 205, 209, 211], metric="voltage", device="meter-1")
    assert [(r.outcome, r.window_start, r.window_end, r.value, r.limit) for r in results] == [
        ("firing", utc(0), None, 190.0, 200.0),
        ("resolved", utc(0), utc(5), 190.0, 200.0),
    ]
    assert results[0].subject == "site:site-hengtong-east/device:meter-1"


@pytest.mark.parametrize(
    ("source", "fires_on"),
    [("raw", "raw"), ("aggregate", "aggregate"), ("any", "raw")],
)
def test_source_selects_samples_or_interval_aggregates(source, fires_on):
    engine = engine_for(
        f"rules: [{{id: r, kind: threshold, metric: pm25, above: 150, source: {source}}}]"
    )
    raw = engine.on_reading(HENGTONG, reading(160, 0.5))
    aggregate = engine.on_reading(HENGTONG, reading(170, 0, interval_s=60.0, count=12))
    assert [r.outcome for r in raw] == (["firing"] if fires_on == "raw" else [])
    assert [r.outcome for r in aggregate] == (["firing"] if source == "aggregate" else [])


def test_an_aggregate_holds_until_its_interval_ends():
    engine = engine_for(
        "rules: [{id: r, kind: threshold, metric: pm25, above: 150, for: 3m, source: aggregate}]"
    )
    minute: dict[str, Any] = {"interval_s": 60.0, "count": 12}
    assert engine.on_reading(HENGTONG, reading(160, 0, **minute)) == []
    assert engine.on_reading(HENGTONG, reading(160, 1, **minute)) == []
    [fired] = engine.on_reading(HENGTONG, reading(160, 2, **minute))  # held 00:00 to 00:03
    assert fired.window_start == utc(0)


def test_maintenance_and_calibration_readings_are_not_judged_but_faults_are():
    engine = engine_for("rules: [{id: r, kind: threshold, metric: pm25, above: 150, for: 2m}]")
    assert feed(engine, [500, 500, 500], quality=Quality.CALIBRATION) == []
    assert feed(engine, [500, 500, 500], start=3, quality=Quality.MAINTENANCE) == []
    [fired] = feed(engine, [500, 500, 500], start=6, quality=Quality.FAULT)
    assert fired.window_start == utc(6)


def test_a_maintenance_reading_inside_an_episode_neither_breaks_nor_clears_it():
    engine = engine_for(SPIKE)
    feed(engine, [160] * 5)
    assert engine.on_reading(HENGTONG, reading(10, 5, quality=Quality.MAINTENANCE)) == []
    [fired] = feed(engine, [160] * 5, start=6)
    assert fired.window_start == utc(0)


@pytest.mark.parametrize(
    ("scope", "fires_at"),
    [
        ("{}", {"gw-0001", "gw-0002", "gw-0006"}),
        ("{county: chiping}", {"gw-0001"}),
        ("{park: xiangguang-eco}", {"gw-0002"}),
        ("{enterprise: ent-shuicheng-print}", {"gw-0006"}),
        ("{site: site-qingyuan-stack}", {"gw-0002"}),
        ("{county: chiping, park: xiangguang-eco}", set()),
    ],
)
def test_scope_limits_a_rule_to_all_sites_a_county_park_enterprise_or_site(scope, fires_at):
    engine = StreamEngine(
        [rule_set(f"rules: [{{id: r, kind: threshold, metric: pm25, above: 1, scope: {scope}}}]")]
    )
    fired = {
        result.gateway
        for placement in (HENGTONG, QINGYUAN, SHUICHENG)
        for result in engine.on_reading(placement, reading(10))
    }
    assert fired == fires_at


def test_each_device_has_its_own_episode():
    engine = engine_for("rules: [{id: r, kind: threshold, metric: pm25, above: 150, for: 1m}]")
    results = [
        *feed(engine, [160], device="pm-1"),
        *feed(engine, [160], device="pm-2"),
        *feed(engine, [160], start=1, device="pm-1"),
        *feed(engine, [100], start=1, device="pm-2"),
    ]
    assert outcomes(results) == [(DEVICE, "firing", utc(0), None)]
