"""A window mean judged against the limit in force: one rule result per site and window. Pure.

The outcome of a ``window_mean`` rule for a site's hour or day:

- ``insufficient_data``: the mean has too little data to be a statistic (GB 3095-2012
  Table 4); its value is ``None`` and it is never compared with anything;
- ``exceeding``: the mean is strictly above the limit (超标, GB 3095-2012; a mean equal to
  the limit complies);
- ``compliant``: at or below it;
- ``no_limit``: nothing sets a limit for it (see :mod:`rules.windows.limits`): the mean is
  recorded for the record and the dashboards, and judged against nothing.

The result's ``standard`` names where the limit comes from and the validity rule used; the
evidence holds the counts behind the mean (usable, excluded by flag, missing), each hour of a
day, the limit's source and every edition and version involved.
"""

from dataclasses import dataclass

from rules.files import RuleSet
from rules.model import AqiRule, WindowMeanRule
from rules.subjects import site_subject
from rules.windows.limits import LimitInForce, limit_in_force
from rules.windows.means import SiteDay, SiteHour
from rules.windows.periods import RegulatoryWindow, utc
from rules.windows.sites import SitePlacement
from store.sql import RuleResult

SiteMean = SiteHour | SiteDay
_STANDARD_COLUMN = 200  # rule_results.standard holds at most this many characters


@dataclass(frozen=True, slots=True)
class Judged:
    """What a result says beyond its rule, site and window."""

    outcome: str
    value: float | None
    limit: float | None
    standard: str | None
    evidence: dict[str, object]


def site_result(
    rule: WindowMeanRule | AqiRule,
    rule_set: RuleSet,
    window: RegulatoryWindow,
    site: SitePlacement,
    judged: Judged,
) -> RuleResult:
    """The rule result of ``rule`` for ``site`` over ``window``."""
    return RuleResult(
        rule=rule.id,
        rule_version=rule_set.version,
        kind=rule.kind,
        subject=site_subject(site.site),
        window_start=utc(window.start_ms),
        window_end=utc(window.end_ms),
        outcome=judged.outcome,
        severity=rule.severity.value,
        value=judged.value,
        limit=judged.limit,
        standard=None if judged.standard is None else judged.standard[:_STANDARD_COLUMN],
        county=site.county,
        park=site.park,
        enterprise=site.enterprise,
        site=site.site,
        gateway=site.gateway,
        evidence={
            "window": window.size,
            "window_local": window.label,
            "rule_file_version": rule_set.version,
            **judged.evidence,
        },
    )


def window_mean_result(
    rule: WindowMeanRule,
    rule_set: RuleSet,
    window: RegulatoryWindow,
    site: SitePlacement,
    mean: SiteMean,
) -> RuleResult:
    """Judge a site's hourly or daily mean (as :mod:`rules.windows.means` made it)."""
    limit = limit_in_force(
        rule_set.file,
        metric=rule.metric,
        window=window.size,
        rule_limit=rule.limit,
        placement=site,
        day=window.local_day,
    )
    return site_result(rule, rule_set, window, site, judge_mean(rule.metric, mean, limit))


def judge_mean(metric: str, mean: SiteMean, limit: LimitInForce) -> Judged:
    """The outcome, figures and evidence of one mean against ``limit``."""
    stat = mean.mean
    if stat.value is None:
        outcome = "insufficient_data"
    elif limit.value is None:
        outcome = "no_limit"
    else:
        outcome = "exceeding" if stat.value > limit.value else "compliant"
    validity = f"validity {stat.source}"
    evidence: dict[str, object] = {
        "metric": metric,
        "validity": {
            "rule": stat.rule,
            "source": stat.source,
            "version": stat.version,
            "outcome": stat.outcome.value,
            "reason": stat.reason,
        },
        "count": stat.count,
        "excluded": dict(stat.excluded),
        "missing": stat.missing,
        "over_range": stat.over_range,
        "lower_bound": stat.lower_bound,
        "limit": limit.to_json(),
        "versions": {"limit": limit.version, "validity": stat.version},
    }
    if isinstance(mean, SiteHour):
        evidence.update(
            incomplete=mean.incomplete, unsynced=mean.unsynced, devices=list(mean.devices)
        )
    else:
        evidence["hours"] = [hour.to_json() for hour in mean.hours]
        evidence["devices"] = sorted({d for hour in mean.hours for d in hour.devices})
    return Judged(
        outcome=outcome,
        value=stat.value,
        limit=limit.value,
        standard=validity if limit.label is None else f"{limit.label}; {validity}",
        evidence=evidence,
    )
