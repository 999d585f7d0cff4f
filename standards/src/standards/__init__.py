"""Regulation as code and data, pure and versioned.

Every regulatory number lives here once, as a record that names the edition it comes from, its
source table and the day it took effect, and every computed value says which edition it used:

- :mod:`standards.versions`: the editions (GB 3095-2012, HJ 633-2012, HJ 663-2013,
  GB/T 2589-2020, ...) and the :class:`VersionPolicy` that decides which may be used. The
  reported 2026 revisions ship as data but stay disabled until opted in.
- :mod:`standards.limits`: GB 3095 concentration limits and :func:`limit_for`.
- :mod:`standards.aqi_tables` and :mod:`standards.aqi`: HJ 633 breakpoints, categories and
  colours; IAQI and AQI with primary and exceeding pollutants.
- :mod:`standards.flags`: which HJ 212 flagged values may enter a mean.
- :mod:`standards.validity`: GB 3095 Table 4 validity rules, :func:`window_mean` and the O3
  daily maximum 8-hour mean.
- :mod:`standards.assessment`: annual means and HJ 663 percentiles.
- :mod:`standards.windows`: clock hours and calendar days in Asia/Shanghai from UTC epoch ms.
- :mod:`standards.energy`: GB/T 2589 coal-equivalent coefficients and energy indicators.
- :mod:`standards.targets`: target paths and year-end projections.

The HJ 212-2017 packet codec that ARCHITECTURE.md also places here is not written yet.

The package imports no other Lantian package, has no third-party dependency and does no I/O
(the time zone is read on first use). What is still to be checked against official texts is
listed in docs/standards.md and by :func:`standards.versions.to_verify`.
"""

from standards.aqi import AqiResult, SubIndex, aqi, aqi_category, iaqi
from standards.aqi_tables import (
    AQI_STANDARDS,
    HJ_633_2012_AQI,
    HJ_633_2026_AQI,
    IAQI_LEVELS,
    AqiCategory,
    AqiStandard,
    BreakpointTable,
    aqi_standard_for,
)
from standards.assessment import (
    ANNUAL,
    ANNUAL_TSP,
    ASSESSMENT_PERCENTILES,
    AnnualRule,
    annual_mean,
    annual_percentile,
    annual_rule_for,
    percentile,
)
from standards.energy import (
    GB_T_2589_2020_COEFFICIENTS,
    KJ_PER_KGCE,
    STEAM_LOW_PRESSURE_2008,
    Carrier,
    Coefficient,
    Conversion,
    EnergyTotal,
    comprehensive_consumption,
    energy_intensity,
    from_calorific_value,
    to_kgce,
    yoy_reduction_percent,
)
from standards.errors import (
    AmbiguousTableError,
    InvalidValueError,
    NoBreakpointsError,
    NoLimitError,
    StandardsError,
    SubstituteRequiredError,
    UnknownCarrierError,
    UnknownFlagError,
    UnknownVersionError,
)
from standards.flags import HJ212_FLAG_POLICY, OVER_RANGE, FlagTreatment, split_by_flag
from standards.limits import (
    GB_3095_2012_LIMITS,
    GB_3095_2026_LIMITS,
    LIMITS,
    Limit,
    limit_for,
    limits_in_force,
)
from standards.pollutants import MG_M3, UG_M3, Averaging, Grade, Pollutant, unit_of
from standards.targets import (
    LIAOCHENG_PM10_2017,
    LIAOCHENG_PM25_2017,
    Goal,
    Projection,
    TargetPath,
    assess_mean,
    assess_total,
    pm25_path,
    project_mean,
    project_total,
)
from standards.validity import (
    DAILY_MEAN,
    DAILY_MEAN_TSP,
    EIGHT_HOUR_MEAN,
    HOURLY_MEAN,
    O3_DAILY_MAX_8H,
    Outcome,
    ValidityRule,
    WindowResult,
    daily_max_8h,
    rule_for,
    window_mean,
)
from standards.versions import (
    DEFAULT_POLICY,
    REVISION_2026,
    VERSIONS,
    StandardVersion,
    VersionPolicy,
    VersionStatus,
    version,
)
from standards.windows import (
    REGULATORY_ZONE,
    Window,
    day_bounds,
    day_window,
    hour_index,
    hour_window,
    hours_of_day,
    local_date,
    local_datetime,
    month_bounds,
    month_window,
    year_bounds,
    year_window,
)

__all__ = [
    "ANNUAL",
    "ANNUAL_TSP",
    "AQI_STANDARDS",
    "ASSESSMENT_PERCENTILES",
    "DAILY_MEAN",
    "DAILY_MEAN_TSP",
    "DEFAULT_POLICY",
    "EIGHT_HOUR_MEAN",
    "GB_3095_2012_LIMITS",
    "GB_3095_2026_LIMITS",
    "GB_T_2589_2020_COEFFICIENTS",
    "HJ212_FLAG_POLICY",
    "HJ_633_2012_AQI",
    "HJ_633_2026_AQI",
    "HOURLY_MEAN",
    "IAQI_LEVELS",
    "KJ_PER_KGCE",
    "LIAOCHENG_PM10_2017",
    "LIAOCHENG_PM25_2017",
    "LIMITS",
    "MG_M3",
    "O3_DAILY_MAX_8H",
    "OVER_RANGE",
    "REGULATORY_ZONE",
    "REVISION_2026",
    "STEAM_LOW_PRESSURE_2008",
    "UG_M3",
    "VERSIONS",
    "AmbiguousTableError",
    "AnnualRule",
    "AqiCategory",
    "AqiResult",
    "AqiStandard",
    "Averaging",
    "BreakpointTable",
    "Carrier",
    "Coefficient",
    "Conversion",
    "EnergyTotal",
    "FlagTreatment",
    "Goal",
    "Grade",
    "InvalidValueError",
    "Limit",
    "NoBreakpointsError",
    "NoLimitError",
    "Outcome",
    "Pollutant",
    "Projection",
    "StandardVersion",
    "StandardsError",
    "SubIndex",
    "SubstituteRequiredError",
    "TargetPath",
    "UnknownCarrierError",
    "UnknownFlagError",
    "UnknownVersionError",
    "ValidityRule",
    "VersionPolicy",
    "VersionStatus",
    "Window",
    "WindowResult",
    "annual_mean",
    "annual_percentile",
    "annual_rule_for",
    "aqi",
    "aqi_category",
    "aqi_standard_for",
    "assess_mean",
    "assess_total",
    "comprehensive_consumption",
    "daily_max_8h",
    "day_bounds",
    "day_window",
    "energy_intensity",
    "from_calorific_value",
    "hour_index",
    "hour_window",
    "hours_of_day",
    "iaqi",
    "limit_for",
    "limits_in_force",
    "local_date",
    "local_datetime",
    "month_bounds",
    "month_window",
    "percentile",
    "pm25_path",
    "project_mean",
    "project_total",
    "rule_for",
    "split_by_flag",
    "to_kgce",
    "unit_of",
    "version",
    "window_mean",
    "year_bounds",
    "year_window",
    "yoy_reduction_percent",
]
