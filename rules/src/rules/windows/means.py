"""Hourly and daily means of one site from the gateways' one-minute aggregates. Pure.

Gateways publish one aggregate per device and clock minute (``interval`` ``60s``, stamped with
the minute's start, flagged with the minute's HJ 212 data flag, ``valid`` when enough samples
arrived in it). A site's hourly value is the mean of its minute values under GB 3095-2012
Table 4 (:data:`standards.HOURLY_MEAN`: at least 45 minutes); its daily value the mean of its
hourly values (:data:`standards.DAILY_MEAN`: at least 20 hours; TSP 24).

One minute of a site, from every aggregate of that minute (a site may have several devices
measuring the metric):

1. the mean of the values that may enter a mean (flags N and T, ``valid`` not false, clock
   synchronised): redundant instruments back each other up; flagged T if any value was;
2. else, if an aggregate carries an excluded flag (F, M, S, D, C, B, or a flag the policy does
   not know), the minute is excluded under that flag (the first device's, by id), counted
   apart from missing minutes — maintenance is not an outage;
3. else, if an aggregate said ``valid`` false (too few samples in the minute), the minute is
   missing and counted as ``incomplete``;
4. else, if every aggregate was stamped while the gateway's clock was unsynchronised, the
   minute is missing and counted as ``unsynced``: its time cannot place it in a window;
5. else (no aggregate at all) it is missing.

An aggregate without ``valid`` is taken as complete: the gateway did not say otherwise.
"""

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from types import MappingProxyType

from standards import (
    DAILY_MEAN,
    HJ212_FLAG_POLICY,
    HOURLY_MEAN,
    OVER_RANGE,
    Averaging,
    FlagTreatment,
    Pollutant,
    ValidityRule,
    WindowResult,
    hours_of_day,
    rule_for,
    window_mean,
)
from standards import Window as Interval

_MINUTE_MS = 60_000
_INCLUDED = "N"  # the flag of a minute whose included values were all normal


@dataclass(frozen=True, slots=True)
class MinuteAggregate:
    """One device's one-minute aggregate, as the gateway published it."""

    ts_ms: int  # the minute's start (HJ 212-2017 labels minute data with their start)
    device: str
    value: float
    quality: str  # HJ 212-2017 data flag
    valid: bool | None = None  # enough samples in the minute; None: not said
    unsynced: bool = False  # stamped while the gateway's clock was not synchronised


@dataclass(frozen=True, slots=True)
class SiteHour:
    """A site's hourly value of one metric, with what went into it.

    ``mean.missing`` counts every minute without a usable value; ``incomplete`` and
    ``unsynced`` say how many of those had aggregates that could not be used.
    """

    start_ms: int
    end_ms: int
    mean: WindowResult
    incomplete: int = 0
    unsynced: int = 0
    devices: tuple[str, ...] = ()

    @property
    def value(self) -> float | None:
        """The hourly value; ``None`` when the hour has insufficient data."""
        return self.mean.value

    def to_json(self) -> dict[str, object]:
        """The hour as evidence shows it."""
        return {
            "start_ms": self.start_ms,
            "value": self.mean.value,
            "valid": self.mean.valid,
            "count": self.mean.count,
            "excluded": dict(self.mean.excluded),
            "missing": self.mean.missing,
            "incomplete": self.incomplete,
            "unsynced": self.unsynced,
            "over_range": self.mean.over_range,
        }


@dataclass(frozen=True, slots=True)
class SiteDay:
    """A site's daily value of one metric and the 24 hourly values it was made of."""

    day: date
    mean: WindowResult
    hours: tuple[SiteHour, ...]

    @property
    def value(self) -> float | None:
        """The daily value; ``None`` when the day has insufficient data."""
        return self.mean.value


def validity_for(metric: str, averaging: Averaging) -> ValidityRule:
    """The GB 3095-2012 Table 4 rule for a metric's hourly or daily mean.

    A metric GB 3095 does not regulate (``pm1``, ``temperature``) takes the general rule of
    its averaging period: 45 minutes for an hour, 20 hours for a day.
    """
    try:
        return rule_for(Pollutant(metric), averaging)
    except (ValueError, LookupError):
        return HOURLY_MEAN if averaging is Averaging.HOUR else DAILY_MEAN


def hourly_mean(
    minutes: Iterable[MinuteAggregate], hour: Interval, rule: ValidityRule = HOURLY_MEAN
) -> SiteHour:
    """A site's hourly value from its minute aggregates within ``hour`` (any devices).

    Raises:
        ValueError: an aggregate outside ``hour``.
    """
    slots: dict[int, list[MinuteAggregate]] = {}
    for minute in minutes:
        if minute.ts_ms not in hour:
            msg = f"a minute aggregate at {minute.ts_ms} is outside the hour {hour.start}"
            raise ValueError(msg)
        slots.setdefault((minute.ts_ms - hour.start_ms) // _MINUTE_MS, []).append(minute)
    values: list[tuple[float, str]] = []
    incomplete = unsynced = 0
    for entries in slots.values():
        value = _site_minute(entries)
        if value is not None:
            values.append(value)
        elif any(not e.unsynced for e in entries):
            incomplete += 1
        else:
            unsynced += 1
    flags = _policy_for(flag for _, flag in values)
    return SiteHour(
        start_ms=hour.start_ms,
        end_ms=hour.end_ms,
        mean=window_mean(values, rule, flags=flags),
        incomplete=incomplete,
        unsynced=unsynced,
        devices=tuple(sorted({m.device for e in slots.values() for m in e})),
    )


def daily_mean(hours: Iterable[SiteHour], day: date, rule: ValidityRule = DAILY_MEAN) -> SiteDay:
    """A site's daily value from its hourly values of the local calendar day ``day``.

    Hours not given had no data at all; an hour with insufficient data is a missing hourly
    value. An hourly value that is a lower bound (over-range minutes) makes the daily value
    one too.

    Raises:
        ValueError: an hour that is not one of the day's.
    """
    given = {hour.start_ms: hour for hour in hours}
    clock = hours_of_day(day)
    strays = set(given) - {h.start_ms for h in clock}
    if strays:
        msg = f"hours starting at {sorted(strays)} are not hours of {day.isoformat()}"
        raise ValueError(msg)
    full = tuple(given.get(h.start_ms) or empty_hour(h) for h in clock)
    values = [
        (h.mean.value, OVER_RANGE if h.mean.lower_bound else _INCLUDED)
        for h in full
        if h.mean.value is not None
    ]
    return SiteDay(day=day, mean=window_mean(values, rule), hours=full)


def empty_hour(hour: Interval, rule: ValidityRule = HOURLY_MEAN) -> SiteHour:
    """The hourly value of a site that sent nothing in ``hour``: insufficient data."""
    return SiteHour(hour.start_ms, hour.end_ms, window_mean((), rule))


def _site_minute(entries: list[MinuteAggregate]) -> tuple[float, str] | None:
    """The site's (value, flag) of one minute from its aggregates; ``None`` when missing."""
    if len(entries) == 1:  # the usual case: one device, one aggregate
        only = entries[0]
        if not only.unsynced and only.valid is not False and _included(only.quality):
            return only.value, OVER_RANGE if only.quality == OVER_RANGE else _INCLUDED
    trusted = sorted((e for e in entries if not e.unsynced), key=lambda e: (e.device, e.ts_ms))
    usable = [e for e in trusted if _included(e.quality) and e.valid is not False]
    if usable:
        flag = OVER_RANGE if any(e.quality == OVER_RANGE for e in usable) else _INCLUDED
        return math.fsum(e.value for e in usable) / len(usable), flag
    flagged = [e for e in trusted if not _included(e.quality)]
    if flagged:
        return 0.0, flagged[0].quality  # excluded: only its flag is counted, never its value
    return None


def _included(flag: str) -> bool:
    return HJ212_FLAG_POLICY.get(flag) is FlagTreatment.INCLUDE


def _policy_for(flags: Iterable[str]) -> Mapping[str, FlagTreatment]:
    """The HJ 212 flag policy, with any flag it does not know excluded (never trusted)."""
    unknown = {flag for flag in flags if flag not in HJ212_FLAG_POLICY}
    if not unknown:
        return HJ212_FLAG_POLICY
    extended = dict(HJ212_FLAG_POLICY)
    extended.update(dict.fromkeys(unknown, FlagTreatment.EXCLUDE))
    return MappingProxyType(extended)
