"""A site's hourly and daily AQI (HJ 633) from its PM2.5 and PM10 means. Pure.

Lantian's sites measure particulates only, so a site's AQI is the larger of its PM2.5 and PM10
IAQIs (HJ 633-2012 formula 2), from the means :mod:`rules.windows.means` made:

- **daily AQI** (HJ 633-2012 §5, daily report): the calendar day's 24-hour means against
  the 24-hour breakpoints of Table 1;
- **hourly AQI** (HJ 633-2012 §5, real-time report): the clock hour's 1-hour means. Table 1
  gives PM2.5 and PM10 breakpoints for 24-hour means only, so the 1-hour concentration is
  indexed against them, as monitoring software citing HJ 633 does. (The national publishing
  platform's practice of indexing PM by its 24-hour moving mean is not applied: it would hide
  the hour's own value.)

A pollutant whose mean has insufficient data takes no part (the evidence says so); with
neither, the outcome is ``insufficient_data``. The HJ 633 edition is the one in force on the
window's local day under the rule file's version policy.

Outcome: ``exceeding`` when the AQI's category is the rule's ``alert_from`` or worse, else
``compliant``. The result's ``limit`` is the top of the category below ``alert_from`` (150
for ``moderately_polluted``), so ``exceeding`` means strictly above it, as for a limit. The
evidence names the previous window's category (computed from data, like this one) so a change
of category is visible on the result itself.
"""

from collections.abc import Mapping

from rules.files import RuleSet
from rules.model import AqiRule, aqi_category_key
from rules.windows.judge import Judged, SiteMean, site_result
from rules.windows.limits import version_policy
from rules.windows.periods import RegulatoryWindow
from rules.windows.sites import SitePlacement
from standards import (
    AqiCategory,
    AqiResult,
    AqiStandard,
    Averaging,
    Pollutant,
    aqi,
    aqi_standard_for,
)
from store.sql import RuleResult

AQI_METRICS: tuple[str, ...] = (Pollutant.PM25.value, Pollutant.PM10.value)

_METHOD = {
    "hour": "1-hour means against the 24-hour PM breakpoints of HJ 633 Table 1 (real-time report)",
    "day": "24-hour means against the 24-hour breakpoints of HJ 633 Table 1 (daily report)",
}


def site_aqi(means: Mapping[str, SiteMean], standard: AqiStandard) -> AqiResult | None:
    """The AQI of a site's valid PM means; ``None`` when none is valid."""
    concentrations = {
        (Pollutant(metric), Averaging.DAY): value
        for metric in AQI_METRICS
        if metric in means and (value := means[metric].value) is not None
    }
    return aqi(concentrations, standard=standard) if concentrations else None


def standard_for(rule_set: RuleSet, window: RegulatoryWindow) -> AqiStandard:
    """The HJ 633 edition in force on the window's local day, as the rule file allows."""
    return aqi_standard_for(window.local_day, version_policy(rule_set.file))


def aqi_result(  # noqa: PLR0913 - the rule, where and when, and the two windows' means
    rule: AqiRule,
    rule_set: RuleSet,
    window: RegulatoryWindow,
    site: SitePlacement,
    *,
    means: Mapping[str, SiteMean],
    previous: Mapping[str, SiteMean] | None = None,
) -> RuleResult:
    """The AQI result of ``rule`` for ``site`` over ``window``.

    ``previous`` holds the site's means over the window before, when they were computed.
    """
    standard = standard_for(rule_set, window)
    result = site_aqi(means, standard)
    before = (
        None if previous is None else site_aqi(previous, standard_for(rule_set, window.previous()))
    )
    alert = next(c for c in standard.categories if aqi_category_key(c) == rule.alert_from)
    evidence: dict[str, object] = {
        "method": _METHOD[window.size],
        "alert_from": rule.alert_from,
        "concentrations": {
            metric: _concentration(means.get(metric), metric) for metric in AQI_METRICS
        },
        "previous_category": None if before is None else _category(before.category),
    }
    limit = float(alert.low - 1)
    validity = sorted({f"validity {mean.mean.source}" for mean in means.values()})
    label = "; ".join([standard.version, *validity])
    evidence["versions"] = {
        "aqi": standard.version,
        "validity": sorted({mean.mean.version for mean in means.values()}),
    }
    if result is None:
        evidence.update(aqi=None, category=None, category_changed=None)
        return site_result(
            rule,
            rule_set,
            window,
            site,
            Judged("insufficient_data", None, limit, label, evidence),
        )
    exceeding = result.category.level >= alert.level
    evidence.update(
        aqi=result.value,
        category=_category(result.category),
        category_changed=None if before is None else before.category != result.category,
        primary=[s.pollutant.value for s in result.primary],
        exceeding_pollutants=(
            None if result.exceeding is None else [s.pollutant.value for s in result.exceeding]
        ),
        sub_indices=[
            {
                "pollutant": s.pollutant.value,
                "concentration": s.concentration,
                "iaqi": s.value,
                "beyond_table": s.beyond_table,
            }
            for s in result.sub_indices
        ],
        beyond_table=result.beyond_table,
    )
    return site_result(
        rule,
        rule_set,
        window,
        site,
        Judged(
            "exceeding" if exceeding else "compliant",
            float(result.value),
            limit,
            label,
            evidence,
        ),
    )


def _category(category: AqiCategory) -> dict[str, object]:
    return {
        "level": category.level,
        "key": aqi_category_key(category),
        "name_zh": category.name_zh,
        "name_en": category.name_en,
        "colour": category.colour_hex,
    }


def _concentration(mean: SiteMean | None, metric: str) -> dict[str, object]:
    if mean is None:
        return {"value": None, "valid": False, "reason": f"no {metric} mean was computed"}
    return {
        "value": mean.value,
        "valid": mean.mean.valid,
        "count": mean.mean.count,
        "lower_bound": mean.mean.lower_bound,
        "reason": mean.mean.reason,
    }
