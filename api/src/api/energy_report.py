"""An enterprise's energy year: consumption, coal equivalent, intensity, and its annual target.

Per Asia/Shanghai calendar month of the year, through ``as_of``:

- **consumption** (kWh): the ``hour`` rollup's sums of ``energy_import_delta``, the
  gateways' per-minute meter deltas, over the enterprise's sites
  (:func:`store.series.enterprise_daily_totals`);
- **coal equivalent** (kgce): :func:`standards.to_kgce` at the GB/T 2589-2020 electricity
  coefficient (0.1229 kgce/kWh, equivalent value);
- **output**: the figures the enterprise submitted (:meth:`store.sql.ProductionStore.total`),
  with the share of the month they cover;
- **intensity**: kgce per unit of output (:func:`standards.energy_intensity`), only for a month
  whose output covers every day (a partly reported month would overstate it).

**Target tracking.** The target path lives in the rule files, which the rules engine reads;
its ``annual_target`` result for the enterprise (docs/rules.md) records the path. The report
takes that path, computes the year-to-date intensity over the fully reported months, and
carries it to the year's end with :func:`standards.assess_mean`, as the rules engine does. No
recorded target: the target columns are empty.
"""

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from api.compliance import month_days
from api.exports import Cell
from standards import Carrier, TargetPath, assess_mean, energy_intensity, to_kgce
from standards.windows import day_bounds, local_date, year_bounds
from store.influx import InfluxStore
from store.series import enterprise_daily_totals
from store.sql import ProductionStore, RuleResult

ENERGY_METRIC = "energy_import_delta"


@dataclass(frozen=True, slots=True)
class RecordedTarget:
    """The enterprise's energy-intensity path as the rules engine last recorded it."""

    rule: str
    path: TargetPath
    outcome: str
    as_of: str | None


def recorded_target(results: Iterable[RuleResult]) -> RecordedTarget | None:
    """The newest ``annual_target`` result on energy intensity among ``results``."""
    newest: RecordedTarget | None = None
    for result in results:
        path = result.evidence.get("path")
        if result.kind != "annual_target" or "kgce" not in result.evidence:
            continue
        if not isinstance(path, dict):
            continue
        (base_year, base_value), (target_year, target_value) = path["baseline"], path["target"]
        as_of = result.evidence.get("as_of")
        newest = RecordedTarget(
            rule=result.rule,
            path=TargetPath(
                name=f"energy_intensity ({result.rule})",
                unit="kgce per unit",
                baseline_year=int(base_year),
                baseline_value=float(base_value),
                target_year=int(target_year),
                target_value=float(target_value),
            ),
            outcome=result.outcome,
            as_of=as_of if isinstance(as_of, str) else None,
        )
    return newest


def energy_rows(
    influx: InfluxStore,
    production: ProductionStore,
    *,
    enterprise: str,
    year: int,
    as_of: date,
) -> list[dict[str, Cell]]:
    """One row per month of ``year`` through ``as_of``."""
    bounds = year_bounds(year)
    end_ms = min(bounds.end_ms, day_bounds(as_of).end_ms)
    kwh_by_month: dict[int, float] = {}
    for total in enterprise_daily_totals(
        influx,
        enterprise=enterprise,
        metric_id=ENERGY_METRIC,
        start_ms=bounds.start_ms,
        end_ms=end_ms,
    ):
        month = local_date(total.day_ts).month
        kwh_by_month[month] = kwh_by_month.get(month, 0.0) + total.quantity
    rows: list[dict[str, Cell]] = []
    for month in range(1, 13):
        days = month_days(year, month)
        if days[0] > as_of:
            break
        kwh = kwh_by_month.get(month, 0.0)
        conversion = to_kgce(kwh, Carrier.ELECTRICITY)
        output = production.total(enterprise, days[0], days[-1] + timedelta(days=1))
        complete = output.complete and output.quantity > 0
        rows.append(
            {
                "month": f"{year}-{month:02d}",
                "energy_kwh": round(kwh, 3),
                "energy_kgce": round(conversion.kgce, 3),
                "coefficient": f"{conversion.coefficient.value} kgce/kWh ({conversion.version})",
                "output": output.quantity if output.periods else None,
                "output_unit": output.unit,
                "output_days_covered": output.days_covered,
                "intensity": (
                    round(energy_intensity(conversion.kgce, output.quantity), 6)
                    if complete
                    else None
                ),
            }
        )
    return rows


def energy_summary(
    rows: list[dict[str, Cell]], target: RecordedTarget | None, *, year: int, as_of: date
) -> dict[str, Cell]:
    """Year-to-date totals and intensity, and the year-end projection against the target."""
    counted = [row for row in rows if row["intensity"] is not None]
    kgce = math.fsum(float(row["energy_kgce"] or 0) for row in counted)
    made = math.fsum(float(row["output"] or 0) for row in counted)
    ytd = kgce / made if made > 0 else None
    summary: dict[str, Cell] = {
        "year": year,
        "as_of": as_of.isoformat(),
        "energy_kwh": round(math.fsum(float(row["energy_kwh"] or 0) for row in rows), 3),
        "energy_kgce": round(math.fsum(float(row["energy_kgce"] or 0) for row in rows), 3),
        "months_with_intensity": len(counted),
        "intensity_ytd": None if ytd is None else round(ytd, 6),
        "target_rule": None,
        "target_allowed": None,
        "target_projected": None,
        "target_will_miss": None,
        "target_recorded_outcome": None,
    }
    if target is None:
        return summary
    summary["target_rule"] = target.rule
    summary["target_allowed"] = round(target.path.value_for_year(year), 6)
    summary["target_recorded_outcome"] = target.outcome
    if ytd is not None:
        projection = assess_mean(target.path, ytd, as_of)
        summary["target_projected"] = round(projection.projected, 6)
        summary["target_will_miss"] = projection.will_miss
    return summary
