"""Energy intensity and annual targets over a test's input, with the evaluators' pure core. Pure.

The InfluxDB-backed evaluators read the meters' deltas (:func:`rules.consumption.read_deltas`),
submitted production (:class:`store.sql.ProductionStore`) and sites' PM daily values
(:func:`rules.annual_means.read_site_days`); here the test gives them:

- **deltas**: the test's aggregates (``interval_s`` given) of the rule's interval metrics, one
  :class:`~rules.consumption.MeterDelta` each, covering ``interval_s`` (raw samples are not
  read, as ``"interval" != 'raw'``); a delta counts towards the period its start lies in;
- **production**: the test's ``production`` figures, as the store would hold them;
- **daily values**: the test's ``daily`` series, one value a local day, as the site's.

Then :func:`rules.energy.period_results` judges every period of a rule's size holding one of
its deltas or a production figure, for every placed enterprise in scope; and, at the test's
``as_of``, :func:`rules.targets.pm_year`, :func:`rules.targets.intensity_year` and
:func:`rules.targets.judge_year` judge each subject of an annual target's level.
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, date, timedelta

from rules.consumption import MeterDelta, by_enterprise, sites_in
from rules.energy import Period, period_results
from rules.files import RuleSet
from rules.model import AnnualTargetRule, EnergyIntensityRule
from rules.targets import ENERGY_METRIC, intensity_year, judge_year, pm_year, subjects
from rules.testing.model import RuleTestCase
from rules.testing.series import parse_series
from standards import local_date
from store.sql import Placement, ProductionPeriod, ProductionRecord, RuleResult
from telemetry import Reading


def deltas_of(readings: Iterable[tuple[Placement, Reading]], metrics: set[str]) -> list[MeterDelta]:
    """The aggregates of ``metrics`` as the meters' deltas, each with its local day."""
    return [
        MeterDelta(
            enterprise=placement.enterprise,
            site=placement.site,
            device=r.device,
            flag=r.quality.value,
            quantity=r.value,
            covered_ms=round(r.interval_s * 1000),
            day=local_date(r.ts),
        )
        for placement, r in readings
        if r.metric in metrics and r.interval_s is not None
    ]


def figures_of(case: RuleTestCase) -> dict[str, list[ProductionRecord]]:
    """The test's production figures, by enterprise, as ``ProductionStore.figures`` gives them."""
    submitted_at = case.start.astimezone(UTC)
    found: dict[str, list[ProductionRecord]] = defaultdict(list)
    for spec in case.production:
        found[spec.enterprise].append(
            ProductionRecord(
                enterprise_id=spec.enterprise,
                period=ProductionPeriod(spec.period),
                period_start=spec.period_start,
                quantity=spec.quantity,
                unit=spec.unit,
                submitted_at=submitted_at,
            )
        )
    return dict(found)


def _period(size: str, day: date) -> Period:
    return Period.day(day) if size == "day" else Period.month(day.year, day.month)


def energy_results(
    case: RuleTestCase,
    rule_sets: Sequence[RuleSet],
    placements: Sequence[Placement],
    readings: Sequence[tuple[Placement, Reading]],
) -> list[RuleResult]:
    """Every energy intensity rule in force, over the periods holding its data."""
    figures = figures_of(case)
    found: list[RuleResult] = []
    for rule_set in rule_sets:
        for rule in (r for r in rule_set.rules if isinstance(r, EnergyIntensityRule)):
            sites = sites_in(rule.scope, placements)
            energy = deltas_of(readings, {rule.metric})
            counted = deltas_of(readings, {rule.output_metric} if rule.output_metric else set())
            days = {d.day for d in energy + counted if d.site in sites and d.day is not None}
            enterprises = {p.enterprise for p in sites.values()}
            days |= {
                s.period_start
                for s in case.production
                if s.enterprise in enterprises and s.period == rule.window.value
            }
            for period in sorted({_period(rule.window.value, day) for day in days}):
                found += period_results(
                    rule,
                    version=rule_set.version,
                    period=period,
                    sites=sites,
                    energy=by_enterprise(_within(energy, period), sites),
                    counted=by_enterprise(_within(counted, period), sites),
                    figures=figures,
                )
    return found


def _within(deltas: Iterable[MeterDelta], period: Period) -> list[MeterDelta]:
    return [d for d in deltas if d.day is not None and period.first_day <= d.day < period.end_day]


def site_days(
    case: RuleTestCase, metric: str, first: date, end: date
) -> dict[str, dict[date, float]]:
    """The sites' daily values of ``metric`` in ``[first, end)`` from the test's ``daily``."""
    found: dict[str, dict[date, float]] = defaultdict(dict)
    for spec in case.daily:
        if spec.metric != metric:
            continue
        for sample in parse_series(spec.values):
            day = spec.start + timedelta(days=sample.slot)
            if first <= day < end:
                found[spec.site][day] = sample.value
    return dict(found)


def target_results(
    case: RuleTestCase,
    rule_sets: Sequence[RuleSet],
    placements: Sequence[Placement],
    readings: Sequence[tuple[Placement, Reading]],
) -> list[RuleResult]:
    """Every annual target rule in force, for the year through the test's ``as_of``."""
    as_of = case.as_of
    if as_of is None:
        return []
    first, end = date(as_of.year, 1, 1), as_of + timedelta(days=1)
    figures = figures_of(case)
    rows = [d for d in deltas_of(readings, {ENERGY_METRIC}) if d.day and first <= d.day < end]
    found: list[RuleResult] = []
    for rule_set in rule_sets:
        for rule in (r for r in rule_set.rules if isinstance(r, AnnualTargetRule)):
            members = subjects(rule.level, sites_in(rule.scope, placements).values())
            daily = site_days(case, rule.metric, first, end)
            for subject, (where, sites) in sorted(members.items()):
                if rule.metric == "energy_intensity":
                    enterprise = where[2] or ""
                    mine = [d for d in rows if d.site in sites and d.enterprise == enterprise]
                    year = intensity_year(
                        enterprise, figures.get(enterprise, []), mine, (first, end)
                    )
                else:
                    year = pm_year(daily, sites, as_of)
                found.append(judge_year(rule, rule_set.version, as_of, subject, where, year))
    return found
