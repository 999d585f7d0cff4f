"""What a rule file says: scopes, permits and the rule kinds, as strict pydantic models.

A rule file (YAML, see ``rules/examples/liaocheng.yaml``)::

    version: "2026.1"          # optional; the engine records it with the file's content hash
    grade: II                  # GB 3095-2012 area class of the sites (I: nature reserves)
    permits:                   # limits of one enterprise or site, overriding the standard's
      - {scope: {site: site-hengtong-east}, metric: pm10, window: day, limit: 120,
         effective_from: 2026-01-01, reference: "permit 91371500MA3C"}
    rules:
      - {id: pm25-spike, kind: threshold, metric: pm25, above: 150, for: 10m, clear_below: 115}
      - {id: pm25-daily, kind: window_mean, metric: pm25, window: day}

Every rule has an ``id`` (unique in its file), a ``kind``, a ``scope`` (all sites unless it
names a county, park, enterprise or site), a ``severity`` and ``enabled``. Durations are written
``30s``, ``10m``, ``2h`` or ``1d``. Unknown keys are errors: they are usually typos.
"""

import re
from datetime import date
from enum import StrEnum
from typing import Annotated, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)

from standards import GB_T_2589_2020_COEFFICIENTS, HJ_633_2012_AQI, AqiCategory, Carrier
from telemetry import CATALOG, MetricKind
from telemetry.topics import IDENTIFIER_PATTERN

Identifier = Annotated[str, Field(pattern=f"^{IDENTIFIER_PATTERN}$")]

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(s|m|h|d)$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _seconds(value: object) -> object:
    """``10m`` → 600.0; numbers are seconds already."""
    if isinstance(value, str):
        match = _DURATION.match(value.strip())
        if match is None:
            raise ValueError("a duration such as 30s, 10m, 2h or 1d")
        return float(match.group(1)) * _UNIT_S[match.group(2)]
    return value


Duration = Annotated[float, BeforeValidator(_seconds), Field(ge=0)]


def _known_metric(value: str) -> str:
    if value not in CATALOG:
        raise ValueError(f"{value!r} is not in the telemetry catalog")
    return value


MetricId = Annotated[str, BeforeValidator(_known_metric)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Scope(_Strict):
    """Where a rule or permit applies: every site, or those of a county, park, enterprise, site."""

    county: Identifier | None = None
    park: Identifier | None = None
    enterprise: Identifier | None = None
    site: Identifier | None = None

    def matches(self, *, county: str, park: str | None, enterprise: str, site: str) -> bool:
        """Whether a site so placed is in this scope (every named level must agree)."""
        return (
            (self.county is None or self.county == county)
            and (self.park is None or self.park == park)
            and (self.enterprise is None or self.enterprise == enterprise)
            and (self.site is None or self.site == site)
        )

    @property
    def specificity(self) -> int:
        """0 for every site up to 4 for one site: the most specific permit wins."""
        for rank, level in ((4, self.site), (3, self.enterprise), (2, self.park), (1, self.county)):
            if level is not None:
                return rank
        return 0


class Severity(StrEnum):
    """How urgent a rule's alert is."""

    INFO = "info"
    WARNING = "warning"
    MAJOR = "major"
    CRITICAL = "critical"


class Window(StrEnum):
    """Regulatory averaging windows, calendar-aligned in Asia/Shanghai time."""

    HOUR = "hour"
    DAY = "day"
    MONTH = "month"
    YEAR = "year"


class Permit(_Strict):
    """A limit set for one enterprise or site (its emission permit), in force for a period."""

    scope: Scope
    metric: MetricId
    window: Window
    limit: Annotated[float, Field(ge=0)]
    effective_from: date
    effective_until: date | None = None  # the last day in force; open-ended when absent
    reference: str = ""  # the permit's number or document

    @model_validator(mode="after")
    def _names_an_enterprise_or_site(self) -> Self:
        if self.scope.enterprise is None and self.scope.site is None:
            raise ValueError("a permit's scope names an enterprise or a site")
        if self.effective_until is not None and self.effective_until < self.effective_from:
            raise ValueError("effective_until is before effective_from")
        return self

    def in_force(self, day: date) -> bool:
        """Whether the permit applies on ``day`` (a local calendar day)."""
        return self.effective_from <= day and (
            self.effective_until is None or day <= self.effective_until
        )


class _Rule(_Strict):
    id: Identifier
    description: str = ""
    scope: Scope = Scope()
    severity: Severity = Severity.WARNING
    enabled: bool = True


class ThresholdRule(_Rule):
    """A metric above (or below) a level for ``for`` seconds fires; it clears past ``clear_*``.

    The clear level gives hysteresis: a value wavering around the limit neither fires nor
    resolves on every reading. Without one, the rule clears where it fires.
    """

    kind: Literal["threshold"]
    metric: MetricId
    above: float | None = None
    below: float | None = None
    hold_s: Duration = Field(default=0.0, alias="for")
    clear_below: float | None = None  # with ``above``
    clear_above: float | None = None  # with ``below``
    source: Literal["any", "raw", "aggregate"] = "any"  # samples, interval aggregates, or both

    @model_validator(mode="after")
    def _one_direction(self) -> Self:
        if (self.above is None) == (self.below is None):
            raise ValueError("give exactly one of above and below")
        if self.above is not None:
            if self.clear_above is not None:
                raise ValueError("clear_above goes with below; use clear_below")
            if self.clear_below is not None and self.clear_below > self.above:
                raise ValueError("clear_below must not be above the firing level")
        if self.below is not None:
            if self.clear_below is not None:
                raise ValueError("clear_below goes with above; use clear_above")
            if self.clear_above is not None and self.clear_above < self.below:
                raise ValueError("clear_above must not be below the firing level")
        return self


class WindowMeanRule(_Rule):
    """A clock-hour or calendar-day mean against the limit in force (GB 3095 or a permit).

    ``limit`` overrides the standard for every site in scope; permits override both.
    """

    kind: Literal["window_mean"]
    metric: MetricId
    window: Literal[Window.HOUR, Window.DAY]
    limit: Annotated[float, Field(ge=0)] | None = None


def aqi_category_key(category: AqiCategory) -> str:
    """A category as rule files name it: ``Moderately polluted`` → ``moderately_polluted``."""
    return category.name_en.lower().replace(" ", "_")


# HJ 633-2012 Table 2; the reported 2026 revision keeps the categories (standards.aqi_tables).
AQI_CATEGORY_KEYS = tuple(aqi_category_key(c) for c in HJ_633_2012_AQI.categories)


def _aqi_category(value: str) -> str:
    if value not in AQI_CATEGORY_KEYS:
        raise ValueError(f"an AQI category, one of {', '.join(AQI_CATEGORY_KEYS)}")
    return value


class AqiRule(_Rule):
    """Hourly or daily AQI per site (HJ 633).

    Every window's AQI is a result; categories from ``alert_from`` (e.g. ``lightly_polluted``)
    upwards are exceedances.
    """

    kind: Literal["aqi"]
    window: Literal[Window.HOUR, Window.DAY]
    alert_from: Annotated[str, AfterValidator(_aqi_category)] = "moderately_polluted"


class NoDataRule(_Rule):
    """No reading from a device (or a gateway) for ``for`` seconds."""

    kind: Literal["no_data"]
    subject: Literal["device", "gateway"] = "device"
    hold_s: Duration = Field(alias="for")


class GatewayOfflineRule(_Rule):
    """A gateway's status topic says ``offline`` (its last will) for ``for`` seconds."""

    kind: Literal["gateway_offline"]
    hold_s: Duration = Field(default=0.0, alias="for")


class FlatlineRule(_Rule):
    """The same value (within ``tolerance``) from one device for ``for`` seconds: a stuck sensor."""

    kind: Literal["flatline"]
    metric: MetricId
    hold_s: Duration = Field(alias="for")
    tolerance: Annotated[float, Field(ge=0)] = 0.0


class OutOfRangeRule(_Rule):
    """A value outside its metric's physically valid range (the catalog's): a faulty device.

    Ingest keeps such readings out of InfluxDB; this rule sees them on the stream and says so.
    """

    kind: Literal["out_of_range"]
    metrics: list[MetricId] | None = None  # None: every metric


class PmOrderRule(_Rule):
    """PM2.5 greater than PM10 from the same sensor at the same time: physically impossible."""

    kind: Literal["pm25_above_pm10"]
    tolerance: Annotated[float, Field(ge=0)] = 0.0  # µg/m³ of measurement noise allowed


def _delta_metric(value: str) -> str:
    if CATALOG[value].kind is not MetricKind.DELTA:
        raise ValueError(f"{value!r} is not an interval metric (an amount per interval, *_delta)")
    return value


DeltaMetricId = Annotated[MetricId, AfterValidator(_delta_metric)]


def _carrier(value: str) -> str:
    if value not in set(Carrier):
        raise ValueError(f"a GB/T 2589 energy carrier: {', '.join(Carrier)}")
    return value


class EnergyIntensityRule(_Rule):
    """Energy per unit of output (kgce per unit) of an enterprise over a day or month.

    Consumption comes from the meters' interval deltas, converted with the GB/T 2589 coefficient
    of ``carrier``; output is what the enterprise submitted, or ``output_metric`` counted. The
    intensity is compared with ``target``.
    """

    kind: Literal["energy_intensity"]
    window: Literal[Window.DAY, Window.MONTH]
    metric: DeltaMetricId = "energy_import_delta"
    carrier: Annotated[str, AfterValidator(_carrier)] = "electricity"
    output_metric: DeltaMetricId | None = None  # None: production the enterprise submitted
    target: Annotated[float, Field(gt=0)]  # kgce per unit of output

    @model_validator(mode="after")
    def _metric_in_the_carriers_unit(self) -> Self:
        coefficient = GB_T_2589_2020_COEFFICIENTS.get(Carrier(self.carrier))
        unit = CATALOG[self.metric].unit
        if coefficient is not None and coefficient.unit != unit:
            raise ValueError(f"{self.metric} is in {unit}, {self.carrier} in {coefficient.unit}")
        return self


class Point(_Strict):
    """A year and the value then."""

    year: Annotated[int, Field(ge=2000, le=2100)]
    value: Annotated[float, Field(ge=0)]


class AnnualTargetRule(_Rule):
    """The year-to-date value against the path from a baseline to a target.

    The value is projected to the year's end; the rule warns when the projection misses the
    path's value for the year by more than ``margin``.
    """

    kind: Literal["annual_target"]
    metric: Literal["pm25", "pm10", "energy_intensity"]
    level: Literal["site", "park", "county", "city", "enterprise"] = "site"
    baseline: Point
    target: Point
    margin: Annotated[float, Field(ge=0)] = 0.0  # allowed excess over the path before warning

    @model_validator(mode="after")
    def _target_after_baseline(self) -> Self:
        if self.target.year <= self.baseline.year:
            raise ValueError("the target year must come after the baseline year")
        if self.metric == "energy_intensity" and self.level != "enterprise":
            raise ValueError("energy_intensity is a target of an enterprise (level: enterprise)")
        return self


Rule = Annotated[
    ThresholdRule
    | WindowMeanRule
    | AqiRule
    | NoDataRule
    | GatewayOfflineRule
    | FlatlineRule
    | OutOfRangeRule
    | PmOrderRule
    | EnergyIntensityRule
    | AnnualTargetRule,
    Field(discriminator="kind"),
]

STREAM_KINDS = frozenset(
    {"threshold", "no_data", "gateway_offline", "flatline", "out_of_range", "pm25_above_pm10"}
)


class RuleFile(_Strict):
    """One rule file: its rules, the permits they respect, and the area class of the sites."""

    version: str | None = None
    grade: Literal["I", "II"] = "II"
    draft_standards: bool = False  # use revisions marked unconfirmed (GB 3095-2026 as reported)
    permits: list[Permit] = []
    rules: list[Rule] = []

    @model_validator(mode="after")
    def _unique_ids(self) -> Self:
        seen: set[str] = set()
        for rule in self.rules:
            if rule.id in seen:
                raise ValueError(f"rule id {rule.id!r} is used twice")
            seen.add(rule.id)
        return self
