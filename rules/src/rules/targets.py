"""Annual targets: the year so far against the path from a baseline to a target.

An ``annual_target`` rule names a metric, a level and two points (``baseline: {year: 2017,
value: 71}``, ``target: {year: 2025, value: 50}``); the path between is a straight line
(:class:`standards.TargetPath`) and the value allowed for a year is the path's value for it.
Evaluated at ``as_of`` (a closed local day, :func:`due`), each subject of the level gets one
result per year (``window_start``: the year's first local instant), revised as the year goes on:

- **pm25, pm10** at ``site``, ``enterprise``, ``park``, ``county`` or ``city``: the mean of the
  level's daily values through ``as_of``, with enough of them (:mod:`rules.annual_means`);
- **energy_intensity** at ``enterprise``: kgce / output over the days of the year the
  enterprise reported output for (:func:`store.sql.output_total`: months, or days), electricity
  from ``energy_import_delta`` at the GB/T 2589 coefficient; a reported period whose meters
  cover less than 90 % of it is left out of both sums (the evidence counts it).

The year-to-date value is carried to the year's end (:func:`standards.assess_mean`): a
deliberately simple projection, pessimistic in winter and optimistic in summer for PM. The
outcome is ``projected_miss`` (the early warning) when the projection exceeds the path's value
for the year by more than the rule's ``margin``, ``on_track`` otherwise, and
``insufficient_data`` without enough data.
"""

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from rules.annual_means import day_runs, level_days, read_site_days, required_days, too_few
from rules.consumption import (
    Json,
    MeterDelta,
    consumption,
    read_deltas,
    rounded,
    sites_in,
)
from rules.energy import INSUFFICIENT, Verdict, coefficient_json, result
from rules.files import RuleSet
from rules.model import AnnualTargetRule
from standards import (
    ANNUAL,
    GB_T_2589_2020_COEFFICIENTS,
    UG_M3,
    Carrier,
    Coefficient,
    TargetPath,
    assess_mean,
    day_bounds,
    local_date,
    to_kgce,
    year_bounds,
)
from store.influx import InfluxStore
from store.sql import (
    MixedUnitsError,
    Placement,
    ProductionRecord,
    ProductionStore,
    Recorded,
    Registry,
    RuleResult,
    RuleResults,
    output_total,
)
from telemetry import metric as catalog_metric

ON_TRACK = "on_track"
PROJECTED_MISS = "projected_miss"
ENERGY_METRIC = "energy_import_delta"  # annual energy targets count imported electricity
CARRIER = Carrier.ELECTRICITY

Where = tuple[str | None, str | None, str | None, str | None]  # county, park, enterprise, site


def due(now_ms: int) -> date:
    """The last closed local day at ``now_ms``: what a target is evaluated at."""
    return local_date(now_ms) - timedelta(days=1)


def level_of(level: str, where: Placement) -> tuple[str, Where] | None:
    """The subject a site belongs to at ``level``, and its placement; ``None`` without one."""
    subjects: dict[str, tuple[str, Where] | None] = {
        "site": (f"site:{where.site}", (where.county, where.park, where.enterprise, where.site)),
        "enterprise": (
            f"enterprise:{where.enterprise}",
            (where.county, where.park, where.enterprise, None),
        ),
        "park": None
        if where.park is None
        else (f"park:{where.park}", (where.county, where.park, None, None)),
        "county": (f"county:{where.county}", (where.county, None, None, None)),
        "city": ("city", (None, None, None, None)),
    }
    return subjects[level]


@dataclass(frozen=True, slots=True)
class YearToDate:
    """A subject's value for the year so far, or why there is none, with its evidence."""

    value: float | None
    days: int  # daily values (PM) or reported days (energy) counted
    problem: str | None
    evidence: dict[str, Json]
    standard: str | None


class TargetEvaluator:
    """Evaluates annual target rules at a closed local day and records the results."""

    def __init__(  # noqa: PLR0913 - the stores it reads, and its options
        self,
        influx: InfluxStore,
        results: RuleResults,
        registry: Registry,
        production: ProductionStore,
        *,
        coefficients: Mapping[Carrier, Coefficient] = GB_T_2589_2020_COEFFICIENTS,
        days_per_query: int = 7,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._influx = influx
        self._results = results
        self._registry = registry
        self._production = production
        self._coefficients = coefficients
        self._days_per_query = days_per_query
        self._clock = clock

    def run(self, rule_sets: Iterable[RuleSet], as_of: date) -> list[Recorded]:
        """Evaluate the year through ``as_of`` and record; each result says if it changed."""
        return self._results.record(self.evaluate(rule_sets, as_of), now=self._clock())

    def evaluate(self, rule_sets: Iterable[RuleSet], as_of: date) -> list[RuleResult]:
        """The results of every enabled annual target rule for the year through ``as_of``."""
        placements = list(self._registry.placements().values())
        first, end = date(as_of.year, 1, 1), as_of + timedelta(days=1)
        site_days: dict[str, dict[str, dict[date, float]]] = {}
        found: list[RuleResult] = []
        for rule_set in rule_sets:
            for rule in (r for r in rule_set.rules if isinstance(r, AnnualTargetRule)):
                members = subjects(rule.level, sites_in(rule.scope, placements).values())
                if rule.metric == "energy_intensity":
                    years = self._intensities(members, first, end)
                else:
                    if rule.metric not in site_days:
                        site_days[rule.metric] = read_site_days(
                            self._influx,
                            rule.metric,
                            first,
                            end,
                            days_per_query=self._days_per_query,
                        )
                    years = {
                        subject: pm_year(site_days[rule.metric], sites, as_of)
                        for subject, (_, sites) in members.items()
                    }
                found += [
                    judge_year(rule, rule_set.version, as_of, subject, members[subject][0], year)
                    for subject, year in sorted(years.items())
                ]
        return found

    def _intensities(
        self, members: Mapping[str, tuple[Where, list[str]]], first: date, end: date
    ) -> dict[str, YearToDate]:
        figures = self._production.figures(first, end)
        rows: list[MeterDelta] = []
        for start_ms, end_ms in day_runs(first, end, self._days_per_query):
            rows += read_deltas(self._influx, ENERGY_METRIC, start_ms, end_ms, daily=True)
        years: dict[str, YearToDate] = {}
        for subject, (where, sites) in members.items():
            enterprise = where[2] or ""
            mine = [d for d in rows if d.site in sites and d.enterprise == enterprise]
            years[subject] = intensity_year(
                enterprise, figures.get(enterprise, []), mine, (first, end), self._coefficients
            )
        return years


def intensity_year(
    enterprise: str,
    figures: Sequence[ProductionRecord],
    rows: Sequence[MeterDelta],
    span: tuple[date, date],
    coefficients: Mapping[Carrier, Coefficient] = GB_T_2589_2020_COEFFICIENTS,
) -> YearToDate:
    """An enterprise's energy intensity over ``span`` (``[first, end)``): module docstring. Pure.

    ``rows`` are its meters' daily deltas (``read_deltas(..., daily=True)``), ``figures`` its
    submitted output.
    """
    first, end = span
    coefficient = coefficients[CARRIER]
    standard = coefficient.version
    try:
        reported = output_total(figures, enterprise, first, end)
    except MixedUnitsError as exc:
        return YearToDate(None, 0, str(exc), {}, standard)
    energy: list[float] = []
    output: list[float] = []
    days = left_out = 0
    for start, stop in reported.periods:
        duration = day_bounds(stop).start_ms - day_bounds(start).start_ms
        used = consumption((d for d in rows if d.day and start <= d.day < stop), duration)
        if not used.complete:
            left_out += 1
            continue
        energy.append(used.quantity)
        output.append(output_total(figures, enterprise, start, stop).quantity)
        days += (stop - start).days
    kgce = to_kgce(math.fsum(energy), CARRIER, coefficients).kgce
    made = math.fsum(output)
    evidence: dict[str, Json] = {
        "energy": {
            "quantity": rounded(math.fsum(energy)),
            "unit": catalog_metric(ENERGY_METRIC).unit,
        },
        "kgce": rounded(kgce),
        "coefficient": coefficient_json(coefficient),
        "output": {"quantity": rounded(made), "unit": reported.unit},
        "periods_reported": len(reported.periods),
        "periods_left_out": left_out,
    }
    if not reported.periods:
        return YearToDate(None, 0, "no output reported", evidence, standard)
    if made <= 0:
        why = "zero output" if output else "no reported period has complete energy data"
        return YearToDate(None, days, why, evidence, standard)
    return YearToDate(kgce / made, days, None, evidence, standard)


def subjects(level: str, sites: Iterable[Placement]) -> dict[str, tuple[Where, list[str]]]:
    """The subjects of ``level`` among ``sites``: each with its placement and its sites."""
    found: dict[str, tuple[Where, list[str]]] = {}
    for site in sorted(sites, key=lambda p: p.site):
        subject = level_of(level, site)
        if subject is not None:
            found.setdefault(subject[0], (subject[1], []))[1].append(site.site)
    return found


def pm_year(
    site_days: Mapping[str, Mapping[date, float]], sites: Sequence[str], as_of: date
) -> YearToDate:
    """The year-to-date mean of a level's daily values (module docstring)."""
    daily = level_days(site_days, sites)
    value = math.fsum(daily.values()) / len(daily) if daily else None
    evidence: dict[str, Json] = {"sites": list(sites), "days_required": required_days(as_of)}
    return YearToDate(value, len(daily), too_few(daily, as_of), evidence, ANNUAL.source)


def judge_year(  # noqa: PLR0913, PLR0917 - one rule, one subject, one year
    rule: AnnualTargetRule, version: str, as_of: date, subject: str, where: Where, year: YearToDate
) -> RuleResult:
    """The result of ``subject``'s year so far against the rule's path."""
    path = TargetPath(
        name=f"{rule.metric} ({rule.id})",
        unit="kgce per unit" if rule.metric == "energy_intensity" else UG_M3,
        baseline_year=rule.baseline.year,
        baseline_value=rule.baseline.value,
        target_year=rule.target.year,
        target_value=rule.target.value,
    )
    allowed = rounded(path.value_for_year(as_of.year))
    evidence: dict[str, Json] = {
        **year.evidence,
        "as_of": as_of.isoformat(),
        "level": rule.level,
        "year_to_date": None if year.value is None else rounded(year.value),
        "days_counted": year.days,
        "days_elapsed": as_of.timetuple().tm_yday,
        "path": {
            "baseline": [rule.baseline.year, rule.baseline.value],
            "target": [rule.target.year, rule.target.value],
            "value_for_year": allowed,
        },
        "margin": rule.margin,
    }
    if year.problem is not None or year.value is None:
        verdict = Verdict(INSUFFICIENT, None, year.problem or "no data")
    else:
        projection = assess_mean(path, year.value, as_of)
        gap = rounded(projection.projected - projection.allowed)
        evidence["projection"] = {
            "method": projection.method,
            "projected": rounded(projection.projected),
            "gap": gap,
        }
        outcome = PROJECTED_MISS if gap > rule.margin else ON_TRACK
        reason = f"projected {rounded(projection.projected)}, {allowed} allowed for {as_of.year}"
        verdict = Verdict(outcome, rounded(year.value), reason)
    bounds = year_bounds(as_of.year)
    return result(
        rule,
        version=version,
        subject=subject,
        window=(bounds.start_ms, bounds.end_ms),
        verdict=verdict,
        limit=allowed,
        standard=year.standard,
        where=where,
        evidence=evidence,
    )
