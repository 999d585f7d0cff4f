"""Listings of the registry the API shows beyond :class:`store.sql.Registry`'s own reads.

Counties, parks, enterprises and gateways, each ordered by id, read through the application's
engine (``app.state.engine``). Every write still goes through the registry, which keeps its
change counter.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Engine, select

from store.sql.engine import session_factory
from store.sql.models import County, Enterprise, Gateway, Park, Site
from store.sql.records import CountyRecord, EnterpriseRecord, ParkRecord


@dataclass(frozen=True, slots=True)
class GatewayRow:
    """A gateway where it stands, and since when it is registered."""

    id: str
    site: str
    enterprise: str
    park: str | None
    county: str
    created_at: datetime


class RegistryViews:
    """The listings, over one engine."""

    def __init__(self, engine: Engine) -> None:
        self._sessions = session_factory(engine)

    def counties(self) -> list[CountyRecord]:
        """Every county."""
        with self._sessions() as session:
            return [
                CountyRecord(id=c.id, name=c.name, name_zh=c.name_zh)
                for c in session.scalars(select(County).order_by(County.id))
            ]

    def parks(self, *, county_id: str | None = None) -> list[ParkRecord]:
        """Every park, or one county's."""
        query = select(Park).order_by(Park.id)
        if county_id is not None:
            query = query.where(Park.county_id == county_id)
        with self._sessions() as session:
            return [
                ParkRecord(id=p.id, name=p.name, name_zh=p.name_zh, county_id=p.county_id)
                for p in session.scalars(query)
            ]

    def enterprises(
        self, *, enterprise_id: str | None = None, park_id: str | None = None
    ) -> list[EnterpriseRecord]:
        """Every enterprise, or only the one (an enterprise's caller), or one park's."""
        query = select(Enterprise).order_by(Enterprise.id)
        if enterprise_id is not None:
            query = query.where(Enterprise.id == enterprise_id)
        if park_id is not None:
            query = query.where(Enterprise.park_id == park_id)
        with self._sessions() as session:
            return [
                EnterpriseRecord(
                    id=e.id,
                    name=e.name,
                    name_zh=e.name_zh,
                    park_id=e.park_id,
                    county_id=e.county_id,
                )
                for e in session.scalars(query)
            ]

    def gateways(
        self, *, enterprise_id: str | None = None, gateway_id: str | None = None
    ) -> list[GatewayRow]:
        """Every gateway with its placement, or one enterprise's, or the one asked for."""
        query = (
            select(
                Gateway.id,
                Gateway.site_id,
                Site.enterprise_id,
                Enterprise.park_id,
                Enterprise.county_id,
                Gateway.created_at,
            )
            .join(Site, Gateway.site_id == Site.id)
            .join(Enterprise, Site.enterprise_id == Enterprise.id)
            .order_by(Gateway.id)
        )
        if enterprise_id is not None:
            query = query.where(Site.enterprise_id == enterprise_id)
        if gateway_id is not None:
            query = query.where(Gateway.id == gateway_id)
        with self._sessions() as session:
            return [GatewayRow(*row) for row in session.execute(query).all()]


def _views(request: Request) -> RegistryViews:
    engine: Engine = request.app.state.engine
    return RegistryViews(engine)


RegistryViewsDep = Annotated[RegistryViews, Depends(_views)]
