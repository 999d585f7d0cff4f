"""A site's series at a resolution, its latest values, and its hourly and daily AQI."""

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import AwareDatetime, BaseModel, Field

from api.air import AQI_METRICS, SiteWindow, local_days, site_days
from api.deps import InfluxDep, RegistryDep, SettingsDep
from api.errors import STORE_UNAVAILABLE
from api.queries import checked_window, epoch_ms, known_metric, utc
from api.security import CurrentPrincipal, visible_site
from api.series import Aggregate, Resolution, aligned_window, resolution_series
from standards.windows import local_datetime
from store.series import latest_values
from telemetry import CATALOG

router = APIRouter(tags=["readings"], responses=STORE_UNAVAILABLE)

_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    401: {"description": "not signed in"},
    404: {"description": "no such site, or not the caller's enterprise's"},
    422: {"description": "bad query"},
}
# The widest window per resolution beyond raw (which has the max_raw_window_days setting): a
# year of minutes is half a million points, three years of hours 26,000.
_MAX_DAYS = {Resolution.MINUTE: 31, Resolution.HOUR: 3 * 366, Resolution.DAY: 10 * 366}
# HJ 633 hourly windows of a month are 744; a quarter of days reads 130,000 minutes per metric.
MAX_AQI_DAYS = {"hour": 31, "day": 92}
# How far back the latest value of a metric is looked for.
LATEST_WITHIN = timedelta(days=7)


class PointOut(BaseModel):
    """One point: a raw reading, or the statistic of one period."""

    ts: int = Field(description="UTC epoch ms: the reading's time, or the period's start")
    time: datetime = Field(description="the same instant in UTC")
    value: float
    count: int | None = Field(default=None, description="device samples behind the point")
    device: str | None = Field(default=None, description="raw only: the device")
    quality: str | None = Field(default=None, description="raw only: HJ 212-2017 data flag")


class SeriesOut(BaseModel):
    """A metric's series at a site, oldest first, over the window widened to whole periods."""

    site: str
    metric: str
    unit: str
    resolution: Resolution
    agg: Aggregate
    start: datetime
    end: datetime
    points: list[PointOut]


@router.get("/sites/{site_id}/series", responses=_NOT_FOUND)
def get_site_series(  # noqa: PLR0913 - one parameter per query field
    site_id: str,
    *,
    principal: CurrentPrincipal,
    influx: InfluxDep,
    registry: RegistryDep,
    settings: SettingsDep,
    metric: Annotated[str, Query(description="metric id from the catalog, e.g. pm25")],
    start: Annotated[
        AwareDatetime | None, Query(description="inclusive; default end - 24 h")
    ] = None,
    end: Annotated[AwareDatetime | None, Query(description="exclusive; default now")] = None,
    resolution: Resolution = Resolution.HOUR,
    agg: Aggregate = Aggregate.MEAN,
    device: Annotated[str | None, Query(description="only this device")] = None,
) -> SeriesOut:
    """``metric`` at the site from the store holding ``resolution`` (day: local calendar days)."""
    known_metric(metric)
    max_days = (
        settings.max_raw_window_days if resolution is Resolution.RAW else _MAX_DAYS[resolution]
    )
    start_ms, end_ms = checked_window(
        start,
        end,
        default=timedelta(hours=24),
        max_days=max_days,
        what=f"a {resolution.value} series",
    )
    visible_site(registry, principal, site_id)
    start_ms, end_ms = aligned_window(resolution, start_ms, end_ms)
    points = resolution_series(
        influx,
        site=site_id,
        metric_id=metric,
        resolution=resolution,
        aggregate=agg,
        start_ms=start_ms,
        end_ms=end_ms,
        device=device,
    )
    return SeriesOut(
        site=site_id,
        metric=metric,
        unit=CATALOG[metric].unit,
        resolution=resolution,
        agg=agg,
        start=utc(start_ms),
        end=utc(end_ms),
        points=[
            PointOut(
                ts=p.ts,
                time=utc(p.ts),
                value=p.value,
                count=p.count,
                device=p.device,
                quality=p.quality,
            )
            for p in points
        ],
    )


class LatestOut(BaseModel):
    """The newest reading of one metric at a site, with the device that took it."""

    metric: str
    unit: str
    ts: int
    time: datetime
    value: float
    device: str
    quality: str
    interval: str = Field(description="raw, or the aggregate's interval length (60s)")


class SiteLatest(BaseModel):
    """The newest reading of each metric at a site within the last seven days."""

    site: str
    metrics: list[LatestOut]


@router.get("/sites/{site_id}/latest", responses=_NOT_FOUND)
def get_site_latest(
    site_id: str, *, principal: CurrentPrincipal, influx: InfluxDep, registry: RegistryDep
) -> SiteLatest:
    """Each metric's newest reading at the site; of several devices, the newest one wins."""
    visible_site(registry, principal, site_id)
    since = epoch_ms(datetime.now(UTC) - LATEST_WITHIN)
    newest: dict[str, LatestOut] = {}
    for value in latest_values(influx, site=site_id, since_ms=since):
        current = newest.get(value.metric)
        if current is None or value.ts > current.ts:
            newest[value.metric] = LatestOut(
                metric=value.metric,
                unit=CATALOG[value.metric].unit,
                ts=value.ts,
                time=utc(value.ts),
                value=value.value,
                device=value.device,
                quality=value.quality.value,
                interval=value.interval,
            )
    return SiteLatest(site=site_id, metrics=[newest[m] for m in sorted(newest)])


class MeanOut(BaseModel):
    """A pollutant's mean over the window under GB 3095-2012 Table 4."""

    value: float | None = Field(description="null: insufficient data")
    valid: bool
    count: int = Field(description="minute values (hour) or hourly values (day) used")
    lower_bound: bool = Field(description="over-range (T) values make it a lower bound")
    reason: str


class AqiWindowOut(BaseModel):
    """The AQI of one clock hour or calendar day (HJ 633-2012)."""

    start: datetime = Field(description="first instant, Asia/Shanghai time")
    end: datetime
    aqi: int | None = Field(description="null: no pollutant had a valid mean")
    beyond_table: bool = Field(description="the AQI is above 500 and printed capped")
    category: str | None = Field(description="HJ 633-2012 Table 2 category, in Chinese")
    category_en: str | None
    colour: str | None
    primary: list[str]
    standard: str | None
    means: dict[str, MeanOut]


class SiteAqi(BaseModel):
    """A site's AQI per window, oldest first."""

    site: str
    resolution: str
    windows: list[AqiWindowOut]


@router.get("/sites/{site_id}/aqi", responses=_NOT_FOUND)
def get_site_aqi(  # noqa: PLR0913 - one parameter per query field
    site_id: str,
    *,
    principal: CurrentPrincipal,
    influx: InfluxDep,
    registry: RegistryDep,
    resolution: Annotated[str, Query(pattern="^(hour|day)$")] = "hour",
    start: Annotated[
        AwareDatetime | None, Query(description="inclusive; default end - 24 h")
    ] = None,
    end: Annotated[AwareDatetime | None, Query(description="exclusive; default now")] = None,
) -> SiteAqi:
    """Hourly or daily AQI of the site from its PM2.5 and PM10 means (HJ 633-2012)."""
    start_ms, end_ms = checked_window(
        start,
        end,
        default=timedelta(hours=24),
        max_days=MAX_AQI_DAYS[resolution],
        what=f"{'an hourly' if resolution == 'hour' else 'a daily'} AQI series",
    )
    visible_site(registry, principal, site_id)
    hourly, daily = site_days(influx, site=site_id, days=local_days(start_ms, end_ms))
    if resolution == "day":
        windows = daily
    else:
        windows = [w for w in hourly if w.window.end_ms > start_ms and w.window.start_ms < end_ms]
    return SiteAqi(site=site_id, resolution=resolution, windows=[_window_out(w) for w in windows])


def _window_out(window: SiteWindow) -> AqiWindowOut:
    result = window.aqi
    return AqiWindowOut(
        start=local_datetime(window.window.start_ms),
        end=local_datetime(window.window.end_ms),
        aqi=None if result is None else result.value,
        beyond_table=False if result is None else result.beyond_table,
        category=None if result is None else result.category.name_zh,
        category_en=None if result is None else result.category.name_en,
        colour=None if result is None else result.category.colour_hex,
        primary=[] if result is None else [p.value for p in result.primary_pollutants],
        standard=None if result is None else result.version,
        means={
            metric: MeanOut(
                value=mean.value,
                valid=mean.valid,
                count=mean.count,
                lower_bound=mean.lower_bound,
                reason=mean.reason,
            )
            for metric, mean in window.means.items()
            if metric in AQI_METRICS
        },
    )
