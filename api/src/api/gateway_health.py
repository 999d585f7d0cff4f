"""Gateways' health as the rules service stored it: measurement ``gateway_health`` in InfluxDB.

Each status message of a gateway is one point (:func:`store.result_points.gateway_health_points`,
docs/data-model.md): a periodic report carries ``online`` 1 and the spool's figures, the last
will (the broker's word that the gateway went away) ``online`` 0 and nothing else. So a
gateway's status is the newest point's ``online`` and its time is when it was last heard of;
the spool's figures come from the newest point that has them, which may be older (a gateway
offline since yesterday shows the spool it reported before it went).
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from store.influx import InfluxStore
from store.influxql import QueryValue
from store.result_points import GATEWAY_HEALTH


class GatewayState(StrEnum):
    """What the newest status message said; ``unknown`` when none is stored."""

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


_NEWEST = (
    f'SELECT * FROM "{GATEWAY_HEALTH}"{{where}}'  # noqa: S608 - a constant; values are bound
    ' GROUP BY "gateway" ORDER BY time DESC LIMIT 1'
)
_SPOOL = '"spool_readings" >= 0'  # only periodic reports carry the spool


def read_health(influx: InfluxStore, gateways: Iterable[str]) -> dict[str, GatewayHealth]:
    """The health of each of ``gateways`` (one gateway: a query of that gateway only)."""
    wanted = sorted(set(gateways))
    if not wanted:
        return {}
    params: dict[str, str] = {}
    where, spool_where = "", f" WHERE {_SPOOL}"
    if len(wanted) == 1:
        params = {"gateway": wanted[0]}
        where, spool_where = (
            ' WHERE "gateway" = $gateway',
            f' WHERE "gateway" = $gateway AND {_SPOOL}',
        )
    newest = _rows(influx, _NEWEST.format(where=where), params)
    spooled = _rows(influx, _NEWEST.format(where=spool_where), params)
    return {
        gateway: _health(gateway, newest.get(gateway), spooled.get(gateway)) for gateway in wanted
    }


def _rows(influx: InfluxStore, query: str, params: dict[str, str]) -> dict[str, dict[str, Any]]:
    return {
        row["gateway"]: row
        for series in influx.query(query, params=params or None)
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
