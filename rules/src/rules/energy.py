"""Energy intensity of enterprises over closed local days and months (``energy_intensity`` rules).

For every enterprise with a site in the rule's scope and every closed :class:`Period`
(:func:`due` lists them):

1. **consumption**: the sum of the rule's interval metric (``energy_import_delta``, kWh) over
   the window, all meters of the enterprise's in-scope sites (:mod:`rules.consumption`: one
   InfluxQL statement per metric and window for all enterprises). Every data flag is added:
   the gateway computes deltas from ``N`` counter samples only, and leaving flagged energy out
   would understate consumption, the one error an intensity check must not make; the evidence
   shows the amount per flag;
2. **kgce** with the configured GB/T 2589 coefficients (:func:`standards.to_kgce`); the
   coefficient, its source and edition are recorded, the edition as the result's standard;
3. **output**: the production the enterprise submitted (:class:`store.sql.ProductionStore`:
   a month's figure, or every day's), or the rule's ``output_metric`` summed like energy;
4. **intensity** = kgce / output, compared with ``target`` (kgce per unit of output).

Outcomes: ``exceeding`` (above the target), ``compliant``, or ``insufficient_data``. No energy
data, no output, zero output or figures in mixed units are always insufficient, never compared.
Incomplete consumption (a meter covering less than 90 % of the window) makes the intensity a
lower bound: above the target it is certainly exceeding, otherwise insufficient. Incomplete
output (days of the month not reported) makes it an upper bound: within the target it is
certainly compliant. Values are rounded to six decimals, so a re-evaluation of unchanged data
records no new revision.
"""

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal

from rules.consumption import (
    Consumption,
    Json,
    MeterDelta,
    Output,
    by_enterprise,
    consumption,
    metered_output,
    read_deltas,
    rounded,
    sites_in,
    submitted_output,
)
from rules.files import RuleSet
from rules.model import AnnualTargetRule, EnergyIntensityRule
from standards import (
    GB_T_2589_2020_COEFFICIENTS,
    Carrier,
    Coefficient,
    day_bounds,
    energy_intensity,
    local_date,
    month_bounds,
    to_kgce,
)
from store.influx import InfluxStore
from store.sql import (
    Placement,
    ProductionRecord,
    ProductionStore,
    Recorded,
    Registry,
    RuleResult,
    RuleResults,
)
from telemetry import metric as catalog_metric

EXCEEDING = "exceeding"
COMPLIANT = "compliant"
INSUFFICIENT = "insufficient_data"
DEFAULT_LOOKBACK_DAYS = 35  # late data and corrected output re-evaluate a window this long

_DAY_MS = 86_400_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

Rule = EnergyIntensityRule | AnnualTargetRule


def utc(ts_ms: int) -> datetime:
    """``ts_ms`` as an aware UTC datetime."""
    return _EPOCH + timedelta(milliseconds=ts_ms)


@dataclass(frozen=True, slots=True, order=True)
class Period:
    """A local (Asia/Shanghai) calendar day or month, ``[start_ms, end_ms)``."""

    start_ms: int
    end_ms: int
    size: Literal["day", "month"]

    @classmethod
    def day(cls, day: date) -> "Period":
        """The local calendar day ``day``."""
        bounds = day_bounds(day)
        return cls(bounds.start_ms, bounds.end_ms, "day")

    @classmethod
    def month(cls, year: int, month: int) -> "Period":
        """The local calendar month."""
        bounds = month_bounds(year, month)
        return cls(bounds.start_ms, bounds.end_ms, "month")

    @property
    def first_day(self) -> date:
        """The period's first local day."""
        return local_date(self.start_ms)

    @property
    def end_day(self) -> date:
        """The local day after the period."""
        return local_date(self.end_ms)


def due(now_ms: int, *, lookback_days: int = DEFAULT_LOOKBACK_DAYS) -> list[Period]:
    """Days and months that closed within ``lookback_days`` before ``now_ms``, by end."""
    since_ms = now_ms - lookback_days * _DAY_MS
    periods: list[Period] = []
    day = local_date(since_ms)
    while (period := Period.day(day)).end_ms <= now_ms:
        if period.end_ms > since_ms:
            periods.append(period)
            if (day + timedelta(days=1)).day == 1:
                periods.append(Period.month(day.year, day.month))
        day += timedelta(days=1)
    return periods


@dataclass(frozen=True, slots=True)
class Verdict:
    """An outcome, the value to record with it (``None`` when not decisive), and why."""

    outcome: str
    value: float | None
    reason: str


def unusable(energy: Consumption, output: Output) -> str | None:
    """Why no intensity can be computed at all; ``None`` when one can."""
    if not energy.coverage:
        return "no energy data"
    if output.problem is not None:
        return output.problem
    if output.quantity is None:
        return "no output reported"
    return "zero output" if output.quantity <= 0 else None


def judge(energy: Consumption, kgce: float, output: Output, target: float) -> Verdict:
    """Compare kgce / output with ``target`` (module docstring for incomplete data)."""
    problem = unusable(energy, output)
    if problem is not None or output.quantity is None:
        return Verdict(INSUFFICIENT, None, problem or "no output reported")
    intensity = rounded(energy_intensity(kgce, output.quantity))
    above = intensity > target
    if energy.complete and output.complete:
        return Verdict(EXCEEDING if above else COMPLIANT, intensity, "complete data")
    if not energy.complete and output.complete and above:
        return Verdict(EXCEEDING, intensity, "energy incomplete: a lower bound above the target")
    if energy.complete and not output.complete and not above:
        return Verdict(COMPLIANT, intensity, "output incomplete: an upper bound within target")
    gaps = [
        name for name, ok in (("energy", energy.complete), ("output", output.complete)) if not ok
    ]
    return Verdict(INSUFFICIENT, None, f"{' and '.join(gaps)} incomplete; {intensity} undecided")


def coefficient_json(coefficient: Coefficient) -> dict[str, Json]:
    """A coefficient as evidence shows it."""
    return {
        "carrier": coefficient.carrier.value,
        "value": coefficient.value,
        "per": coefficient.per,
        "version": coefficient.version,
        "source": coefficient.source,
    }


def result(  # noqa: PLR0913 - the facts of one result, keyword-only
    rule: Rule,
    *,
    version: str,
    subject: str,
    window: tuple[int, int],
    verdict: Verdict,
    limit: float,
    standard: str | None,
    where: tuple[str | None, str | None, str | None, str | None],
    evidence: dict[str, Json],
) -> RuleResult:
    """A result of an energy or target rule; ``where`` is (county, park, enterprise, site)."""
    return RuleResult(
        rule=rule.id,
        rule_version=version,
        kind=rule.kind,
        subject=subject,
        window_start=utc(window[0]),
        window_end=utc(window[1]),
        outcome=verdict.outcome,
        severity=rule.severity.value,
        value=verdict.value,
        limit=limit,
        standard=standard,
        county=where[0],
        park=where[1],
        enterprise=where[2],
        site=where[3],
        evidence=evidence | {"reason": verdict.reason},
    )


class EnergyEvaluator:
    """Evaluates energy intensity rules over closed periods and records the results.

    A :meth:`run` reads the registry once, each (metric, period) from InfluxDB once, and each
    period's submitted output once. Results depend on those data and the rules only.
    """

    def __init__(  # noqa: PLR0913 - the stores it reads, and two options
        self,
        influx: InfluxStore,
        results: RuleResults,
        registry: Registry,
        production: ProductionStore,
        *,
        coefficients: Mapping[Carrier, Coefficient] = GB_T_2589_2020_COEFFICIENTS,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._influx = influx
        self._results = results
        self._registry = registry
        self._production = production
        self._coefficients = coefficients
        self._clock = clock

    def run(self, rule_sets: Iterable[RuleSet], periods: Iterable[Period]) -> list[Recorded]:
        """Evaluate and record; each result says whether it changed."""
        return self._results.record(self.evaluate(rule_sets, periods), now=self._clock())

    def evaluate(self, rule_sets: Iterable[RuleSet], periods: Iterable[Period]) -> list[RuleResult]:
        """The results of every enabled energy intensity rule for the ``periods`` of its size."""
        placements = list(self._registry.placements().values())
        wanted = sorted(set(periods))
        reads: dict[tuple[str, Period], list[MeterDelta]] = {}
        figures: dict[Period, dict[str, list[ProductionRecord]]] = {}
        found: list[RuleResult] = []
        for rule_set in rule_sets:
            for rule in (r for r in rule_set.rules if isinstance(r, EnergyIntensityRule)):
                sites = sites_in(rule.scope, placements)
                for period in (p for p in wanted if p.size == rule.window.value):
                    for metric_id in filter(None, (rule.metric, rule.output_metric)):
                        if (metric_id, period) not in reads:
                            start, end = period.start_ms, period.end_ms
                            reads[metric_id, period] = read_deltas(
                                self._influx, metric_id, start, end
                            )
                    if rule.output_metric is None and period not in figures:
                        figures[period] = self._production.figures(period.first_day, period.end_day)
                    found += period_results(
                        rule,
                        version=rule_set.version,
                        period=period,
                        sites=sites,
                        energy=by_enterprise(reads[rule.metric, period], sites),
                        counted=by_enterprise(
                            reads.get((rule.output_metric or "", period), []), sites
                        ),
                        figures=figures.get(period, {}),
                        coefficients=self._coefficients,
                    )
        return found


def period_results(  # noqa: PLR0913 - one rule and period, and what was read for them
    rule: EnergyIntensityRule,
    *,
    version: str,
    period: Period,
    sites: Mapping[str, Placement],
    energy: Mapping[str, list[MeterDelta]],
    counted: Mapping[str, list[MeterDelta]],
    figures: Mapping[str, Sequence[ProductionRecord]],
    coefficients: Mapping[Carrier, Coefficient] = GB_T_2589_2020_COEFFICIENTS,
) -> list[RuleResult]:
    """One result per enterprise of ``sites`` for ``period``, from what was read. Pure.

    ``energy`` and ``counted`` are the meters' deltas by enterprise (:func:`by_enterprise`),
    ``figures`` every submitted figure by enterprise (:func:`store.sql.output_total` picks).
    """
    duration = period.end_ms - period.start_ms
    results: list[RuleResult] = []
    for enterprise, where in sorted({p.enterprise: p for p in sites.values()}.items()):
        used = consumption(energy.get(enterprise, []), duration)
        if rule.output_metric is None:
            output = submitted_output(
                figures.get(enterprise, []), enterprise, period.first_day, period.end_day
            )
        else:
            made = consumption(counted.get(enterprise, []), duration)
            output = metered_output(rule.output_metric, made)
        results.append(_judge(rule, version, period, where, used, output, coefficients))
    return results


def _judge(  # noqa: PLR0913, PLR0917 - one rule, period and enterprise, and its figures
    rule: EnergyIntensityRule,
    version: str,
    period: Period,
    where: Placement,
    energy: Consumption,
    output: Output,
    coefficients: Mapping[Carrier, Coefficient],
) -> RuleResult:
    carrier = Carrier(rule.carrier)
    coefficient = coefficients.get(carrier)
    evidence: dict[str, Json] = {
        "window": period.size,
        "local_start": period.first_day.isoformat(),
        "energy": energy.to_json(catalog_metric(rule.metric).unit),
        "output": output.evidence,
        "target": rule.target,
    }
    if coefficient is None:
        verdict = Verdict(INSUFFICIENT, None, f"no coefficient for {carrier} configured")
    else:
        conversion = to_kgce(energy.quantity, carrier, coefficients)
        verdict = judge(energy, conversion.kgce, output, rule.target)
        evidence |= {
            "kgce": rounded(conversion.kgce),
            "coefficient": coefficient_json(coefficient),
        }
    return result(
        rule,
        version=version,
        subject=f"enterprise:{where.enterprise}",
        window=(period.start_ms, period.end_ms),
        verdict=verdict,
        limit=rule.target,
        standard=None if coefficient is None else coefficient.version,
        where=(where.county, where.park, where.enterprise, None),
        evidence=evidence,
    )
