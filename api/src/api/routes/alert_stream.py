"""The live stream of alert events: Server-Sent Events over the audit trail.

The rules service is another process, so the stream polls the ``alert_events`` table every
``stream_poll_s``. Each event's ``id:`` is its audit row id: a client that reconnects with
``Last-Event-ID`` gets every event after it, and one without starts at the newest. A comment
line every ``stream_keepalive_s`` keeps proxies from closing a quiet connection. An
enterprise's caller gets only its own alerts' events.

On PostgreSQL a row with a lower id can commit after one with a higher id (two writers), so
each poll looks back :data:`LOOKBACK` ids below the newest it sent and sends what it had not.
"""

import json
from collections.abc import AsyncIterator
from typing import Annotated, Final

import anyio
from fastapi import APIRouter, Header, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from api.deps import AlertViewsDep, SettingsDep
from api.routes.alert_models import EventOut
from api.security import CurrentPrincipal
from store.sql import AlertEventView, AlertViews

router = APIRouter(tags=["alerts"])

LOOKBACK: Final = 100
MEDIA_TYPE: Final = "text/event-stream"


@router.get(
    "/alerts/events",
    response_class=StreamingResponse,
    responses={
        200: {"content": {MEDIA_TYPE: {}}, "description": "an endless stream of alert events"},
        401: {"description": "not signed in"},
    },
)
async def alert_events(
    request: Request,
    principal: CurrentPrincipal,
    views: AlertViewsDep,
    settings: SettingsDep,
    last_event_id: Annotated[int | None, Header(ge=0)] = None,
) -> StreamingResponse:
    """Alert events as they are written; resume after ``Last-Event-ID``."""
    enterprise = principal.enterprise
    if last_event_id is None:
        last_event_id = await run_in_threadpool(views.last_event_id, enterprise=enterprise)
    stream = _events(
        request,
        views,
        enterprise=enterprise,
        after=last_event_id,
        poll_s=settings.stream_poll_s,
        keepalive_s=settings.stream_keepalive_s,
    )
    return StreamingResponse(
        stream,
        media_type=MEDIA_TYPE,
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _events(  # noqa: PLR0913 - the stream's whole state, keyword-only
    request: Request,
    views: AlertViews,
    *,
    enterprise: str | None,
    after: int,
    poll_s: float,
    keepalive_s: float,
) -> AsyncIterator[str]:
    floor = after  # the client has everything up to here
    newest = after
    sent: set[int] = set()
    quiet_s = 0.0
    yield f"retry: {int(poll_s * 1000)}\n\n"
    while not await request.is_disconnected():
        since = max(floor, newest - LOOKBACK)
        found = await run_in_threadpool(views.events_after, since, enterprise=enterprise)
        fresh = [view for view in found if view.event.id not in sent]
        for view in fresh:
            yield _frame(view)
            sent.add(view.event.id)
            newest = max(newest, view.event.id)
        sent = {event_id for event_id in sent if event_id > newest - LOOKBACK}
        if fresh:
            quiet_s = 0.0
        elif quiet_s >= keepalive_s:
            yield ": keep-alive\n\n"
            quiet_s = 0.0
        await anyio.sleep(poll_s)
        quiet_s += poll_s


def _frame(view: AlertEventView) -> str:
    """One SSE event: ``id`` the audit row, ``event`` its action, ``data`` one line of JSON."""
    data = EventOut.of(view.event).model_dump(mode="json")
    data["alert"] = {
        "rule": view.rule,
        "subject": view.subject,
        "severity": view.severity,
        "enterprise": view.enterprise,
        "site": view.site,
    }
    return f"id: {view.event.id}\nevent: {view.event.action}\ndata: {json.dumps(data)}\n\n"
