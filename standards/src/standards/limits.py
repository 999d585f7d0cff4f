"""Ambient concentration limits of GB 3095, as plain records with the edition they come from.

A :class:`Limit` is one cell of the standard's table: pollutant, averaging period, grade, value,
and the days it is in force. :func:`limit_for` picks the record in force on a date among the
editions a :class:`~standards.versions.VersionPolicy` allows; when several apply, the one that
took effect last wins, so an enabled revision supersedes GB 3095-2012 from its first day and a
phased limit (the 2026 revision's transition values) hands over to its final value on the day
the next phase starts.

Per-site and per-enterprise limits are the rules engine's business: it can build its own
``Limit`` records (``dataclasses.replace`` on one of these) and pass them as ``limits=``.
Exceedance (超标) means strictly above the limit; a value equal to it complies.
"""

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date

from standards.errors import AmbiguousTableError, NoLimitError
from standards.pollutants import Averaging, Grade, Pollutant, unit_of
from standards.versions import DEFAULT_POLICY, GB_3095_2012, GB_3095_2026, VersionPolicy


@dataclass(frozen=True, slots=True)
class Limit:
    """One concentration limit.

    Attributes:
        pollutant, averaging, grade: the key.
        value: the limit, in ``unit``.
        unit: µg/m³, or mg/m³ for CO.
        standard: the standard without its year (``"GB 3095"``).
        version: the edition the value comes from (``"GB 3095-2012"``).
        source: the table it was read from (``"GB 3095-2012 Table 1"``).
        effective_from: first day in force.
        effective_until: last day in force (inclusive); ``None`` while no end is known.
        verify: what still has to be checked against the official text; ``None`` if nothing.
        note: what the value applies to when the averaging alone does not say it.
    """

    pollutant: Pollutant
    averaging: Averaging
    grade: Grade
    value: float
    unit: str
    standard: str
    version: str
    source: str
    effective_from: date
    effective_until: date | None = None
    verify: str | None = None
    note: str = ""

    def in_force(self, on: date) -> bool:
        """Whether this record applies on ``on``."""
        return self.effective_from <= on and (
            self.effective_until is None or on <= self.effective_until
        )

    def exceeded_by(self, concentration: float) -> bool:
        """Whether ``concentration`` is an exceedance (超标): strictly above the limit."""
        return concentration > self.value


_O3_MAX8 = "daily maximum of the 8-hour moving means (日最大8小时平均)"


def _grades(
    pollutant: Pollutant, averaging: Averaging, first: float, second: float, source: str
) -> tuple[Limit, Limit]:
    """The Grade I and Grade II cells of one GB 3095-2012 table row."""
    one = Limit(
        pollutant=pollutant,
        averaging=averaging,
        grade=Grade.FIRST,
        value=first,
        unit=unit_of(pollutant),
        standard=GB_3095_2012.standard,
        version=GB_3095_2012.id,
        source=source,
        effective_from=GB_3095_2012.effective_from,
        note=_O3_MAX8 if averaging is Averaging.EIGHT_HOURS else "",
    )
    return one, replace(one, grade=Grade.SECOND, value=second)


_P, _A = Pollutant, Averaging
_T1 = "GB 3095-2012 Table 1"  # basic items (基本项目)
_T2 = "GB 3095-2012 Table 2"  # other items (其他项目)

GB_3095_2012_LIMITS: tuple[Limit, ...] = (
    *_grades(_P.SO2, _A.YEAR, 20, 60, _T1),  # GB 3095-2012 Table 1
    *_grades(_P.SO2, _A.DAY, 50, 150, _T1),  # GB 3095-2012 Table 1
    *_grades(_P.SO2, _A.HOUR, 150, 500, _T1),  # GB 3095-2012 Table 1
    *_grades(_P.NO2, _A.YEAR, 40, 40, _T1),  # GB 3095-2012 Table 1
    *_grades(_P.NO2, _A.DAY, 80, 80, _T1),  # GB 3095-2012 Table 1
    *_grades(_P.NO2, _A.HOUR, 200, 200, _T1),  # GB 3095-2012 Table 1
    *_grades(_P.CO, _A.DAY, 4, 4, _T1),  # GB 3095-2012 Table 1, mg/m³
    *_grades(_P.CO, _A.HOUR, 10, 10, _T1),  # GB 3095-2012 Table 1, mg/m³
    *_grades(_P.O3, _A.EIGHT_HOURS, 100, 160, _T1),  # GB 3095-2012 Table 1, daily max 8-h
    *_grades(_P.O3, _A.HOUR, 160, 200, _T1),  # GB 3095-2012 Table 1
    *_grades(_P.PM10, _A.YEAR, 40, 70, _T1),  # GB 3095-2012 Table 1
    *_grades(_P.PM10, _A.DAY, 50, 150, _T1),  # GB 3095-2012 Table 1
    *_grades(_P.PM25, _A.YEAR, 15, 35, _T1),  # GB 3095-2012 Table 1
    *_grades(_P.PM25, _A.DAY, 35, 75, _T1),  # GB 3095-2012 Table 1
    *_grades(_P.TSP, _A.YEAR, 80, 200, _T2),  # GB 3095-2012 Table 2
    *_grades(_P.TSP, _A.DAY, 120, 300, _T2),  # GB 3095-2012 Table 2
)

# The reported 2026 revision (disabled unless opted in). Reported changes, all Grade II:
# PM2.5 24-h 60 during the transition (2026-03-01..2030-12-31), 50 from 2031; PM2.5 annual
# 30 then 25; PM10 24-h 120 then 100. Every other cell is carried over from GB 3095-2012 on the
# assumption that the revision left it unchanged, which must be verified too.
_TRANSITION_END = date(2030, 12, 31)  # GB 3095-2026 (reported): end of the transition phase
_FINAL_FROM = date(2031, 1, 1)  # GB 3095-2026 (reported): final limits
_REVISED: dict[tuple[Pollutant, Averaging], tuple[float, float]] = {
    (_P.PM25, _A.DAY): (60, 50),  # GB 3095-2026 (reported), Grade II: transition, final
    (_P.PM25, _A.YEAR): (30, 25),  # GB 3095-2026 (reported), Grade II: transition, final
    (_P.PM10, _A.DAY): (120, 100),  # GB 3095-2026 (reported), Grade II: transition, final
}


def _revision_2026() -> tuple[Limit, ...]:
    rows: list[Limit] = []
    for old in GB_3095_2012_LIMITS:
        carried = replace(
            old,
            standard=GB_3095_2026.standard,
            version=GB_3095_2026.id,
            source="GB 3095-2026 (reported), carried over from " + old.source,
            effective_from=GB_3095_2026.effective_from,
            verify="that the revision leaves this value unchanged",
        )
        revised = _REVISED.get((old.pollutant, old.averaging))
        if revised is None or old.grade is Grade.FIRST:
            rows.append(carried)
            continue
        transition, final = revised
        phased = replace(carried, source="GB 3095-2026 (reported)", verify="value and phase dates")
        rows.append(replace(phased, value=transition, effective_until=_TRANSITION_END))
        rows.append(replace(phased, value=final, effective_from=_FINAL_FROM))
    return tuple(rows)


GB_3095_2026_LIMITS: tuple[Limit, ...] = _revision_2026()

LIMITS: tuple[Limit, ...] = (*GB_3095_2012_LIMITS, *GB_3095_2026_LIMITS)
"""Every limit record shipped, of every edition; :func:`limit_for` filters by policy and date."""


def limit_for(  # noqa: PLR0913 - the key, the date, and the two tables it may be given
    pollutant: Pollutant,
    averaging: Averaging,
    grade: Grade = Grade.SECOND,
    *,
    on: date,
    policy: VersionPolicy = DEFAULT_POLICY,
    limits: Iterable[Limit] = LIMITS,
) -> Limit:
    """The limit in force on ``on`` for this pollutant, averaging and grade.

    Among the records of editions ``policy`` allows that are in force on ``on``, the one that
    took effect last is returned.

    Raises:
        NoLimitError: no such record (GB 3095 sets no annual CO limit, for instance).
        AmbiguousTableError: two records took effect on the same day.
    """
    candidates = [
        limit
        for limit in limits
        if limit.pollutant is pollutant
        and limit.averaging is averaging
        and limit.grade is grade
        and limit.in_force(on)
        and policy.allows(limit.version)
    ]
    if not candidates:
        raise NoLimitError(pollutant, averaging, grade, on)
    latest = max(limit.effective_from for limit in candidates)
    newest = [limit for limit in candidates if limit.effective_from == latest]
    if len(newest) > 1:
        raise AmbiguousTableError(
            f"{pollutant} {averaging} Grade {grade} on {on.isoformat()}",
            tuple(f"{limit.version} ({limit.value} {limit.unit})" for limit in newest),
        )
    return newest[0]


def limits_in_force(
    on: date,
    grade: Grade = Grade.SECOND,
    *,
    policy: VersionPolicy = DEFAULT_POLICY,
    limits: Iterable[Limit] = LIMITS,
) -> tuple[Limit, ...]:
    """Every limit of ``grade`` in force on ``on``, one per pollutant and averaging."""
    records = tuple(limits)
    keys = dict.fromkeys((limit.pollutant, limit.averaging) for limit in records)
    found: list[Limit] = []
    for pollutant, averaging in keys:
        try:
            found.append(
                limit_for(pollutant, averaging, grade, on=on, policy=policy, limits=records)
            )
        except NoLimitError:
            continue
    return tuple(found)
