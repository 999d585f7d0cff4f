"""The checks a decoded reading must pass before it is stored, against the telemetry catalog.

A reading is refused (and kept as a dead letter, the rest of its batch written) when:

- ``unknown_metric``: its metric id is not in the catalog;
- ``unit_mismatch``: it states a unit other than the catalog's for its metric;
- ``out_of_range``: its value (or min, or max) lies outside the metric's physically valid range,
  which a working instrument cannot report: a fault, not a measurement;
- ``future_timestamp``: its time lies more than the clock-skew tolerance ahead of ingest's clock.

A reading older than ``late_after_s`` when it arrives is accepted and counted as late: a replayed
backlog after an outage is late, and complete data matters more than fresh data.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from telemetry import CATALOG, Reading


@dataclass(frozen=True, slots=True)
class Refusal:
    """One reading refused: its position among the checked readings, and why."""

    position: int
    reason: str
    detail: str


@dataclass(frozen=True, slots=True)
class Checked:
    """The outcome of checking a batch's readings."""

    accepted: list[Reading]
    refused: list[Refusal]
    late: int  # accepted readings older than the late threshold
    oldest_ms: int | None  # of the accepted readings; None when none was accepted
    newest_ms: int | None


class ReadingChecks:
    """Catalog, range and clock checks, with the tolerances from the settings."""

    def __init__(self, *, clock_skew_s: float, late_after_s: float) -> None:
        self._skew_ms = int(clock_skew_s * 1000)
        self._late_ms = int(late_after_s * 1000)

    def check(self, readings: Sequence[Reading], *, now_ms: int) -> Checked:
        """Split ``readings`` into accepted and refused ones, counting the late ones."""
        future = now_ms + self._skew_ms
        late_before = now_ms - self._late_ms
        accepted: list[Reading] = []
        refused: list[Refusal] = []
        late = 0
        oldest: int | None = None
        newest: int | None = None
        for position, reading in enumerate(readings):
            ts = reading.ts
            entry = CATALOG.get(reading.metric)
            # A plain sample of a known metric, in range and in time, passes without more ado;
            # anything else is looked into, and only that can be refused.
            if (
                entry is None
                or reading.unit is not None
                or reading.min is not None
                or reading.max is not None
                or ts > future
                or not entry.low <= reading.value <= entry.high
            ):
                why = _refusal(reading, future)
                if why is not None:
                    refused.append(Refusal(position, *why))
                    continue
            accepted.append(reading)
            if ts < late_before:
                late += 1
            if oldest is None or ts < oldest:
                oldest = ts
            if newest is None or ts > newest:
                newest = ts
        return Checked(accepted, refused, late, oldest, newest)


def _refusal(reading: Reading, future_ms: int) -> tuple[str, str] | None:
    entry = CATALOG.get(reading.metric)
    if entry is None:
        return "unknown_metric", f"metric {reading.metric!r} is not in the catalog"
    if reading.unit is not None and reading.unit != entry.unit:
        return "unit_mismatch", f"{reading.metric} is in {entry.unit}, reading says {reading.unit}"
    for name, value in (("value", reading.value), ("min", reading.min), ("max", reading.max)):
        if value is not None and not entry.low <= value <= entry.high:
            detail = (
                f"{reading.metric} {name} {value:g} {entry.unit} is outside the valid range "
                f"{entry.low:g}..{entry.high:g}"
            )
            return "out_of_range", detail
    if reading.ts > future_ms:
        return (
            "future_timestamp",
            f"ts {reading.ts} is {reading.ts - future_ms} ms beyond the clock-skew tolerance",
        )
    return None
