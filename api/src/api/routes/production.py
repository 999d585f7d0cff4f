"""Production output an enterprise submits: the denominator of its energy intensity.

``POST /enterprises/{enterprise}/production`` records a day's or a month's output (local
calendar, Asia/Shanghai) in the enterprise's unit; ``GET`` lists the figures. An enterprise's
users submit for their own enterprise, bureau admins for any; bureau viewers only read
(docs/api.md, "Production submissions"). A second submission for the same period is a
correction: it replaces the figure, and the figure keeps who submitted it last and when
(:class:`store.sql.ProductionStore` keeps the latest figure only, not its history).
"""

from datetime import UTC, date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from api.deps import RegistryDep
from api.security import CurrentPrincipal, Responder, visible_enterprise
from standards.windows import local_zone
from store.sql import NotFoundError, ProductionPeriod, ProductionRecord, ProductionStore
from store.sql.models import UNIT_LENGTH
from store.sql.production import NOTE_LENGTH, InvalidSubmissionError, SubmitOutcome

router = APIRouter(tags=["production"])

MAX_LIST_DAYS = 3 * 366  # the widest listing: three years of figures

_RESPONSES: dict[int | str, dict[str, str]] = {
    401: {"description": "not signed in"},
    403: {"description": "the caller's role may not do this"},
    404: {"description": "no such enterprise, or not the caller's"},
    422: {"description": "bad body or query"},
}


def _production(request: Request) -> ProductionStore:
    return ProductionStore(request.app.state.engine)


ProductionDep = Annotated[ProductionStore, Depends(_production)]


class ProductionBody(BaseModel):
    """One figure: what the enterprise produced over a local day, or a month (its 1st)."""

    model_config = ConfigDict(extra="forbid")

    period: ProductionPeriod
    period_start: date = Field(description="the local day; for a month, its 1st")
    quantity: float = Field(ge=0, allow_inf_nan=False)
    unit: str = Field(min_length=1, max_length=UNIT_LENGTH, pattern=r"\S")
    comment: str = Field(default="", max_length=NOTE_LENGTH)


class ProductionOut(BaseModel):
    """A recorded figure; ``submitted_by`` and ``submitted_at`` are of its latest submission."""

    enterprise: str
    period: ProductionPeriod
    period_start: date
    period_end: date = Field(description="the first day after the period")
    quantity: float
    unit: str
    comment: str
    submitted_at: datetime
    submitted_by: str | None

    @classmethod
    def of(cls, record: ProductionRecord) -> "ProductionOut":
        """The figure as the API shows it."""
        return cls(
            enterprise=record.enterprise_id,
            period=record.period,
            period_start=record.period_start,
            period_end=record.period_end,
            quantity=record.quantity,
            unit=record.unit,
            comment=record.note,
            submitted_at=record.submitted_at,
            submitted_by=record.submitted_by,
        )


class SubmissionOut(BaseModel):
    """What a submission did (``created``, ``replaced``, ``unchanged``) and the figure now."""

    outcome: SubmitOutcome
    figure: ProductionOut


class ProductionList(BaseModel):
    """Figures whose period starts in ``[since, until)``, by period start (days before months)."""

    since: date
    until: date
    items: list[ProductionOut]


def _unprocessable(message: str) -> HTTPException:
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, message)


@router.post(
    "/enterprises/{enterprise_id}/production",
    responses={
        **_RESPONSES,
        201: {"description": "the first figure of its period", "model": SubmissionOut},
    },
)
def submit_production(  # noqa: PLR0913 - the route's request parts and stores
    *,
    enterprise_id: str,
    body: ProductionBody,
    principal: Responder,
    registry: RegistryDep,
    production: ProductionDep,
    response: Response,
) -> SubmissionOut:
    """Record a figure, or correct the one of the same period (answer 201 when it is new)."""
    today = datetime.now(UTC).astimezone(local_zone()).date()
    if body.period_start > today:
        raise _unprocessable(f"period_start: {body.period_start} is in the future")
    if body.period is ProductionPeriod.MONTH and body.period_start.day != 1:
        raise _unprocessable("period_start: a month's figure starts on the 1st")
    # The unit is checked against the enterprise's figures: only within the boundary.
    visible_enterprise(registry, principal, enterprise_id)
    unit = body.unit.strip()
    _check_unit(production, enterprise_id, body, unit)
    try:
        submitted = production.submit(
            enterprise_id,
            body.period,
            body.period_start,
            body.quantity,
            unit,
            submitted_at=datetime.now(UTC),
            submitted_by=str(principal.actor),
            note=body.comment,
        )
    except InvalidSubmissionError as error:
        raise _unprocessable(f"{error.field}: {error.why}") from None
    except NotFoundError:  # removed from the registry meanwhile
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no enterprise {enterprise_id!r}") from None
    if submitted.outcome is SubmitOutcome.CREATED:
        response.status_code = status.HTTP_201_CREATED
    return SubmissionOut(outcome=submitted.outcome, figure=ProductionOut.of(submitted.record))


@router.get(
    "/enterprises/{enterprise_id}/production",
    responses={k: v for k, v in _RESPONSES.items() if k != 403},
)
def list_production(  # noqa: PLR0913 - one parameter per query field
    *,
    enterprise_id: str,
    principal: CurrentPrincipal,
    registry: RegistryDep,
    production: ProductionDep,
    since: Annotated[date | None, Query(description="inclusive; default a year before")] = None,
    until: Annotated[date | None, Query(description="exclusive; default tomorrow")] = None,
    period: ProductionPeriod | None = None,
) -> ProductionList:
    """The enterprise's figures whose period starts in ``[since, until)``, of one kind or both."""
    until = until or datetime.now(UTC).astimezone(local_zone()).date() + timedelta(days=1)
    since = since or until - timedelta(days=366)
    if since >= until:
        raise _unprocessable("since must be before until")
    if (until - since).days > MAX_LIST_DAYS:
        raise _unprocessable(f"at most {MAX_LIST_DAYS} days at once")
    visible_enterprise(registry, principal, enterprise_id)
    records = production.list(enterprise_id, since, until)
    items = [ProductionOut.of(r) for r in records if period is None or r.period is period]
    return ProductionList(since=since, until=until, items=items)


def _check_unit(
    production: ProductionStore, enterprise_id: str, body: ProductionBody, unit: str
) -> None:
    """Refuse a unit other than that of the enterprise's other figures of the same year.

    The year's energy intensity divides by the sum of the year's figures
    (:func:`store.sql.output_total`), which cannot add two units. The rule files, not the
    store, hold the targets, so the figures already recorded are what says the unit.
    """
    year = body.period_start.year
    others = {
        r.unit
        for r in production.list(enterprise_id, date(year, 1, 1), date(year + 1, 1, 1))
        if (r.period, r.period_start) != (body.period, body.period_start)
    }
    if others and unit not in others:
        raise _unprocessable(
            f"unit: {year}'s other figures are in {', '.join(sorted(others))}, not {unit!r}"
        )
