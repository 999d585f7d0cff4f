"""How rule results and gateway health are laid out in InfluxDB, for Grafana to read.

The rules engine keeps its results in the SQL store (:mod:`store.sql.results`); this module
turns them into points so that a dashboard reads them with one plain InfluxQL statement, as it
reads the readings (:mod:`store.readings`). Pure: points are built here and written by
:class:`store.influx.InfluxStore`. The layout (docs/data-model.md, "Rule results and health"):

- ``rule_result``: every result. Tags ``rule``, ``kind``, ``window`` and the placement
  (``county``, ``park``, ``enterprise``, ``site``, ``device``, ``gateway``); fields ``outcome``
  and ``severity`` (strings), ``firing`` (1 while the result is an exceedance, a firing episode
  or a projected miss, else 0), ``value``, ``limit``, ``revision``; time: the window's start.
- ``aqi``: an AQI rule's result (HJ 633-2012). Tags as above and ``interval`` (``1h``, ``1d``);
  fields ``aqi`` (integer), ``level`` (1..6), ``category`` (``good`` ... ``severely_polluted``),
  ``primary`` (the primary pollutants, comma-separated; empty when AQI ≤ 50, HJ 633-2012
  §3), ``latitude``, ``longitude`` (the site's WGS 84 coordinates from the registry).
- ``window_mean``: an hourly or daily mean against its limit (GB 3095-2012 or a permit). Tags as
  above, ``metric`` and ``interval``; fields ``value`` (absent without enough data), ``limit``,
  ``valid`` (1 when the mean met its validity rule, :mod:`standards.validity` after
  GB 3095-2012, else 0), ``count``.
- ``energy``: an energy intensity result. Tags as above and ``interval`` (``1d``, ``1mo``);
  fields ``kgce`` (GB/T 2589-2020), ``intensity`` (kgce per unit of output), ``target``.
- ``target_path``: an annual target's year to date. Tags as above, ``level`` and ``goal``
  (``energy_intensity`` or ``concentration``); fields
  ``actual`` (year to date), ``path`` (the path's value for the year), ``projected``; time: the
  as-of day (00:00 Asia/Shanghai), so the points draw the year's course.
- ``gateway_health``: a gateway's status message (online, spool, devices, clock).
- ``device_health``: one device of that message, tag ``device``.

Integers stand in for booleans because InfluxQL cannot aggregate booleans. A re-evaluated
window overwrites its own points (same series and time), so writing a result again is harmless.
"""

from collections.abc import Mapping
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from store.lineprotocol import FieldValue, Point
from store.sql import Placement, RuleResult
from telemetry import ClockSync, GatewayState, GatewayStatus

RULE_RESULT = "rule_result"
AQI = "aqi"
WINDOW_MEAN = "window_mean"
ENERGY = "energy"
TARGET_PATH = "target_path"
GATEWAY_HEALTH = "gateway_health"
DEVICE_HEALTH = "device_health"

FIRING_OUTCOMES = frozenset({"firing", "exceeding", "projected_miss"})
_WINDOWS = {"hour": "1h", "day": "1d", "month": "1mo", "year": "1y"}
_LOCAL = ZoneInfo("Asia/Shanghai")  # regulatory days are local (docs/decisions.md)
_PLACEMENT = ("county", "park", "enterprise", "site", "device", "gateway")


def result_points(result: RuleResult, location: tuple[float, float] | None = None) -> list[Point]:
    """The points of one rule result: ``rule_result`` and its kind's own measurement.

    ``location``: the site's (latitude, longitude), carried on ``aqi`` points for the map.
    """
    tags = _result_tags(result)
    time_ms = _ms(result.window_start)
    points = [Point(RULE_RESULT, tags, _general_fields(result), time_ms)]
    window = {"interval": tags.get("window", "")}
    if result.kind == "aqi":
        points += _aqi_points(result, tags | window, time_ms, location)
    elif result.kind == "window_mean":
        metric = {"metric": str(result.evidence.get("metric", ""))}
        points.append(Point(WINDOW_MEAN, tags | metric | window, _mean_fields(result), time_ms))
    elif result.kind == "energy_intensity":
        points += _energy_points(result, tags | window, time_ms)
    elif result.kind == "annual_target":
        points += _target_points(result, tags)
    return points


def _aqi_points(
    result: RuleResult,
    tags: dict[str, str],
    time_ms: int,
    location: tuple[float, float] | None,
) -> list[Point]:
    evidence = result.evidence
    aqi = evidence.get("aqi")
    if not isinstance(aqi, int | float):
        return []  # not enough data for an AQI: the rule_result point says so
    fields: dict[str, FieldValue] = {"aqi": int(aqi)}
    category = evidence.get("category")
    if isinstance(category, Mapping):
        fields["level"] = int(category["level"])
        fields["category"] = str(category["key"])
    primary = evidence.get("primary")
    fields["primary"] = ",".join(map(str, primary)) if isinstance(primary, list) else ""
    if location is not None:
        fields["latitude"], fields["longitude"] = location
    return [Point(AQI, tags, fields, time_ms)]


def _mean_fields(result: RuleResult) -> dict[str, FieldValue]:
    fields: dict[str, FieldValue] = {"valid": int(_valid(result.evidence))}
    if result.value is not None:
        fields["value"] = float(result.value)
    if result.limit is not None:
        fields["limit"] = float(result.limit)
    count = result.evidence.get("count")
    if isinstance(count, int):
        fields["count"] = count
    return fields


def _energy_points(result: RuleResult, tags: dict[str, str], time_ms: int) -> list[Point]:
    kgce = result.evidence.get("kgce")
    if not isinstance(kgce, int | float):
        return []
    fields: dict[str, FieldValue] = {"kgce": float(kgce)}
    if result.value is not None:
        fields["intensity"] = float(result.value)
    if result.limit is not None:
        fields["target"] = float(result.limit)
    return [Point(ENERGY, tags, fields, time_ms)]


def gateway_health_points(placement: Placement, status: GatewayStatus, ts_ms: int) -> list[Point]:
    """The points of one status message: the gateway's and one per device it reports."""
    tags = {
        "county": placement.county,
        "park": placement.park or "",
        "enterprise": placement.enterprise,
        "site": placement.site,
        "gateway": placement.gateway,
    }
    fields: dict[str, FieldValue] = {"online": int(status.state is GatewayState.ONLINE)}
    if status.uptime_s is not None:
        fields["uptime_s"] = float(status.uptime_s)
    if status.spool is not None:
        spool = status.spool
        fields |= {
            "spool_batches": spool.batches,
            "spool_readings": spool.readings,
            "in_flight": spool.in_flight,
            "dropped_raw": spool.dropped_raw,
            "dropped_aggregate": spool.dropped_aggregate,
            "dropped_batches": spool.dropped_batches,
            "oldest_unacked_s": float(spool.oldest_unacked_s or 0.0),
        }
    if status.clock is not None:
        fields["clock_synced"] = int(status.clock is ClockSync.SYNCED)
    if status.cpu_temp_c is not None:
        fields["cpu_temp_c"] = float(status.cpu_temp_c)
    devices = status.devices or {}
    if status.devices is not None:
        fields["devices"] = len(devices)
        fields["devices_ok"] = sum(1 for d in devices.values() if d.state == "ok")
    points = [Point(GATEWAY_HEALTH, tags, fields, ts_ms)]
    for device, health in sorted(devices.items()):
        device_fields: dict[str, FieldValue] = {
            "state": health.state,
            "ok": int(health.state == "ok"),
            "consecutive_failures": health.consecutive_failures,
            "read_timeouts": health.read_timeouts,
            "bad_frames": health.bad_frames,
            "device_faults": health.device_faults,
        }
        points.append(Point(DEVICE_HEALTH, tags | {"device": device}, device_fields, ts_ms))
    return points


def _result_tags(result: RuleResult) -> dict[str, str]:
    tags = {"rule": result.rule, "kind": result.kind}
    window = _WINDOWS.get(str(result.evidence.get("window", "")))
    if window is not None:
        tags["window"] = window
    for name in _PLACEMENT:
        value = getattr(result, name)
        if value:
            tags[name] = str(value)
    return tags


def _general_fields(result: RuleResult) -> dict[str, FieldValue]:
    fields: dict[str, FieldValue] = {
        "outcome": result.outcome,
        "severity": result.severity,
        "firing": int(result.outcome in FIRING_OUTCOMES),
        "revision": result.revision,
    }
    if result.value is not None:
        fields["value"] = float(result.value)
    if result.limit is not None:
        fields["limit"] = float(result.limit)
    return fields


def _valid(evidence: Mapping[str, object]) -> bool:
    validity = evidence.get("validity")
    return isinstance(validity, Mapping) and validity.get("outcome") == "valid"


def _target_points(result: RuleResult, tags: dict[str, str]) -> list[Point]:
    evidence = result.evidence
    as_of = evidence.get("as_of")
    if not isinstance(as_of, str) or result.limit is None:
        return []
    day = datetime.combine(date.fromisoformat(as_of), time(), _LOCAL)
    fields: dict[str, FieldValue] = {"path": float(result.limit)}
    if result.value is not None:
        fields["actual"] = float(result.value)
    projection = evidence.get("projection")
    if isinstance(projection, Mapping) and isinstance(projection.get("projected"), int | float):
        fields["projected"] = float(projection["projected"])
    level = evidence.get("level")
    extra = {"level": level} if isinstance(level, str) else {}
    # An energy target's evidence carries the year's kgce; a concentration target's does not.
    extra["goal"] = "energy_intensity" if "kgce" in evidence else "concentration"
    return [Point(TARGET_PATH, tags | extra, fields, _ms(day))]


def _ms(moment: datetime) -> int:
    if moment.tzinfo is None:  # SQLite hands back naive datetimes; the store keeps UTC
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)
