"""Data completeness of a gateway per local day: minutes received against minutes expected.

**What is expected.** The registry lists no devices, so the expectation comes from the data:
a gateway publishes one one-minute aggregate per device and metric every minute
(docs/data-model.md), so every (device, metric) series the gateway sent at least once within
the asked days is expected once per minute of every one of those days: 1440 per
Asia/Shanghai calendar day (China keeps no daylight saving time), and for today only the
minutes begun so far. A series silent for the whole window is therefore not expected; the
``no_data`` rules say that.

**What is received.** Minutes of the ``minute`` rollup holding an aggregate of the series,
whatever its data flag (:func:`store.series.minute_counts`).
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from standards.windows import day_bounds, local_date
from store.influx import InfluxStore
from store.series import minute_counts

_MINUTE_MS = 60_000


@dataclass(frozen=True, slots=True)
class SeriesDay:
    """One device and metric of the gateway on one day."""

    device: str
    metric: str
    received: int
    expected: int


@dataclass(frozen=True, slots=True)
class GatewayDay:
    """A gateway's minutes on one local day, all series together and each on its own."""

    day: date
    received: int
    expected: int
    series: tuple[SeriesDay, ...]

    @property
    def ratio(self) -> float | None:
        """Received over expected; None when nothing was expected."""
        return self.received / self.expected if self.expected else None


def gateway_days(
    influx: InfluxStore, *, gateway: str, days: Sequence[date], now_ms: int
) -> list[GatewayDay]:
    """Completeness of ``gateway`` on each of the consecutive local ``days``."""
    if not days:
        return []
    start_ms, end_ms = day_bounds(days[0]).start_ms, day_bounds(days[-1]).end_ms
    counts = minute_counts(influx, gateway=gateway, start_ms=start_ms, end_ms=end_ms)
    received: dict[tuple[int, str, str], int] = defaultdict(int)
    series = sorted({(c.device, c.metric) for c in counts})
    index_of = {day: index for index, day in enumerate(days)}
    for count in counts:
        day_index = index_of[local_date(count.hour_ts)]
        received[day_index, count.device, count.metric] += count.minutes
    result = []
    for day_index, day in enumerate(days):
        bounds = day_bounds(day)
        elapsed = max(0, min(bounds.end_ms, now_ms) - bounds.start_ms)
        # A minute is due once it has begun: a partly elapsed minute is expected.
        expected = -(-elapsed // _MINUTE_MS)
        rows = tuple(
            SeriesDay(device, metric, received[day_index, device, metric], expected)
            for device, metric in series
        )
        result.append(
            GatewayDay(
                day=day,
                received=sum(row.received for row in rows),
                expected=sum(row.expected for row in rows),
                series=rows,
            )
        )
    return result
