"""The registry, written by bureau admins: enterprises, sites, gateways and their credentials.

Creating a gateway registers it and issues its MQTT account in one transaction: both or
neither. The password is in the answer once and kept nowhere (the store holds its hash). The
broker learns of it when its files are rewritten (:mod:`api.broker_sync`), which the answer
reports. Rotating (``POST /gateways/{id}/credentials``) works the same way; moving a gateway
(``PATCH``) retags its readings from then on; an enterprise is renamed and a site renamed
or located with ``PATCH`` too. A duplicate id is 409; a parent that does not
exist (county, park, enterprise, site) is 422 naming it; a malformed value is 422.
"""

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from api.broker_sync import BrokerFilesOut, apply_broker_accounts
from api.deps import RegistryDep, SettingsDep
from api.registry_views import RegistryViewsDep
from api.routes.registry import EnterpriseOut, GatewayOut, SiteOut
from api.security import BureauAdmin
from api.security.boundary import not_found
from store.broker import Credential, InvalidAccountError, issue_gateway_account
from store.sql import (
    DuplicateError,
    NotFoundError,
    RegistryError,
    UnknownGatewayError,
)
from store.sql.models import IDENTIFIER_LENGTH

router = APIRouter(tags=["registry"])

_WRITE_RESPONSES: dict[int | str, dict[str, str]] = {
    401: {"description": "not signed in"},
    403: {"description": "only bureau admins write the registry"},
    409: {"description": "a record with this id exists"},
    422: {"description": "a bad value, or a parent that does not exist"},
}
_Id = Annotated[str, Field(min_length=1, max_length=IDENTIFIER_LENGTH)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EnterpriseIn(_Body):
    """A new enterprise, in a park of its county or standing alone."""

    id: _Id
    name: str
    name_zh: str | None = None
    county: _Id
    park: _Id | None = None


class SiteIn(_Body):
    """A new site of an enterprise, with its WGS 84 coordinates (both or neither)."""

    id: _Id
    name: str
    enterprise: _Id
    latitude: float | None = Field(default=None, ge=-90.0, le=90.0)
    longitude: float | None = Field(default=None, ge=-180.0, le=180.0)


class EnterpriseChange(_Body):
    """New names of an enterprise; what is left out stays."""

    name: str | None = None
    name_zh: str | None = None


class SiteChange(_Body):
    """A site's new name or WGS 84 coordinates (both together); what is left out stays."""

    name: str | None = None
    latitude: float | None = Field(default=None, ge=-90.0, le=90.0)
    longitude: float | None = Field(default=None, ge=-180.0, le=180.0)


class GatewayIn(_Body):
    """A new gateway, placed at a site; its id is its MQTT username and topic level."""

    id: _Id
    site: _Id


class GatewayMove(_Body):
    """The site a gateway now stands at."""

    site: _Id


class GatewayCredentials(BaseModel):
    """A gateway's MQTT username and password: shown this once, kept nowhere."""

    gateway: GatewayOut
    username: str
    password: str
    broker_files: BrokerFilesOut


def _engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


EngineDep = Annotated[Engine, Depends(_engine)]


def refused(error: RegistryError) -> HTTPException:
    """The answer to a registry write it refused: 409 for a duplicate, else 422 naming why."""
    if isinstance(error, DuplicateError):
        return HTTPException(status.HTTP_409_CONFLICT, str(error))
    if isinstance(error, NotFoundError):
        return HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, f"unknown {error.kind} {error.identifier!r}"
        )
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(error))


@router.post("/enterprises", status_code=status.HTTP_201_CREATED, responses=_WRITE_RESPONSES)
def create_enterprise(
    body: EnterpriseIn, _admin: BureauAdmin, registry: RegistryDep
) -> EnterpriseOut:
    """Register an enterprise."""
    try:
        registry.add_enterprise(
            body.id, name=body.name, name_zh=body.name_zh, county_id=body.county, park_id=body.park
        )
    except RegistryError as error:
        raise refused(error) from None
    return EnterpriseOut.of(registry.get_enterprise(body.id))


@router.post("/sites", status_code=status.HTTP_201_CREATED, responses=_WRITE_RESPONSES)
def create_site(body: SiteIn, _admin: BureauAdmin, registry: RegistryDep) -> SiteOut:
    """Register a site of an enterprise."""
    try:
        registry.add_site(
            body.id,
            name=body.name,
            enterprise_id=body.enterprise,
            latitude=body.latitude,
            longitude=body.longitude,
        )
    except RegistryError as error:
        raise refused(error) from None
    return SiteOut.of(registry.get_site(body.id))


@router.patch(
    "/enterprises/{enterprise_id}",
    responses={**_WRITE_RESPONSES, 404: {"description": "no such enterprise"}},
)
def change_enterprise(
    enterprise_id: str, body: EnterpriseChange, _admin: BureauAdmin, registry: RegistryDep
) -> EnterpriseOut:
    """Rename an enterprise."""
    try:
        registry.update_enterprise(enterprise_id, name=body.name, name_zh=body.name_zh)
    except NotFoundError:
        raise not_found(f"enterprise {enterprise_id!r}") from None
    except RegistryError as error:
        raise refused(error) from None
    return EnterpriseOut.of(registry.get_enterprise(enterprise_id))


@router.patch(
    "/sites/{site_id}", responses={**_WRITE_RESPONSES, 404: {"description": "no such site"}}
)
def change_site(
    site_id: str, body: SiteChange, _admin: BureauAdmin, registry: RegistryDep
) -> SiteOut:
    """Rename a site or correct its coordinates."""
    if (body.latitude is None) != (body.longitude is None):
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, "give latitude and longitude together"
        )
    coordinates = None
    if body.latitude is not None and body.longitude is not None:
        coordinates = (body.latitude, body.longitude)
    try:
        registry.update_site(site_id, name=body.name, coordinates=coordinates)
    except NotFoundError:
        raise not_found(f"site {site_id!r}") from None
    except RegistryError as error:
        raise refused(error) from None
    return SiteOut.of(registry.get_site(site_id))


@router.post("/gateways", status_code=status.HTTP_201_CREATED, responses=_WRITE_RESPONSES)
def create_gateway(
    body: GatewayIn,
    _admin: BureauAdmin,
    registry: RegistryDep,
    views: RegistryViewsDep,
    engine: EngineDep,
    settings: SettingsDep,
) -> GatewayCredentials:
    """Register a gateway at a site and issue its MQTT credentials, together."""

    def issue(session: Session) -> Credential:
        return issue_gateway_account(session, body.id)

    try:
        credential = registry.add_gateway_with(body.id, site_id=body.site, also=issue)
    except RegistryError as error:
        raise refused(error) from None
    except InvalidAccountError as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(error)) from None
    return _credentials(body.id, credential, views, engine, settings)


@router.post(
    "/gateways/{gateway_id}/credentials",
    responses={**_WRITE_RESPONSES, 404: {"description": "no such gateway"}},
)
def rotate_credentials(
    gateway_id: str,
    _admin: BureauAdmin,
    views: RegistryViewsDep,
    engine: EngineDep,
    settings: SettingsDep,
) -> GatewayCredentials:
    """Issue a new password for a gateway's MQTT account; the old one stops working."""
    try:
        credential = issue_gateway_account(engine, gateway_id)
    except UnknownGatewayError:
        raise not_found(f"gateway {gateway_id!r}") from None
    except InvalidAccountError as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(error)) from None
    return _credentials(gateway_id, credential, views, engine, settings)


@router.patch(
    "/gateways/{gateway_id}",
    responses={**_WRITE_RESPONSES, 404: {"description": "no such gateway"}},
)
def move_gateway(
    gateway_id: str,
    body: GatewayMove,
    _admin: BureauAdmin,
    registry: RegistryDep,
    views: RegistryViewsDep,
) -> GatewayOut:
    """Move a gateway to another site; its readings are tagged with the new one from now on."""
    try:
        registry.move_gateway(gateway_id, site_id=body.site)
    except UnknownGatewayError:
        raise not_found(f"gateway {gateway_id!r}") from None
    except RegistryError as error:
        raise refused(error) from None
    return GatewayOut.of(views.gateways(gateway_id=gateway_id)[0])


def _credentials(
    gateway_id: str,
    credential: Credential,
    views: RegistryViewsDep,
    engine: Engine,
    settings: SettingsDep,
) -> GatewayCredentials:
    return GatewayCredentials(
        gateway=GatewayOut.of(views.gateways(gateway_id=gateway_id)[0]),
        username=credential.username,
        password=credential.password,
        broker_files=apply_broker_accounts(engine, settings),
    )
