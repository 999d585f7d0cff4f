"""Rule results and gateway status as InfluxDB points: exact lines for each kind."""

from datetime import UTC, datetime

from store.lineprotocol import encode_point
from store.result_points import gateway_health_points, result_points
from store.sql import Placement, RuleResult
from telemetry import ClockSync, DeviceHealth, GatewayState, GatewayStatus, SpoolHealth

HOUR = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # 09:00 in Asia/Shanghai
HOUR_MS = 1772413200000
WHERE = {
    "county": "chiping",
    "park": "xinfa-materials",
    "enterprise": "ent-hengtong-al",
    "site": "site-hengtong-east",
    "gateway": "gw-0001",
}
TAGS = (
    "county=chiping,enterprise=ent-hengtong-al,gateway=gw-0001,kind={kind},park=xinfa-materials,"
    "rule={rule},site=site-hengtong-east"
)


def result(kind: str, rule: str, **fields: object) -> RuleResult:
    defaults: dict[str, object] = {
        "rule_version": "2026.1",
        "subject": "site:site-hengtong-east",
        "window_start": HOUR,
        "outcome": "compliant",
        "severity": "warning",
    }
    return RuleResult(kind=kind, rule=rule, **(defaults | WHERE | fields))  # type: ignore[arg-type]


def lines(points) -> list[str]:
    return [encode_point(point) for point in points]


def test_an_hourly_aqi_gives_its_result_and_its_aqi_with_category_primary_and_place():
    aqi = result(
        "aqi",
        "aqi-hourly",
        outcome="exceeding",
        value=107.0,
        limit=100.0,
        evidence={
            "window": "hour",
            "aqi": 107,
            "category": {"level": 3, "key": "lightly_polluted"},
            "primary": ["pm25"],
        },
    )
    tags = TAGS.format(kind="aqi", rule="aqi-hourly")
    assert lines(result_points(aqi, (36.43, 116.25))) == [
        (
            f'rule_result,{tags},window=1h outcome="exceeding",severity="warning",firing=1i,'
            f"revision=1i,value=107.0,limit=100.0 {HOUR_MS}"
        ),
        (
            f"aqi,{tags.replace(',kind', ',interval=1h,kind')},window=1h aqi=107i,level=3i,"
            f'category="lightly_polluted",primary="pm25",latitude=36.43,longitude=116.25 {HOUR_MS}'
        ),
    ]


def test_a_daily_mean_says_whether_it_was_valid_and_without_a_value_still_says_so():
    valid = result(
        "window_mean",
        "pm25-daily",
        value=80.0,
        limit=75.0,
        outcome="exceeding",
        evidence={"window": "day", "metric": "pm25", "count": 22, "validity": {"outcome": "valid"}},
    )
    short = result(
        "window_mean",
        "pm25-daily",
        outcome="insufficient_data",
        limit=75.0,
        evidence={"window": "day", "metric": "pm25", "count": 3, "validity": {"outcome": "x"}},
    )
    assert lines(result_points(valid))[1].split(" ")[1:] == [
        "valid=1i,value=80.0,limit=75.0,count=22i",
        str(HOUR_MS),
    ]
    mean = lines(result_points(short))[1]
    assert mean.startswith("window_mean,county=chiping,")
    assert ",metric=pm25," in mean
    assert mean.split(" ")[1] == "valid=0i,limit=75.0,count=3i"


def test_energy_and_target_results_carry_kgce_intensity_and_the_path_on_the_as_of_day():
    energy = result(
        "energy_intensity",
        "intensity-daily",
        value=0.41,
        limit=0.5,
        evidence={"window": "day", "kgce": 1229.0},
    )
    target = result(
        "annual_target",
        "intensity-2030",
        outcome="projected_miss",
        value=0.52,
        limit=0.48,
        evidence={
            "as_of": "2026-03-01",
            "level": "enterprise",
            "kgce": 9.0,
            "projection": {"projected": 0.55},
        },
    )
    assert lines(result_points(energy))[1].split(" ")[1] == (
        "kgce=1229.0,intensity=0.41,target=0.5"
    )
    path = lines(result_points(target))
    assert ",firing=1i," in path[0]
    # 2026-03-01 00:00 in Asia/Shanghai is 2026-02-28 16:00 UTC.
    assert path[1].split(" ")[1:] == ["path=0.48,actual=0.52,projected=0.55", "1772294400000"]
    assert ",goal=energy_intensity," in path[1]
    assert ",level=enterprise," in path[1]


def test_other_kinds_give_only_the_rule_result():
    offline = result("gateway_offline", "gw-offline", outcome="firing", evidence={})
    (only,) = lines(result_points(offline))
    assert only.startswith("rule_result,")
    assert ",firing=1i," in only


def test_a_status_message_gives_the_gateway_and_each_device():
    status = GatewayStatus(
        gateway="gw-0001",
        state=GatewayState.ONLINE,
        ts=HOUR_MS,
        uptime_s=60.0,
        spool=SpoolHealth(batches=3, readings=40, oldest_unacked_s=12.5, dropped_raw=2),
        devices={
            "pm-1": DeviceHealth(state="ok"),
            "meter-1": DeviceHealth(state="failing", read_timeouts=4),
        },
        clock=ClockSync.SYNCED,
    )
    placement = Placement("gw-0001", "site-hengtong-east", "ent-hengtong-al", None, "chiping")
    gateway, meter, pm = lines(gateway_health_points(placement, status, HOUR_MS))
    assert gateway == (
        "gateway_health,county=chiping,enterprise=ent-hengtong-al,gateway=gw-0001,"
        "site=site-hengtong-east online=1i,uptime_s=60.0,spool_batches=3i,spool_readings=40i,"
        "in_flight=0i,dropped_raw=2i,dropped_aggregate=0i,dropped_batches=0i,"
        f"oldest_unacked_s=12.5,clock_synced=1i,devices=2i,devices_ok=1i {HOUR_MS}"
    )
    assert meter.startswith("device_health,county=chiping,device=meter-1,")
    assert 'state="failing",ok=0i,consecutive_failures=0i,read_timeouts=4i' in meter
    assert 'state="ok",ok=1i' in pm


def test_a_last_will_says_offline():
    will = GatewayStatus(gateway="gw-0001", state=GatewayState.OFFLINE)
    placement = Placement("gw-0001", "site-hengtong-east", "ent-hengtong-al", None, "chiping")
    (line,) = lines(gateway_health_points(placement, will, HOUR_MS))
    assert line.endswith(f" online=0i {HOUR_MS}")
