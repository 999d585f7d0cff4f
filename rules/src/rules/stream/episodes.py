"""Episodes of stream rules: when a condition began, the readings that show it, and its results.

An episode is one stretch of time during which a rule's condition held for one subject. It
starts *pending* at the first offending reading (its ``window_start``), becomes *fired* once
the condition has held long enough, and ends *resolved*. Each stage that the store sees is the
same :class:`~store.sql.RuleResult` row — same rule, subject and window start — so the results
store's upsert updates the episode instead of adding one.

Time is always the readings' own: a sample's ``ts``; an interval aggregate's *end*
(``ts + interval_s``), because only then is its value known and it covers the interval up to
there. Nothing here reads a clock.
"""

from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from store.sql import Placement, RuleResult
from telemetry import Quality, Reading

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
KEEP = 10  # readings kept at each end of an episode's evidence

# Readings taken while an instrument is maintained or calibrated say nothing about the air:
# rules on values skip them (they still show the device is alive).
NOT_JUDGED = frozenset({Quality.MAINTENANCE, Quality.CALIBRATION})

Json = object  # a value json.dumps accepts, as in store.sql.results


def utc(ms: int) -> datetime:
    """Epoch milliseconds as an aware UTC datetime, exactly (no float rounding)."""
    return EPOCH + timedelta(milliseconds=ms)


def epoch_ms(moment: datetime) -> int:
    """An aware datetime as epoch milliseconds."""
    return (moment - EPOCH) // timedelta(milliseconds=1)


def end_ms(reading: Reading) -> int:
    """When a reading's value is known: ``ts`` for a sample, the interval's end for an aggregate."""
    if reading.interval_s is None:
        return reading.ts
    return reading.ts + round(reading.interval_s * 1000)


def stream_of(reading: Reading) -> str:
    """``raw`` for a sample as read, ``aggregate`` for an interval aggregate."""
    return "raw" if reading.interval_s is None else "aggregate"


def judged(reading: Reading) -> bool:
    """Whether rules on values look at this reading (not in maintenance or calibration)."""
    return reading.quality not in NOT_JUDGED


def entry(reading: Reading) -> dict[str, Json]:
    """A reading as evidence: metric, ts, value, quality, and the interval of an aggregate."""
    found: dict[str, Json] = {
        "metric": reading.metric,
        "ts": reading.ts,
        "value": reading.value,
        "quality": reading.quality.value,
    }
    if reading.interval_s is not None:
        found["interval_s"] = reading.interval_s
    return found


def entry_end(item: dict[str, Json]) -> int | None:
    """The end time (as :func:`end_ms`) of an evidence entry, or None if it has no ``ts``."""
    ts = item.get("ts")
    if not isinstance(ts, int):
        return None
    interval = item.get("interval_s")
    return ts + round(interval * 1000) if isinstance(interval, int | float) else ts


SeriesKey = tuple[str, str, str, str]  # site, device, metric, stream (raw or aggregate)

# Evidence entries that are readings besides the trail: the one that ended an episode.
_ENDING = ("cleared_by", "broken_by", "returned")


def seen_in(evidence: dict[str, Json], site: str, device: str) -> list[tuple[SeriesKey, int]]:
    """The series whose readings a result's evidence shows, each with the reading's end time.

    The engine had seen these readings, so after a restart a redelivered copy is stale. A
    reading entry names its metric; a PM pair (``pm25`` and ``pm10`` values) stands for both.
    """
    items = Trail.from_json(evidence.get("readings")).entries()
    items += [item for key in _ENDING if isinstance(item := evidence.get(key), dict)]
    found: list[tuple[SeriesKey, int]] = []
    for item in items:
        end = entry_end(item)
        if end is None:
            continue
        stream = "aggregate" if "interval_s" in item else "raw"
        metric = item.get("metric")
        metrics = (
            [metric] if isinstance(metric, str) else [m for m in ("pm25", "pm10") if m in item]
        )
        found.extend(((site, device, name, stream), end) for name in metrics)
    return found


class Trail:
    """The readings of an episode, bounded: the first :data:`KEEP`, the last :data:`KEEP`, a count.

    Enough to show how it began and how it stood at the end, whatever the episode's length.
    """

    __slots__ = ("count", "first", "last")

    def __init__(self) -> None:
        self.first: list[dict[str, Json]] = []
        self.last: deque[dict[str, Json]] = deque(maxlen=KEEP)
        self.count = 0

    def add(self, item: dict[str, Json]) -> None:
        """Keep ``item`` if it is among the first or (so far) the last readings."""
        self.count += 1
        if len(self.first) < KEEP:
            self.first.append(item)
        else:
            self.last.append(item)

    def entries(self) -> list[dict[str, Json]]:
        """Every kept entry, oldest first."""
        return [*self.first, *self.last]

    def to_json(self) -> dict[str, Json]:
        """The trail as evidence: ``count``, ``first`` and ``last`` (after the first)."""
        return {"count": self.count, "first": list(self.first), "last": list(self.last)}

    @classmethod
    def from_json(cls, value: object) -> "Trail":
        """Read back what :meth:`to_json` wrote; anything else gives an empty trail."""
        trail = cls()
        if not isinstance(value, dict):
            return trail
        for key, target in (("first", trail.first), ("last", trail.last)):
            items = value.get(key)
            if isinstance(items, list):
                target.extend(item for item in items if isinstance(item, dict))
        count = value.get("count")
        kept = len(trail.first) + len(trail.last)
        trail.count = count if isinstance(count, int) and count >= kept else kept
        return trail


@dataclass(frozen=True, slots=True)
class Subject:
    """What an episode is about (its subject string) and where that stands."""

    id: str
    placement: Placement
    device: str | None = None


@dataclass(slots=True)
class Episode:
    """One episode of one rule for one subject, pending or fired."""

    subject: Subject
    start_ms: int  # when the condition began: the result's window start
    trail: Trail = field(default_factory=Trail)
    fired: bool = False
    value: float | None = None  # the kind's figure: the peak, the stuck value, the excess
    extra: dict[str, Json] = field(default_factory=dict)  # kind-specific evidence and state


def placement_of(result: RuleResult) -> Placement | None:
    """The placement a recorded result names, or None when its columns are incomplete."""
    if (
        result.gateway is None
        or result.site is None
        or result.enterprise is None
        or result.county is None
    ):
        return None
    return Placement(
        gateway=result.gateway,
        site=result.site,
        enterprise=result.enterprise,
        park=result.park,
        county=result.county,
    )
