"""Readings of a site: raw series of one metric within a time window."""

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AwareDatetime, BaseModel, Field

from api.deps import InfluxDep, RegistryDep, SettingsDep
from api.errors import STORE_UNAVAILABLE
from api.queries import checked_window, known_metric, utc
from api.security import CurrentPrincipal, visible_site
from store.readings import site_series
from telemetry import CATALOG, Quality

router = APIRouter(tags=["readings"], responses=STORE_UNAVAILABLE)

_DEFAULT_WINDOW = timedelta(hours=24)


class ReadingOut(BaseModel):
    """One reading as stored."""

    ts: int = Field(description="UTC epoch milliseconds, as taken at the source")
    time: datetime = Field(description="the same instant as an ISO 8601 UTC time")
    device: str
    value: float = Field(description="the sample, or the mean of an aggregate")
    quality: Quality = Field(description="HJ 212-2017 data flag")
    interval: str = Field(
        description="raw for a sample as read; the interval length (60s) for an aggregate"
        " over the clock interval starting at ts"
    )
    min: float | None = None
    max: float | None = None
    count: int | None = None
    valid: bool | None = Field(
        default=None, description="aggregates: enough samples arrived in the interval"
    )


class SiteReadings(BaseModel):
    """A metric's readings at a site, oldest first."""

    site: str
    metric: str
    unit: str
    start: datetime
    end: datetime
    readings: list[ReadingOut]


@router.get(
    "/sites/{site_id}/readings",
    responses={
        401: {"description": "not signed in"},
        404: {"description": "no such site, or not the caller's enterprise's"},
        422: {"description": "bad query"},
    },
)
def get_site_readings(  # noqa: PLR0913 - one parameter per query field
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
    device: Annotated[str | None, Query(description="only this device's readings")] = None,
    interval: Annotated[
        str | None,
        Query(
            pattern=r"^(raw|[0-9]+(\.[0-9]+)?s)$",
            description="only raw samples (raw) or only aggregates of this length (60s)",
        ),
    ] = None,
) -> SiteReadings:
    """Raw readings of ``metric`` at the site within ``[start, end)``."""
    known_metric(metric)
    start_ms, end_ms = checked_window(
        start,
        end,
        default=_DEFAULT_WINDOW,
        max_days=settings.max_raw_window_days,
        what="a raw series",
    )
    visible_site(registry, principal, site_id)
    rows = site_series(
        influx,
        site=site_id,
        metric_id=metric,
        start_ms=start_ms,
        end_ms=end_ms,
        device=device,
        interval=interval,
    )
    return SiteReadings(
        site=site_id,
        metric=metric,
        unit=CATALOG[metric].unit,
        start=utc(start_ms),
        end=utc(end_ms),
        readings=[
            ReadingOut(
                ts=row.ts,
                time=datetime.fromtimestamp(row.ts / 1000, UTC),
                device=row.device,
                value=row.value,
                quality=row.quality,
                interval=row.interval,
                min=row.min,
                max=row.max,
                count=row.count,
                valid=row.valid,
            )
            for row in rows
        ],
    )
