"""Window rules over closed windows: minute data from InfluxDB in, rule results in SQL out.

:class:`WindowEvaluator` takes windows to evaluate (:class:`~rules.windows.periods.WindowJob`)
and the rule sets in force, and for every ``window_mean`` and ``aqi`` rule of each window's
size, every registered site in the rule's scope gets one result:

1. the hours the windows need are read per metric for all sites at once
   (:class:`~rules.windows.source.MinuteSource`): the hour itself, a day's 24 hours, and for
   AQI rules the window before too, for its category;
2. each site's hourly and daily means are computed once per run and shared by every rule
   (:mod:`rules.windows.means`); a registered site without data has insufficient data;
3. each rule judges them (:mod:`rules.windows.judge`, :mod:`rules.windows.aqi`), and the
   results are recorded with :meth:`store.sql.RuleResults.record`, which keeps unchanged
   results as they are and gives changed ones a new revision.

Results depend only on the data, the rule files and the registry, never on when they were
computed, so evaluating a window again (a restart, a sweep) changes nothing unless its data
did. Rule ids are unique across files: a rule whose id an earlier file uses is left out and
listed in :attr:`WindowEvaluator.conflicts`.
"""

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from rules.files import RuleSet
from rules.model import AqiRule, WindowMeanRule
from rules.windows.aqi import AQI_METRICS, aqi_result
from rules.windows.judge import SiteMean, window_mean_result
from rules.windows.means import daily_mean, empty_hour, validity_for
from rules.windows.periods import RegulatoryWindow, WindowJob, utc
from rules.windows.sites import SitePlacement, site_placements
from rules.windows.source import HourTable, MinuteSource
from standards import Averaging
from standards import Window as Interval
from store.influx import InfluxStore
from store.sql import Recorded, Registry, RuleResult, RuleResults

log = logging.getLogger(__name__)

WindowRule = WindowMeanRule | AqiRule


@dataclass(frozen=True, slots=True)
class InForce:
    """A window rule in force, with the rule set it comes from."""

    rule: WindowRule
    rule_set: RuleSet

    @property
    def metrics(self) -> tuple[str, ...]:
        """The metrics the rule reads."""
        return (self.rule.metric,) if isinstance(self.rule, WindowMeanRule) else AQI_METRICS

    def windows(self, window: RegulatoryWindow) -> tuple[RegulatoryWindow, ...]:
        """The windows whose means judging ``window`` takes: the previous too for AQI."""
        return (window,) if isinstance(self.rule, WindowMeanRule) else (window, window.previous())


def window_rules(rule_sets: Iterable[RuleSet]) -> tuple[list[InForce], list[str]]:
    """The enabled window rules of ``rule_sets``, and the ids an earlier file already used."""
    wanted: dict[str, InForce] = {}
    conflicts: list[str] = []
    for rule_set in rule_sets:
        for rule in rule_set.rules:
            if not isinstance(rule, WindowMeanRule | AqiRule):
                continue
            if rule.id in wanted:
                conflicts.append(
                    f"{rule_set.path}: rule {rule.id}: id: used by another rule file "
                    "already; this rule is not in force"
                )
                continue
            wanted[rule.id] = InForce(rule, rule_set)
    return list(wanted.values()), conflicts


class WindowEvaluator:
    """Evaluates window rules over closed windows and records their results.

    ``site_filter`` keeps the sites this worker owns when N workers share the sites (by a hash
    of the site id); every site when ``None``.
    """

    def __init__(
        self,
        influx: InfluxStore,
        results: RuleResults,
        registry: Registry,
        *,
        site_filter: Callable[[str], bool] | None = None,
        hours_per_query: int = 6,
    ) -> None:
        self.source = MinuteSource(influx, hours_per_query=hours_per_query)
        self._results = results
        self._registry = registry
        self._site_filter = site_filter
        self.conflicts: list[str] = []

    def evaluate(
        self, jobs: Iterable[WindowJob], rule_sets: Iterable[RuleSet], *, now_ms: int
    ) -> list[Recorded]:
        """Evaluate ``jobs`` and record the results; ``now_ms`` is only the recording time.

        Raises:
            InfluxError: InfluxDB failed; nothing was recorded.
            SQLAlchemyError: the SQL store failed.
        """
        results = self.compute(jobs, rule_sets)
        recorded = self._results.record(results, now=utc(now_ms))
        log.info(
            "window rules: %d results, %d changed", len(recorded), sum(r.changed for r in recorded)
        )
        return recorded

    def compute(self, jobs: Iterable[WindowJob], rule_sets: Iterable[RuleSet]) -> list[RuleResult]:
        """The results of ``jobs``, in window, rule and site order, without recording them."""
        rules, conflicts = window_rules(rule_sets)
        if conflicts != self.conflicts:
            for conflict in conflicts:
                log.error("%s", conflict)
            self.conflicts = conflicts
        work = _work(jobs, rules)
        if not work:
            return []
        sites = {
            site_id: site
            for site_id, site in site_placements(self._registry.placements().values()).items()
            if self._site_filter is None or self._site_filter(site_id)
        }
        hours: dict[str, dict[int, Interval]] = {}
        for window, in_force in work:
            for metric in in_force.metrics:
                for needed in in_force.windows(window):
                    hours.setdefault(metric, {}).update((h.start_ms, h) for h in needed.hours())
        tables = {
            metric: self.source.site_hours(metric, needed.values(), sites=sites.keys())
            for metric, needed in sorted(hours.items())
        }
        means = _Means(tables)
        return [
            _judge(in_force, window, site, means)
            for window, in_force in work
            for site in sites.values()
            if site.within(in_force.rule.scope)
        ]


def _work(
    jobs: Iterable[WindowJob], rules: list[InForce]
) -> list[tuple[RegulatoryWindow, InForce]]:
    """Each (window, rule) to evaluate once, by window, then in rule file order."""
    chosen: dict[tuple[RegulatoryWindow, str], tuple[RegulatoryWindow, InForce]] = {}
    for job in jobs:
        for in_force in rules:
            if in_force.rule.window.value == job.window.size and job.wants(in_force.metrics):
                chosen[job.window, in_force.rule.id] = (job.window, in_force)
    order = {in_force.rule.id: n for n, in_force in enumerate(rules)}
    return sorted(chosen.values(), key=lambda w: (w[0], order[w[1].rule.id]))


def _judge(
    in_force: InForce, window: RegulatoryWindow, site: SitePlacement, means: "_Means"
) -> RuleResult:
    rule, rule_set = in_force.rule, in_force.rule_set
    if isinstance(rule, WindowMeanRule):
        mean = means.of(rule.metric, window, site.site)
        return window_mean_result(rule, rule_set, window, site, mean)
    previous = window.previous()
    return aqi_result(
        rule,
        rule_set,
        window,
        site,
        means={metric: means.of(metric, window, site.site) for metric in AQI_METRICS},
        previous={metric: means.of(metric, previous, site.site) for metric in AQI_METRICS},
    )


class _Means:
    """Site means of one run, each computed once from the hours read."""

    def __init__(self, tables: dict[str, HourTable]) -> None:
        self._tables = tables
        self._computed: dict[tuple[str, RegulatoryWindow, str], SiteMean] = {}

    def of(self, metric: str, window: RegulatoryWindow, site: str) -> SiteMean:
        """The hourly or daily mean of ``metric`` at ``site`` over ``window``."""
        key = (metric, window, site)
        found = self._computed.get(key)
        if found is None:
            found = self._compute(metric, window, site)
            self._computed[key] = found
        return found

    def _compute(self, metric: str, window: RegulatoryWindow, site: str) -> SiteMean:
        table = self._tables.get(metric, {})
        hourly = validity_for(metric, Averaging.HOUR)
        hours = [
            table.get(h.start_ms, {}).get(site) or empty_hour(h, hourly) for h in window.hours()
        ]
        if window.size == "hour":
            return hours[0]
        return daily_mean(hours, window.local_day, validity_for(metric, Averaging.DAY))
