"""Gateways' health as the rules service stored it: measurement ``gateway_health`` in InfluxDB.

Each status message of a gateway is one point (:func:`store.result_points.gateway_health_points`,
docs/data-model.md): a periodic report carries ``online`` 1 and the spool's figures, the last
will (the broker's word that the gateway went away) ``online`` 0 and nothing else. So a
gateway's status is the newest point's ``online`` and its time is when it was last heard of;
the spool's figures come from the newest point that has them, which may be older (a gateway
offline since yesterday shows the spool it reported before it went).

Only points newer than a lookback (setting ``gateway_health_lookback_s``) are read, so a query
touches the newest shards, not the whole history of the fleet. A gateway reports every
``health_interval`` (a minute by default) but its last will is written once, so the lookback
is how long an offline gateway stays ``offline``; with no point inside it a gateway is
``unknown``, as one that never reported.
"""

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from store.influx import InfluxStore
from store.influxql import ParamValue, QueryValue
from store.result_points import GATEWAY_HEALTH


class GatewayState(StrEnum):
    """What the newest status message said; ``unknown`` when none is stored within the lookback."""

    ONLINE = "online"
    OFFLINE = "offline"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class SpoolReport:
    """The gateway's disk spool at ``at``; ``dropped_*`` count since the agent started."""

    at: datetime
    batches: int
    readings: int
    in_flight: int
    oldest_unacked_s: float
    dropped_raw: int
    dropped_aggregate: int
    dropped_batches: int


@dataclass(frozen=True, slots=True)
class GatewayHealth:
    """A gateway's newest status and the newest spool figures it reported."""

    gateway: str
    state: GatewayState
    last_seen: datetime | None
    uptime_s: float | None = None
    clock_synced: bool | None = None
    devices: int | None = None
    devices_ok: int | None = None
    spool: SpoolReport | None = None


# The newest point itself, not LAST(*): that takes each field's newest value on its own (a last
# will's "online" beside an older report's figures) and drops the points' time.
_NEWEST = (
    f'SELECT * FROM "{GATEWAY_HEALTH}" WHERE time > $since{{where}}'  # noqa: S608 - a constant
    ' GROUP BY "gateway" ORDER BY time DESC LIMIT 1'
)
_SPOOL = ' AND "spool_readings" >= 0'  # only periodic reports carry the spool
_NS_PER_S = 1_000_000_000


def read_health(
    influx: InfluxStore, gateways: Iterable[str], *, lookback_s: float
) -> dict[str, GatewayHealth]:
    """The health of each of ``gateways`` from its points of the last ``lookback_s`` seconds.

    One gateway: a query of that gateway only.
    """
    wanted = sorted(set(gateways))
    if not wanted:
        return {}
    params: dict[str, ParamValue] = {"since": time.time_ns() - int(lookback_s * _NS_PER_S)}
    where = ""
    if len(wanted) == 1:
        params["gateway"] = wanted[0]
        where = ' AND "gateway" = $gateway'
    newest = _rows(influx, _NEWEST.format(where=where), params)
    spooled = _rows(influx, _NEWEST.format(where=where + _SPOOL), params)
    return {
        gateway: _health(gateway, newest.get(gateway), spooled.get(gateway)) for gateway in wanted
    }


def _rows(
    influx: InfluxStore, query: str, params: dict[str, ParamValue]
) -> dict[str, dict[str, Any]]:
    return {
        row["gateway"]: row
        for series in influx.query(query, params=params)
        for row in series.rows()
    }


def _health(
    gateway: str, newest: dict[str, Any] | None, spooled: dict[str, Any] | None
) -> GatewayHealth:
    if newest is None:
        return GatewayHealth(gateway, GatewayState.UNKNOWN, None)
    online = newest.get("online") == 1
    # A last will carries no health figures: show those of the last report.
    report = newest if online else (spooled or {})
    return GatewayHealth(
        gateway=gateway,
        state=GatewayState.ONLINE if online else GatewayState.OFFLINE,
        last_seen=_time(newest["time"]),
        uptime_s=_float(report.get("uptime_s")),
        clock_synced=None if report.get("clock_synced") is None else report["clock_synced"] == 1,
        devices=_int(report.get("devices")),
        devices_ok=_int(report.get("devices_ok")),
        spool=None if spooled is None else _spool(spooled),
    )


def _spool(row: dict[str, Any]) -> SpoolReport:
    return SpoolReport(
        at=_time(row["time"]),
        batches=int(row["spool_batches"]),
        readings=int(row["spool_readings"]),
        in_flight=int(row.get("in_flight") or 0),
        oldest_unacked_s=float(row.get("oldest_unacked_s") or 0.0),
        dropped_raw=int(row.get("dropped_raw") or 0),
        dropped_aggregate=int(row.get("dropped_aggregate") or 0),
        dropped_batches=int(row.get("dropped_batches") or 0),
    )


def _time(epoch_ms: QueryValue) -> datetime:
    if not isinstance(epoch_ms, int | float):  # queries ask for epoch ms (InfluxStore.query)
        raise TypeError(f"a point's time in epoch ms, not {epoch_ms!r}")
    return datetime.fromtimestamp(epoch_ms / 1000, UTC)


def _float(value: QueryValue) -> float | None:
    return None if value is None else float(value)


def _int(value: QueryValue) -> int | None:
    return None if value is None else int(value)
