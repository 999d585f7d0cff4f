"""Window rules: regulatory hourly and daily means, and the AQI, over closed windows.

The pure core computes; the rest reads InfluxDB and records results:

- :mod:`~rules.windows.means`: a site's hourly value from its devices' one-minute aggregates
  and its daily value from the hours, under GB 3095-2012 Table 4 validity;
- :mod:`~rules.windows.limits`: the limit in force: permit, then the rule's, then GB 3095's;
- :mod:`~rules.windows.judge` and :mod:`~rules.windows.aqi`: a ``window_mean`` or ``aqi``
  rule's result for one site and window;
- :mod:`~rules.windows.periods` and :mod:`~rules.windows.sites`: windows in Asia/Shanghai,
  sites from the registry's gateway placements;
- :mod:`~rules.windows.source`: minute aggregates of all sites at once from InfluxDB;
- :mod:`~rules.windows.evaluator`: jobs in, results recorded (:class:`WindowEvaluator`);
- :mod:`~rules.windows.scheduler`: which windows are due, late data, sweeps
  (:class:`WindowScheduler`), for the rules service to call.

The semantics are in ``docs/rules.md``, "Window rules".
"""

from rules.windows.aqi import AQI_METRICS, aqi_result, site_aqi
from rules.windows.evaluator import InForce, WindowEvaluator, window_rules
from rules.windows.judge import judge_mean, window_mean_result
from rules.windows.limits import LimitInForce, limit_in_force, version_policy
from rules.windows.means import (
    MinuteAggregate,
    SiteDay,
    SiteHour,
    daily_mean,
    empty_hour,
    hourly_mean,
    validity_for,
)
from rules.windows.periods import RegulatoryWindow, WindowJob
from rules.windows.scheduler import WindowScheduler
from rules.windows.sites import SitePlacement, site_placements
from rules.windows.source import MinuteSource

__all__ = [
    "AQI_METRICS",
    "InForce",
    "LimitInForce",
    "MinuteAggregate",
    "MinuteSource",
    "RegulatoryWindow",
    "SiteDay",
    "SiteHour",
    "SitePlacement",
    "WindowEvaluator",
    "WindowJob",
    "WindowScheduler",
    "aqi_result",
    "daily_mean",
    "empty_hour",
    "hourly_mean",
    "judge_mean",
    "limit_in_force",
    "site_aqi",
    "site_placements",
    "validity_for",
    "version_policy",
    "window_mean_result",
    "window_rules",
]
