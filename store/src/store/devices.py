"""The devices InfluxDB has seen: which metrics each reported and when, within a lookback.

The registry lists no devices: a gateway's devices are defined in its edge config and reach
the store only as the ``device`` tag of its readings (docs/data-model.md). So a device is
known once a reading of it is stored, and it drops out of these answers when it has sent
nothing within the lookback.

One statement per answer over the ``raw`` policy, bounded below in time:
``SHOW TAG VALUES`` would be cheaper, but InfluxDB 1.x answers it from the series index,
where a ``time`` condition is ignored or at best picks whole shards (influxdb#5668), so a device
silent for months would stay listed until its shards expire. ``last()`` reads every point of
the window (its cost grows with the points, not with the series; influxdb#6704), which is why
the window is bounded.
"""

from collections import defaultdict
from dataclasses import dataclass
from typing import Literal

from store.influx import InfluxStore
from store.influxql import ParamValue, quote_identifier
from store.rollups import RAW_POLICY
from telemetry import CATALOG

_NS_PER_MS = 1_000_000

Scope = Literal["gateway", "site"]


@dataclass(frozen=True, slots=True)
class MetricSeen:
    """The newest reading of one metric of a device, UTC epoch ms."""

    metric: str
    last_ts: int


@dataclass(frozen=True, slots=True)
class DeviceSeen:
    """A device of a gateway, its metrics (by id) and its newest reading of any of them."""

    gateway: str
    device: str
    metrics: tuple[MetricSeen, ...]

    @property
    def last_ts(self) -> int:
        """The newest reading of the device, UTC epoch ms."""
        return max(seen.last_ts for seen in self.metrics)


def devices_seen(
    influx: InfluxStore, *, scope: Scope, scope_id: str, since_ms: int
) -> list[DeviceSeen]:
    """Every device of a gateway, or of a site's gateways, with readings since ``since_ms``.

    Measurements outside the telemetry catalog are left out. Sorted by gateway, then device;
    metrics by id.

    Raises:
        ValueError: ``scope`` is not ``gateway`` or ``site``.
    """
    if scope not in ("gateway", "site"):
        raise ValueError(f"devices are listed per gateway or site, not per {scope!r}")
    influxql = (
        f'SELECT last("value") AS "value" FROM {quote_identifier(RAW_POLICY)}./.*/'  # noqa: S608 - constant
        f" WHERE {quote_identifier(scope)} = $scope_id AND time >= $since"
        ' GROUP BY "gateway", "device"'
    )
    params: dict[str, ParamValue] = {"scope_id": scope_id, "since": since_ms * _NS_PER_MS}
    seen: dict[tuple[str, str], list[MetricSeen]] = defaultdict(list)
    for series in influx.query(influxql, params=params):
        if series.name not in CATALOG:
            continue
        for row in series.rows():
            key = (str(row["gateway"]), str(row["device"]))
            seen[key].append(MetricSeen(series.name, int(row["time"])))
    return [
        DeviceSeen(gateway, device, tuple(sorted(seen[gateway, device], key=lambda m: m.metric)))
        for gateway, device in sorted(seen)
    ]
