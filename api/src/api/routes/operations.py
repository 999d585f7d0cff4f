"""Operations: the gateways' health and what ingest refused, for the bureau only.

``GET /gateway-health`` and ``/gateways/{gateway}/health`` read the registry and the health
the rules service stored within the lookback ``gateway_health_lookback_s``
(:mod:`api.gateway_health`); ``GET /dead-letters`` and ``/dead-letters/{id}`` read
:class:`store.sql.DeadLetterStore`. Bureau viewers and admins read them; an enterprise's
caller gets 403 on every one of them, whatever the id (docs/api.md, "Operations").
"""

import base64
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from pydantic import AwareDatetime, BaseModel

from api.deps import InfluxDep, PageBefore, RegistryDep, RowId, SettingsDep
from api.errors import STORE_UNAVAILABLE
from api.gateway_health import GatewayHealth, GatewayState, SpoolReport, read_health
from api.security import allow
from api.security.principal import Principal
from store.sql import DeadLetterRecord, DeadLetterStore, Placement, Role, UnknownGatewayError

router = APIRouter(tags=["operations"])

BureauReader = Annotated[Principal, Depends(allow(Role.BUREAU_ADMIN, Role.BUREAU_VIEWER))]

_RESPONSES: dict[int | str, dict[str, str]] = {
    401: {"description": "not signed in"},
    403: {"description": "not a bureau caller"},
}


def _dead_letters(request: Request) -> DeadLetterStore:
    return DeadLetterStore(request.app.state.engine)


DeadLettersDep = Annotated[DeadLetterStore, Depends(_dead_letters)]


class SpoolOut(BaseModel):
    """The spool of the newest report that had one (``at``): what waits for the platform."""

    at: datetime
    batches: int
    readings: int
    in_flight: int
    oldest_unacked_s: float
    dropped_raw: int
    dropped_aggregate: int
    dropped_batches: int

    @classmethod
    def of(cls, spool: SpoolReport) -> "SpoolOut":
        """The report as the API shows it."""
        return cls(
            at=spool.at,
            batches=spool.batches,
            readings=spool.readings,
            in_flight=spool.in_flight,
            oldest_unacked_s=spool.oldest_unacked_s,
            dropped_raw=spool.dropped_raw,
            dropped_aggregate=spool.dropped_aggregate,
            dropped_batches=spool.dropped_batches,
        )


class GatewayOut(BaseModel):
    """A gateway, where it stands, and its newest health."""

    gateway: str
    site: str
    enterprise: str
    park: str | None
    county: str
    state: GatewayState
    last_seen: datetime | None
    uptime_s: float | None
    clock_synced: bool | None
    devices: int | None
    devices_ok: int | None
    spool: SpoolOut | None

    @classmethod
    def of(cls, placement: Placement, health: GatewayHealth) -> "GatewayOut":
        """The gateway as the API shows it."""
        return cls(
            gateway=placement.gateway,
            site=placement.site,
            enterprise=placement.enterprise,
            park=placement.park,
            county=placement.county,
            state=health.state,
            last_seen=health.last_seen,
            uptime_s=health.uptime_s,
            clock_synced=health.clock_synced,
            devices=health.devices,
            devices_ok=health.devices_ok,
            spool=None if health.spool is None else SpoolOut.of(health.spool),
        )


class GatewayList(BaseModel):
    """Gateways by id."""

    items: list[GatewayOut]


class DeadLetterOut(BaseModel):
    """A refused message or reading, without its payload."""

    id: int
    received_at: datetime
    reason: str
    detail: str
    topic: str
    gateway: str | None
    seq: int | None
    reading_index: int | None
    payload_bytes: int

    @classmethod
    def of(cls, letter: DeadLetterRecord) -> "DeadLetterOut":
        """The letter as the API lists it."""
        return cls(
            id=letter.id or 0,
            received_at=letter.received_at,
            reason=letter.reason,
            detail=letter.detail,
            topic=letter.topic,
            gateway=letter.gateway,
            seq=letter.seq,
            reading_index=letter.reading_index,
            payload_bytes=len(letter.payload),
        )


class DeadLetterDetail(DeadLetterOut):
    """A letter with the payload as received: text when it is UTF-8, else base64."""

    payload: str
    payload_encoding: Literal["utf-8", "base64"]


class DeadLetterList(BaseModel):
    """Letters, newest first; pass ``next_before`` as ``before`` for the next page."""

    items: list[DeadLetterOut]
    next_before: int | None


@router.get("/gateway-health", responses={**_RESPONSES, **STORE_UNAVAILABLE})
def list_gateway_health(
    _principal: BureauReader,
    registry: RegistryDep,
    influx: InfluxDep,
    settings: SettingsDep,
    enterprise: str | None = None,
    state: GatewayState | None = None,
) -> GatewayList:
    """Every gateway of the registry with its status, last seen time and spool."""
    placements = sorted(registry.placements().values(), key=lambda p: p.gateway)
    if enterprise is not None:
        placements = [p for p in placements if p.enterprise == enterprise]
    lookback_s = settings.gateway_health_lookback_s
    health = read_health(influx, [p.gateway for p in placements], lookback_s=lookback_s)
    items = [GatewayOut.of(p, health[p.gateway]) for p in placements]
    return GatewayList(items=[i for i in items if state is None or i.state is state])


@router.get(
    "/gateways/{gateway_id}/health",
    responses={**_RESPONSES, 404: {"description": "no such gateway"}, **STORE_UNAVAILABLE},
)
def gateway_health(
    gateway_id: str,
    _principal: BureauReader,
    registry: RegistryDep,
    influx: InfluxDep,
    settings: SettingsDep,
) -> GatewayOut:
    """One gateway's status, last seen time and spool."""
    try:
        placement = registry.placement(gateway_id)
    except UnknownGatewayError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no gateway {gateway_id!r}") from None
    health = read_health(influx, [gateway_id], lookback_s=settings.gateway_health_lookback_s)
    return GatewayOut.of(placement, health[gateway_id])


@router.get("/dead-letters", responses={**_RESPONSES, 422: {"description": "bad query"}})
def list_dead_letters(  # noqa: PLR0913 - one parameter per query field
    *,
    _principal: BureauReader,
    letters: DeadLettersDep,
    reason: str | None = None,
    gateway: str | None = None,
    received_from: Annotated[AwareDatetime | None, Query(description="inclusive")] = None,
    received_until: Annotated[AwareDatetime | None, Query(description="exclusive")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    before: PageBefore = None,
) -> DeadLetterList:
    """What ingest refused, newest first, a page at a time (keyed by id)."""
    if received_from and received_until and received_from >= received_until:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, "received_from must be before received_until"
        )
    page = letters.page(
        reason=reason,
        gateway=gateway,
        received_from=received_from,
        received_until=received_until,
        before=before,
        limit=limit + 1,
    )
    items = [DeadLetterOut.of(letter) for letter in page[:limit]]
    return DeadLetterList(items=items, next_before=items[-1].id if len(page) > limit else None)


@router.get(
    "/dead-letters/{letter_id}",
    responses={**_RESPONSES, 404: {"description": "no such dead letter"}},
)
def get_dead_letter(
    letter_id: RowId, _principal: BureauReader, letters: DeadLettersDep
) -> DeadLetterDetail:
    """One letter with its payload as received."""
    letter = letters.letter(letter_id)
    if letter is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no dead letter {letter_id}")
    try:
        payload, encoding = letter.payload.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        payload, encoding = base64.b64encode(letter.payload).decode("ascii"), "base64"
    summary = DeadLetterOut.of(letter)
    return DeadLetterDetail(
        **summary.model_dump(),
        payload=payload,
        payload_encoding="utf-8" if encoding == "utf-8" else "base64",
    )
