"""Data completeness of a gateway: minutes received against minutes expected, per local day."""

from datetime import UTC, date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import BaseModel, Field

from api.completeness import gateway_days
from api.deps import InfluxDep, RegistryDep
from api.errors import STORE_UNAVAILABLE
from api.queries import check_days, epoch_ms
from api.security import CurrentPrincipal, visible_gateway
from standards.windows import local_date

router = APIRouter(tags=["readings"], responses=STORE_UNAVAILABLE)

MAX_DAYS = 92  # a quarter; each day is 24 hourly counts per device and metric


class SeriesDayOut(BaseModel):
    """One device and metric of the gateway on the day."""

    device: str
    metric: str
    received: int
    expected: int


class DayOut(BaseModel):
    """The gateway's minutes on one Asia/Shanghai calendar day."""

    day: date
    received: int = Field(description="minutes with a one-minute aggregate, all series")
    expected: int = Field(description="minutes due: 1440 (today: so far) per series seen")
    completeness: float | None = Field(description="received / expected; null: none expected")
    series: list[SeriesDayOut]


class GatewayCompleteness(BaseModel):
    """A gateway's completeness per day, oldest first."""

    gateway: str
    start: date
    end: date
    days: list[DayOut]


@router.get(
    "/gateways/{gateway_id}/completeness",
    responses={
        401: {"description": "not signed in"},
        404: {"description": "no such gateway, or not the caller's enterprise's"},
        422: {"description": "bad query"},
    },
)
def get_gateway_completeness(  # noqa: PLR0913 - one parameter per query field
    gateway_id: str,
    *,
    principal: CurrentPrincipal,
    influx: InfluxDep,
    registry: RegistryDep,
    start: Annotated[
        date | None, Query(description="first local day; default end - 6 days")
    ] = None,
    end: Annotated[
        date | None, Query(description="last local day, included; default today")
    ] = None,
) -> GatewayCompleteness:
    """Minutes received and expected per local day of ``[start, end]``."""
    now = datetime.now(UTC)
    end = end or local_date(epoch_ms(now))
    check_days(end)  # before subtracting from it: date(1, 1, 1) has no day before
    start = start or end - timedelta(days=6)
    check_days(start)
    if start > end:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "start must not be after end")
    if (end - start).days + 1 > MAX_DAYS:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"a completeness report covers at most {MAX_DAYS} days",
        )
    visible_gateway(registry, principal, gateway_id)
    days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
    result = gateway_days(influx, gateway=gateway_id, days=days, now_ms=epoch_ms(now))
    return GatewayCompleteness(
        gateway=gateway_id,
        start=start,
        end=end,
        days=[
            DayOut(
                day=day.day,
                received=day.received,
                expected=day.expected,
                completeness=day.ratio,
                series=[
                    SeriesDayOut(
                        device=s.device, metric=s.metric, received=s.received, expected=s.expected
                    )
                    for s in day.series
                ],
            )
            for day in result
        ],
    )
