"""The registry, read: counties, parks, enterprises, sites, gateways; lists and details.

Everyone signed in reads. Counties and parks are the city's map and shown to all; an
enterprise's caller sees only its own enterprise, its sites and its gateways — lists hold
nothing else, and another enterprise's id answers 404 as an unknown one does
(:mod:`api.security.boundary`). Permits and targets live in the rule files (docs/rules.md) and
are shown, read-only, by :mod:`api.routes.in_force`. Writes are
:mod:`api.routes.registry_admin`'s.
"""

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel

from api.deps import RegistryDep
from api.registry_views import GatewayRow, RegistryViewsDep
from api.security import (
    CurrentPrincipal,
    OutsideBoundaryError,
    enterprise_in_scope,
    visible_enterprise,
    visible_gateway,
    visible_site,
)
from api.security.boundary import not_found
from store.sql import NotFoundError
from store.sql.records import CountyRecord, EnterpriseRecord, ParkRecord, SiteRecord

router = APIRouter(tags=["registry"])

_READ_RESPONSES: dict[int | str, dict[str, str]] = {
    401: {"description": "not signed in"},
    404: {"description": "no such record, or not the caller's enterprise's"},
}


class CountyOut(BaseModel):
    """A county-level district."""

    id: str
    name: str
    name_zh: str

    @classmethod
    def of(cls, county: CountyRecord) -> "CountyOut":
        """The answer for a stored record."""
        return cls(id=county.id, name=county.name, name_zh=county.name_zh)


class ParkOut(BaseModel):
    """An industrial park and its county."""

    id: str
    name: str
    name_zh: str
    county: str

    @classmethod
    def of(cls, park: ParkRecord) -> "ParkOut":
        """The answer for a stored record."""
        return cls(id=park.id, name=park.name, name_zh=park.name_zh, county=park.county_id)


class EnterpriseOut(BaseModel):
    """An enterprise, its park (null outside any) and its county."""

    id: str
    name: str
    name_zh: str | None
    park: str | None
    county: str

    @classmethod
    def of(cls, enterprise: EnterpriseRecord) -> "EnterpriseOut":
        """The answer for a stored record."""
        return cls(
            id=enterprise.id,
            name=enterprise.name,
            name_zh=enterprise.name_zh,
            park=enterprise.park_id,
            county=enterprise.county_id,
        )


class SiteOut(BaseModel):
    """A monitored site, with its WGS 84 coordinates when known."""

    id: str
    name: str
    enterprise: str
    latitude: float | None
    longitude: float | None

    @classmethod
    def of(cls, site: SiteRecord) -> "SiteOut":
        """The answer for a stored record."""
        return cls(
            id=site.id,
            name=site.name,
            enterprise=site.enterprise_id,
            latitude=site.latitude,
            longitude=site.longitude,
        )


class GatewayOut(BaseModel):
    """A gateway, where it stands (the tags its readings carry) and since when."""

    id: str
    site: str
    enterprise: str
    park: str | None
    county: str
    created_at: datetime

    @classmethod
    def of(cls, row: GatewayRow) -> "GatewayOut":
        """The answer for a stored record."""
        return cls(
            id=row.id,
            site=row.site,
            enterprise=row.enterprise,
            park=row.park,
            county=row.county,
            created_at=row.created_at,
        )


@router.get("/counties", responses={401: _READ_RESPONSES[401]})
def list_counties(_principal: CurrentPrincipal, views: RegistryViewsDep) -> list[CountyOut]:
    """Every county of the city."""
    return [CountyOut.of(county) for county in views.counties()]


@router.get("/counties/{county_id}", responses=_READ_RESPONSES)
def get_county(county_id: str, _principal: CurrentPrincipal, registry: RegistryDep) -> CountyOut:
    """One county."""
    try:
        return CountyOut.of(registry.get_county(county_id))
    except NotFoundError:
        raise not_found(f"county {county_id!r}") from None


@router.get("/parks", responses={401: _READ_RESPONSES[401]})
def list_parks(
    _principal: CurrentPrincipal, views: RegistryViewsDep, county: str | None = None
) -> list[ParkOut]:
    """Every industrial park, or one county's."""
    return [ParkOut.of(park) for park in views.parks(county_id=county)]


@router.get("/parks/{park_id}", responses=_READ_RESPONSES)
def get_park(park_id: str, _principal: CurrentPrincipal, registry: RegistryDep) -> ParkOut:
    """One industrial park."""
    try:
        return ParkOut.of(registry.get_park(park_id))
    except NotFoundError:
        raise not_found(f"park {park_id!r}") from None


@router.get("/enterprises", responses={401: _READ_RESPONSES[401]})
def list_enterprises(
    principal: CurrentPrincipal, views: RegistryViewsDep, park: str | None = None
) -> list[EnterpriseOut]:
    """Every enterprise (or one park's); an enterprise's caller gets its own alone."""
    scope = enterprise_in_scope(principal, None)
    return [EnterpriseOut.of(e) for e in views.enterprises(enterprise_id=scope, park_id=park)]


@router.get("/enterprises/{enterprise_id}", responses=_READ_RESPONSES)
def get_enterprise(
    enterprise_id: str, principal: CurrentPrincipal, registry: RegistryDep
) -> EnterpriseOut:
    """One enterprise."""
    return EnterpriseOut.of(visible_enterprise(registry, principal, enterprise_id))


@router.get("/sites", responses={401: _READ_RESPONSES[401]})
def list_sites(
    principal: CurrentPrincipal, registry: RegistryDep, enterprise: str | None = None
) -> list[SiteOut]:
    """Every site (or one enterprise's); an enterprise's caller gets its own alone."""
    try:
        scope = enterprise_in_scope(principal, enterprise)
    except OutsideBoundaryError:
        return []
    return [SiteOut.of(site) for site in registry.list_sites(enterprise_id=scope)]


@router.get("/sites/{site_id}", responses=_READ_RESPONSES)
def get_site(site_id: str, principal: CurrentPrincipal, registry: RegistryDep) -> SiteOut:
    """One site."""
    return SiteOut.of(visible_site(registry, principal, site_id))


@router.get("/gateways", responses={401: _READ_RESPONSES[401]})
def list_gateways(
    principal: CurrentPrincipal, views: RegistryViewsDep, enterprise: str | None = None
) -> list[GatewayOut]:
    """Every gateway (or one enterprise's) where it stands; an enterprise's caller, its own."""
    try:
        scope = enterprise_in_scope(principal, enterprise)
    except OutsideBoundaryError:
        return []
    return [GatewayOut.of(row) for row in views.gateways(enterprise_id=scope)]


@router.get("/gateways/{gateway_id}", responses=_READ_RESPONSES)
def get_gateway(
    gateway_id: str, principal: CurrentPrincipal, registry: RegistryDep, views: RegistryViewsDep
) -> GatewayOut:
    """One gateway where it stands."""
    visible_gateway(registry, principal, gateway_id)
    rows = views.gateways(gateway_id=gateway_id)
    if not rows:  # moved away or removed since the check: as unknown
        raise not_found(f"gateway {gateway_id!r}")
    return GatewayOut.of(rows[0])
