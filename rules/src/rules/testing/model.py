"""What a rule test file says: placements, input series, evaluation times and expectations.

A test file (YAML, see ``rules/examples/liaocheng.test.yaml``) names the rule files it tests
(relative to itself), where each gateway stands, and the tests. Every test has a time origin
(``start``, with its UTC offset) from which series, status messages, evaluation times and
expectations are measured, as offsets such as ``90s``, ``12m``, ``1h30m`` or ``-5m``, or as
absolute times with an offset. Unknown keys are errors, as in rule files.

Expectations compare only the fields they give; ``value: null`` asks for a result without a
value. What each field is compared with is listed in ``docs/rules.md``, "Testing rules offline".
"""

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated, Literal, Self

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    model_validator,
)

from rules.model import Identifier, MetricId
from rules.testing.series import parse_series
from standards import day_bounds, hour_window
from telemetry.payload import MAX_TS_MS, MIN_TS_MS

_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}


def _timedelta(value: object) -> timedelta:
    """``1h30m`` (or ``-5m``, ``0``, a number of seconds) as a timedelta."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(seconds=value)
    if isinstance(value, str):
        text = value.strip()
        sign, body = (-1, text[1:]) if text.startswith("-") else (1, text)
        parts = _PART.findall(body)
        if parts and "".join(n + u for n, u in parts) == body:
            ms = sum(float(number) * _UNIT_MS[unit] for number, unit in parts)
            return timedelta(milliseconds=sign * ms)
    raise ValueError("a duration such as 90s, 12m or 1h30m")


def _span(value: object) -> timedelta:
    found = _timedelta(value)
    if found <= timedelta(0):
        raise ValueError("a duration greater than zero")
    return found


def _offset(value: object) -> timedelta:
    found = _timedelta(value)
    if found < timedelta(0):
        raise ValueError("an offset from the test's start, not before it")
    return found


def _moment(value: object) -> timedelta | datetime:
    """An offset from the test's start, or an absolute time with its UTC offset."""
    if isinstance(value, str) and "T" in value:
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("an absolute time needs its UTC offset, e.g. +08:00")
        return value
    return _timedelta(value)


Span = Annotated[timedelta, PlainValidator(_span)]
Offset = Annotated[timedelta, PlainValidator(_offset)]
Moment = Annotated[timedelta | datetime, PlainValidator(_moment)]


def moment_ms(moment: timedelta | datetime, start_ms: int) -> int:
    """A moment as epoch milliseconds, for a test starting at ``start_ms``."""
    if isinstance(moment, datetime):
        return round(moment.timestamp() * 1000)
    return start_ms + moment // timedelta(milliseconds=1)


@dataclass(frozen=True, slots=True)
class WindowRef:
    """A regulatory window an expectation names: a local day, or a local clock hour."""

    size: Literal["hour", "day"]
    start_ms: int
    label: str


def _window_ref(value: object) -> WindowRef:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
        except ValueError:
            raise ValueError("a local day (2026-11-26) or hour (2026-11-26T08:00+08:00)") from None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("an hour needs its UTC offset: 2026-11-26T08:00+08:00")
        ms = round(value.timestamp() * 1000)
        hour = hour_window(ms)
        if hour.start_ms != ms:
            raise ValueError("an hour window starts on the hour")
        return WindowRef("hour", ms, hour.start.isoformat(timespec="minutes"))
    if isinstance(value, date):
        return WindowRef("day", day_bounds(value).start_ms, value.isoformat())
    raise ValueError("a local day (2026-11-26) or hour (2026-11-26T08:00+08:00)")


def _checked_series(text: str) -> str:
    parse_series(text)  # raises SeriesSyntaxError, a ValueError, with the column
    return text


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Where(_Strict):
    """Where a gateway stands, as the registry would place it."""

    county: Identifier
    park: Identifier | None = None
    enterprise: Identifier
    site: Identifier


class SeriesSpec(_Strict):
    """One device's metric over time, in the compact notation of :mod:`rules.testing.series`."""

    gateway: Identifier
    device: Identifier
    metric: MetricId
    values: Annotated[str, AfterValidator(_checked_series)]
    # Aggregates over clock intervals of this many seconds, stamped with the interval's start;
    # omitted: raw samples. Window rules read the 60 s aggregates, as in InfluxDB.
    interval_s: Annotated[float, Field(gt=0, le=86_400)] | None = None
    interval: Span | None = None  # spacing of the values; the test's when absent
    offset: Offset = timedelta(0)  # where the first value stands after the test's start
    valid: bool | None = None  # aggregates: enough samples in the interval (None: not said)
    unsynced: bool = False  # stamped while the gateway's clock was not synchronised

    @model_validator(mode="after")
    def _valid_is_for_aggregates(self) -> Self:
        if self.valid is not None and self.interval_s is None:
            raise ValueError("valid is a flag of aggregates: give interval_s too")
        return self


class ProductionSpec(_Strict):
    """A production figure, as an enterprise would submit it to the SQL store's production table."""

    enterprise: Identifier
    period: Literal["day", "month"]
    period_start: date  # a local calendar day; the 1st for a month
    quantity: Annotated[float, Field(ge=0)]
    unit: Annotated[str, Field(min_length=1)]

    @model_validator(mode="after")
    def _month_starts_on_the_first(self) -> Self:
        if self.period == "month" and self.period_start.day != 1:
            raise ValueError("a month's period_start is its 1st day")
        return self


class DailySpec(_Strict):
    """A site's valid PM daily values, one a local day from ``start``: what annual targets read.

    Stands for what :func:`rules.annual_means.read_site_days` returns for the site: ``_`` is a
    day without a valid daily value. Data flags are not allowed: a daily value has none.
    """

    site: Identifier
    metric: Literal["pm25", "pm10"]
    start: date  # the local day of the first value
    values: Annotated[str, AfterValidator(_checked_series)]

    @model_validator(mode="after")
    def _no_flags(self) -> Self:
        if any(s.quality.value != "N" for s in parse_series(self.values)):
            raise ValueError("daily values carry no data flag: write 40, not M:40")
        return self


class StatusSpec(_Strict):
    """A gateway's status message: its birth (``online``) or last will (``offline``)."""

    gateway: Identifier
    at: Moment
    state: Literal["online", "offline"]


class ExpectedResult(_Strict):
    """A result the rules must give: a stream episode's firing or resolution, or any result."""

    rule: str
    subject: str | None = None
    outcome: str | None = None
    at: Moment | None = None  # when the engine gave it (stream results only)
    start: Moment | None = None  # window_start: when the episode began
    end: Moment | None = None  # window_end: when it resolved
    value: float | None = None
    limit: float | None = None
    severity: str | None = None
    evidence: dict[str, object] | None = None  # these keys, with these values (a subset)


class ExpectedWindow(_Strict):
    """A window result the rules must give: a site's hourly or daily figure and its validity."""

    rule: str
    site: Identifier | None = None
    window: Annotated[WindowRef, PlainValidator(_window_ref)]
    outcome: str | None = None
    value: float | None = None
    limit: float | None = None
    standard: str | None = None
    category: str | None = None  # AQI rules: the category's key, e.g. lightly_polluted
    count: Annotated[int, Field(ge=0)] | None = None  # values in the mean
    valid_minutes: Annotated[int, Field(ge=0, le=60)] | None = None  # an hour's count
    valid_hours: Annotated[int, Field(ge=0, le=24)] | None = None  # a day's count
    excluded: dict[str, int] | None = None  # values left out, by data flag
    missing: Annotated[int, Field(ge=0)] | None = None
    evidence: dict[str, object] | None = None

    @model_validator(mode="after")
    def _count_fits_the_window(self) -> Self:
        if self.valid_hours is not None and self.window.size != "day":
            raise ValueError("valid_hours counts a day's hours; an hour has valid_minutes")
        if self.valid_minutes is not None and self.window.size != "hour":
            raise ValueError("valid_minutes counts an hour's minutes; a day has valid_hours")
        return self


class RuleTestCase(_Strict):
    """One test: input over time, when to evaluate, and what must come of it."""

    name: Annotated[str, Field(min_length=1)]
    start: AwareDatetime
    interval: Span = timedelta(minutes=1)
    rules: list[str] | None = None  # the rules in force; every rule of the files when absent
    series: list[SeriesSpec] = []
    status: list[StatusSpec] = []
    watch: list[Identifier] = []  # gateways expected to send, though they have no series
    eval_at: list[Moment] = []
    production: list[ProductionSpec] = []  # submitted output, for energy_intensity rules
    daily: list[DailySpec] = []  # sites' PM daily values, for annual_target rules
    as_of: date | None = None  # annual_target rules: the closed local day the year is judged at
    expect_results: list[ExpectedResult] = []
    expect_windows: list[ExpectedWindow] = []
    allow_extra: bool = (
        False  # firing, exceeding or projected_miss results nobody expected do not fail
    )

    @model_validator(mode="after")
    def _start_a_reading_may_have(self) -> Self:
        if not MIN_TS_MS <= self.start_ms < MAX_TS_MS:
            raise ValueError("start must lie between 2000 and 2100, as reading times do")
        return self

    @property
    def start_ms(self) -> int:
        """The time origin as epoch milliseconds."""
        return round(self.start.timestamp() * 1000)


class RuleTestFile(_Strict):
    """A test file: the rule files under test, the placements, the tests."""

    rule_files: Annotated[list[str], Field(min_length=1)]
    placements: dict[Identifier, Where] = {}
    tests: Annotated[list[RuleTestCase], Field(min_length=1)]

    @model_validator(mode="after")
    def _unique_names(self) -> Self:
        names = [test.name for test in self.tests]
        for name in names:
            if names.count(name) > 1:
                raise ValueError(f"test name {name!r} is used twice")
        return self
