"""When a mean counts: GB 3095's data validity rules applied to one window of flagged values.

GB 3095-2012 Table 4 (数据统计的有效性规定) says how many values a window needs before its mean
is a statistic at all: 20 hourly values for a 24-hour mean, 6 for an 8-hour O3 mean, 45 minutes
of data for a 1-hour value (the reference notes mark that one "verify"). A window with fewer is
**insufficient data**, never silently compliant: :func:`window_mean` then returns no value.

Values arrive with their HJ 212-2017 data flag; :mod:`standards.flags` decides which enter the
mean. Excluded values are counted by flag, apart from slots with no value at all (``missing``),
so a report can tell maintenance from an outage; included over-range values (T) make the mean a
lower bound.

Windows are calendar-aligned in Asia/Shanghai (:mod:`standards.windows`); this module only sees
the values that fall in one window.
"""

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from standards.flags import HJ212_FLAG_POLICY, FlagTreatment, split_by_flag
from standards.pollutants import Averaging, Pollutant
from standards.versions import GB_3095_2012, HJ_663_2013


class Outcome(StrEnum):
    """Whether a window's statistic may be used."""

    VALID = "valid"
    INSUFFICIENT = "insufficient data"


@dataclass(frozen=True, slots=True)
class ValidityRule:
    """How many values a window of one averaging period needs.

    Attributes:
        slots: values a complete window holds (60 minutes, 24 hours, 8 hours).
        minimum: values needed for a valid statistic.
        slot_name: what one value is ("minute value", "hourly value").
        pollutants: the pollutants the rule is written for.
        verify: what still has to be checked against the official text; ``None`` if nothing.
    """

    name: str
    averaging: Averaging
    slots: int
    minimum: int
    slot_name: str
    pollutants: frozenset[Pollutant]
    source: str
    version: str
    verify: str | None = None


_P = Pollutant
_GASES_AND_PM = frozenset({_P.SO2, _P.NO2, _P.CO, _P.PM10, _P.PM25})
_T4 = "GB 3095-2012 Table 4"

HOURLY_MEAN = ValidityRule(
    name="1-hour mean",
    averaging=Averaging.HOUR,
    slots=60,
    minimum=45,  # GB 3095-2012 Table 4: at least 45 minutes of sampling in the hour
    slot_name="minute value",
    pollutants=frozenset({_P.SO2, _P.NO2, _P.CO, _P.O3, _P.PM10, _P.PM25, _P.TSP}),
    source=_T4,
    version=GB_3095_2012.id,
    verify="the 45-minute rule; Table 4 names the gases, Lantian applies it to PM as well",
)
DAILY_MEAN = ValidityRule(
    name="24-hour mean",
    averaging=Averaging.DAY,
    slots=24,
    minimum=20,  # GB 3095-2012 Table 4: at least 20 hourly values in the calendar day
    slot_name="hourly value",
    pollutants=_GASES_AND_PM,
    source=_T4,
    version=GB_3095_2012.id,
)
DAILY_MEAN_TSP = ValidityRule(
    name="24-hour mean (TSP)",
    averaging=Averaging.DAY,
    slots=24,
    minimum=24,  # GB 3095-2012 Table 4: TSP needs 24 hours of sampling in the day
    slot_name="hourly value",
    pollutants=frozenset({_P.TSP}),
    source=_T4,
    version=GB_3095_2012.id,
    verify="the TSP rule, which is not in the project's reference notes",
)
EIGHT_HOUR_MEAN = ValidityRule(
    name="8-hour mean",
    averaging=Averaging.EIGHT_HOURS,
    slots=8,
    minimum=6,  # GB 3095-2012 Table 4: at least 6 hourly values in the 8 hours
    slot_name="hourly value",
    pollutants=frozenset({_P.O3}),
    source=_T4,
    version=GB_3095_2012.id,
)
O3_DAILY_MAX_8H = ValidityRule(
    name="O3 daily maximum 8-hour mean",
    averaging=Averaging.EIGHT_HOURS,
    slots=17,  # HJ 663-2013: the 8-hour means ending 08:00 .. 24:00 of the day
    minimum=14,  # HJ 663-2013: at least 14 valid 8-hour means, unless the maximum exceeds
    slot_name="8-hour mean",
    pollutants=frozenset({_P.O3}),
    source="HJ 663-2013 (data statistics requirements)",
    version=HJ_663_2013.id,
    verify="the 17 windows, the 14-window minimum and the exceedance exception",
)

RULES: tuple[ValidityRule, ...] = (HOURLY_MEAN, DAILY_MEAN, DAILY_MEAN_TSP, EIGHT_HOUR_MEAN)


def rule_for(pollutant: Pollutant, averaging: Averaging) -> ValidityRule:
    """The Table 4 rule for a mean of ``pollutant`` over ``averaging`` (not the annual one).

    Raises:
        LookupError: no such rule; annual statistics use :mod:`standards.assessment`.
    """
    for rule in RULES:
        if rule.averaging is averaging and pollutant in rule.pollutants:
            return rule
    msg = f"no validity rule for a {averaging} mean of {pollutant}"
    raise LookupError(msg)


@dataclass(frozen=True, slots=True)
class WindowResult:
    """A window's statistic, or the reason there is none.

    Attributes:
        value: the statistic; ``None`` when the outcome is insufficient data.
        outcome: valid or insufficient data.
        count: values that entered the statistic.
        excluded: values left out, by data flag, as sorted (flag, count) pairs.
        missing: slots of the window without any value.
        over_range: included values flagged T; when non-zero the statistic is a lower bound.
        reason: one sentence a report can print.
        rule, source, version: the rule applied and the edition it comes from.
    """

    value: float | None
    outcome: Outcome
    count: int
    excluded: tuple[tuple[str, int], ...]
    missing: int
    over_range: int
    reason: str
    rule: str
    source: str
    version: str

    @property
    def valid(self) -> bool:
        """Whether the statistic may be used."""
        return self.outcome is Outcome.VALID

    @property
    def excluded_total(self) -> int:
        """Values left out for their flag, all flags together."""
        return sum(n for _, n in self.excluded)

    @property
    def lower_bound(self) -> bool:
        """Whether over-range values make the statistic a lower bound of the true one."""
        return self.over_range > 0


def _tally(count: int, excluded: Counter[str], missing: int, rule: ValidityRule) -> str:
    parts = [f"{count} of {rule.slots} {rule.slot_name}s usable"]
    if excluded:
        flagged = ", ".join(f"{flag} {n}" for flag, n in sorted(excluded.items()))
        parts.append(f"{sum(excluded.values())} excluded by flag ({flagged})")
    if missing:
        parts.append(f"{missing} missing")
    return "; ".join(parts)


def window_mean(
    values: Iterable[tuple[float, str]],
    rule: ValidityRule,
    *,
    flags: Mapping[str, FlagTreatment] = HJ212_FLAG_POLICY,
) -> WindowResult:
    """The arithmetic mean of one window's (value, data flag) pairs, under ``rule``.

    ``values`` holds at most one value per slot of the window (one minute mean per minute for
    an hourly value, one hourly value per hour for a daily mean); slots without a value are
    simply absent and counted as missing.

    Raises:
        UnknownFlagError: a flag ``flags`` does not define.
        InvalidValueError: an included value that is NaN or infinite.
        ValueError: more values than the window has slots.
    """
    included, excluded, over_range = split_by_flag(values, flags)
    present = len(included) + sum(excluded.values())
    if present > rule.slots:
        msg = f"{present} values for a {rule.name} window of {rule.slots} {rule.slot_name}s"
        raise ValueError(msg)
    missing = rule.slots - present
    tally = _tally(len(included), excluded, missing, rule)
    enough = len(included) >= rule.minimum
    return WindowResult(
        value=math.fsum(included) / len(included) if enough else None,
        outcome=Outcome.VALID if enough else Outcome.INSUFFICIENT,
        count=len(included),
        excluded=tuple(sorted(excluded.items())),
        missing=missing,
        over_range=over_range,
        reason=f"{tally}; {rule.source} requires at least {rule.minimum}",
        rule=rule.name,
        source=rule.source,
        version=rule.version,
    )


def daily_max_8h(
    hourly: Sequence[tuple[float, str] | None],
    *,
    limit: float | None = None,
    flags: Mapping[str, FlagTreatment] = HJ212_FLAG_POLICY,
) -> WindowResult:
    """The O3 daily maximum 8-hour mean (日最大8小时平均) of one local calendar day.

    ``hourly`` holds the day's 24 clock hours in order (index 0 is 00:00-01:00 local), each a
    (value, flag) pair or ``None`` when the hour has no value. The 8-hour means are those ending
    at 08:00 through 24:00 (HJ 663-2013), each valid with 6 of its 8 hours (GB 3095-2012
    Table 4). The maximum is valid with 14 of the 17 means, or with fewer when it exceeds
    ``limit`` (HJ 663-2013): a day that is certainly over the limit is reported as such.

    Raises:
        ValueError: ``hourly`` does not hold exactly 24 hours.
        UnknownFlagError, InvalidValueError: as :func:`window_mean`.
    """
    if len(hourly) != 24:
        msg = f"a calendar day has 24 clock hours, got {len(hourly)}"
        raise ValueError(msg)
    rule = O3_DAILY_MAX_8H
    means = [
        window_mean(
            [h for h in hourly[start : start + 8] if h is not None], EIGHT_HOUR_MEAN, flags=flags
        )
        for start in range(rule.slots)  # windows ending 08:00 .. 24:00
    ]
    valid = [m.value for m in means if m.value is not None]
    peak = max(valid) if valid else None
    _, excluded, over_range = split_by_flag((h for h in hourly if h is not None), flags)
    enough = len(valid) >= rule.minimum
    exceeds = peak is not None and limit is not None and peak > limit
    tally = f"{len(valid)} of {rule.slots} 8-hour means valid"
    if enough:
        reason = f"{tally}; {rule.source} requires at least {rule.minimum}"
    elif exceeds:
        reason = (
            f"{tally}, but the maximum {peak} exceeds the limit {limit}: valid per {rule.source}"
        )
    else:
        reason = f"{tally}; {rule.source} requires at least {rule.minimum} unless it exceeds"
    usable = enough or exceeds
    return WindowResult(
        value=peak if usable else None,
        outcome=Outcome.VALID if usable else Outcome.INSUFFICIENT,
        count=len(valid),
        excluded=tuple(sorted(excluded.items())),
        missing=sum(h is None for h in hourly),
        over_range=over_range,
        reason=reason,
        rule=rule.name,
        source=rule.source,
        version=rule.version,
    )
