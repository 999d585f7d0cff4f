"""Alerts: the list, one alert with its evidence and audit trail, and what people do to them.

Who may do what (docs/api.md): everyone signed in reads, within the enterprise boundary;
an enterprise's users and bureau admins acknowledge and comment; bureau admins assign and
close; bureau viewers only read. Every action is written to the audit trail under the
caller's own name. An action the alert's state does not allow is 409.
"""

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from api.deps import AccountsDep, AlertsDep, AlertViewsDep, PageBefore, RowId
from api.routes.alert_models import AlertDetail, AlertList, AlertOut, EventOut
from api.security import (
    BureauAdmin,
    CurrentPrincipal,
    OutsideBoundaryError,
    Responder,
    enterprise_in_scope,
    visible_alert,
)
from store.sql import (
    AccountNotFoundError,
    AlertFilter,
    AlertNotFoundError,
    AlertRecord,
    AlertState,
    ForbiddenActionError,
    InvalidAlertInputError,
    InvalidTransitionError,
)
from store.sql.alert_states import COMMENT_LENGTH

router = APIRouter(tags=["alerts"])

_ACTION_RESPONSES: dict[int | str, dict[str, str]] = {
    401: {"description": "not signed in"},
    403: {"description": "the caller's role may not do this"},
    404: {"description": "no such alert, or not the caller's enterprise's"},
    409: {"description": "the alert's state does not allow this"},
    422: {"description": "bad body"},
}


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CommentBody(_Body):
    """A remark that goes into the audit trail."""

    comment: str = Field(min_length=1, max_length=COMMENT_LENGTH, pattern=r"\S")


class AssignBody(_Body):
    """Whom the alert goes to: a bureau user's username, or null for no one."""

    assignee: str | None
    comment: str | None = Field(default=None, min_length=1, max_length=COMMENT_LENGTH)


class CloseBody(_Body):
    """Why the alert is finished."""

    comment: str | None = Field(default=None, min_length=1, max_length=COMMENT_LENGTH)


@router.get("/alerts", responses={401: {"description": "not signed in"}})
def list_alerts(  # noqa: PLR0913 - one parameter per query field
    *,
    principal: CurrentPrincipal,
    views: AlertViewsDep,
    state: AlertState | None = None,
    severity: str | None = None,
    enterprise: str | None = None,
    park: str | None = None,
    site: str | None = None,
    rule: str | None = None,
    opened_from: Annotated[AwareDatetime | None, Query(description="inclusive")] = None,
    opened_until: Annotated[AwareDatetime | None, Query(description="exclusive")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    before: PageBefore = None,
) -> AlertList:
    """Alerts, newest first, a page at a time; an enterprise's caller sees only its own."""
    if opened_from and opened_until and opened_from >= opened_until:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, "opened_from must be before opened_until"
        )
    try:
        scope = enterprise_in_scope(principal, enterprise)
    except OutsideBoundaryError:
        return AlertList(items=[], next_before=None)
    where = AlertFilter(state, severity, scope, park, site, rule, opened_from, opened_until)
    page = views.page(where, limit=limit, before=before)
    return AlertList(
        items=[AlertOut.of(alert) for alert in page.alerts], next_before=page.next_before
    )


@router.get(
    "/alerts/{alert_id}",
    responses={401: {"description": "not signed in"}, 404: _ACTION_RESPONSES[404]},
)
def get_alert(alert_id: RowId, principal: CurrentPrincipal, alerts: AlertsDep) -> AlertDetail:
    """One alert: its evidence, the rule and standard versions, the limit, its audit trail."""
    alert = visible_alert(alerts, principal, alert_id)
    return AlertDetail.of_with(alert, [EventOut.of(event) for event in alerts.events(alert_id)])


@router.post("/alerts/{alert_id}/acknowledge", responses=_ACTION_RESPONSES)
def acknowledge(
    alert_id: RowId, body: CommentBody, principal: Responder, alerts: AlertsDep
) -> AlertOut:
    """The alert is seen: what the enterprise is doing about it goes in the comment."""
    visible_alert(alerts, principal, alert_id)
    return _act(lambda: alerts.acknowledge(alert_id, principal.actor, body.comment))


@router.post("/alerts/{alert_id}/comment", responses=_ACTION_RESPONSES)
def comment(
    alert_id: RowId, body: CommentBody, principal: Responder, alerts: AlertsDep
) -> AlertOut:
    """A remark on the record, in any state."""
    visible_alert(alerts, principal, alert_id)
    return _act(lambda: alerts.comment(alert_id, principal.actor, body.comment))


@router.post("/alerts/{alert_id}/assign", responses=_ACTION_RESPONSES)
def assign(
    alert_id: RowId,
    body: AssignBody,
    principal: BureauAdmin,
    alerts: AlertsDep,
    accounts: AccountsDep,
) -> AlertOut:
    """Give the alert to a bureau user, or (``assignee`` null) to no one."""
    visible_alert(alerts, principal, alert_id)
    if body.assignee is not None:
        try:
            assignee = accounts.user(body.assignee)
        except AccountNotFoundError:
            assignee = None
        if assignee is None or assignee.enterprise is not None:
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT,
                f"assignee: no bureau user {body.assignee!r}",
            )
    return _act(
        lambda: alerts.assign(alert_id, principal.actor, body.assignee, comment=body.comment)
    )


@router.post("/alerts/{alert_id}/close", responses=_ACTION_RESPONSES)
def close(alert_id: RowId, body: CloseBody, principal: BureauAdmin, alerts: AlertsDep) -> AlertOut:
    """Finish the alert, in any state but closed; it never reopens."""
    visible_alert(alerts, principal, alert_id)
    return _act(lambda: alerts.close(alert_id, principal.actor, comment=body.comment))


def _act(action: Callable[[], AlertRecord]) -> AlertOut:
    """Run a store action, turning its typed errors into HTTP answers."""
    try:
        return AlertOut.of(action())
    except AlertNotFoundError as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no alert {error.alert_id}") from None
    except InvalidTransitionError as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from None
    except ForbiddenActionError as error:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(error)) from None
    except InvalidAlertInputError as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(error)) from None
