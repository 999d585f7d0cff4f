"""The registry: which gateway stands at which site of which enterprise, in which park and county.

Ingest asks it one question per gateway, :meth:`Registry.placement`, and tags every reading
with the answer (InfluxDB tags county, park, enterprise, site, gateway); it caches
:meth:`Registry.placements` and reloads when :meth:`Registry.version` moves. The API asks it
about sites. Writes refuse, with a typed error naming kind and id, anything that would leave a
reading unplaceable: a duplicate id, a missing parent, an identifier that cannot stand in a
topic, a site off the globe.

Every write goes through this class, because every write also bumps the change counter
(:class:`store.sql.models.RegistryVersion`) in the same transaction. The bump comes first: on
PostgreSQL its row lock makes registry writers take turns, so the existence checks that follow
cannot race another writer; SQLite has a single writer anyway.
"""

import math
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Final, TypeVar

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session, sessionmaker

from store.sql.engine import session_factory
from store.sql.errors import (
    DuplicateError,
    InvalidRecordError,
    NotFoundError,
    RecordKind,
    UnknownGatewayError,
)
from store.sql.models import (
    NAME_LENGTH,
    Base,
    County,
    Enterprise,
    Gateway,
    Park,
    RegistryVersion,
    Site,
)
from store.sql.records import (
    CountyRecord,
    EnterpriseRecord,
    ParkRecord,
    Placement,
    SiteRecord,
)
from telemetry.topics import IDENTIFIER_PATTERN

_IDENTIFIER: Final = re.compile(IDENTIFIER_PATTERN)
_Row = TypeVar("_Row", bound=Base)
_Result = TypeVar("_Result")

# Gateway → site → enterprise, with the columns in Placement's field order.
_PLACEMENTS: Final = (
    select(
        Gateway.id, Gateway.site_id, Site.enterprise_id, Enterprise.park_id, Enterprise.county_id
    )
    .join(Site, Gateway.site_id == Site.id)
    .join(Enterprise, Site.enterprise_id == Enterprise.id)
)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Registry:
    """Reads and writes the registry tables of one SQL store.

    Args:
        database: an engine (see :func:`store.sql.create_engine_for`) or a session factory
            already bound to one, for a service that shares its sessions' configuration.
        clock: where creation times come from; tests pass a fixed clock.
    """

    def __init__(
        self,
        database: Engine | sessionmaker[Session],
        *,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self._sessions = session_factory(database) if isinstance(database, Engine) else database
        self._clock = clock

    # --- writes ---------------------------------------------------------------------------

    def add_county(self, county_id: str, *, name: str, name_zh: str) -> None:
        """Add a county-level district.

        Raises:
            InvalidRecordError: a malformed id or a blank or overlong name.
            DuplicateError: the county exists.
        """
        kind = RecordKind.COUNTY
        _check_identifier(kind, county_id)
        _check_name(kind, county_id, "name", name)
        _check_name(kind, county_id, "name_zh", name_zh)
        with self._writing() as session:
            _require_absent(session, County, kind, county_id)
            session.add(County(id=county_id, name=name, name_zh=name_zh))

    def add_park(self, park_id: str, *, name: str, name_zh: str, county_id: str) -> None:
        """Add an industrial park inside a county.

        Raises:
            InvalidRecordError: a malformed id or a blank or overlong name.
            DuplicateError: the park exists.
            NotFoundError: the county does not exist.
        """
        kind = RecordKind.PARK
        _check_identifier(kind, park_id)
        _check_name(kind, park_id, "name", name)
        _check_name(kind, park_id, "name_zh", name_zh)
        with self._writing() as session:
            _require_absent(session, Park, kind, park_id)
            _require(session, County, RecordKind.COUNTY, county_id)
            session.add(Park(id=park_id, name=name, name_zh=name_zh, county_id=county_id))

    def add_enterprise(
        self,
        enterprise_id: str,
        *,
        name: str,
        county_id: str,
        park_id: str | None = None,
        name_zh: str | None = None,
    ) -> None:
        """Add an enterprise, in a park or standing alone in its county.

        Raises:
            InvalidRecordError: a malformed id, a blank or overlong name, or a park that lies
                in another county than ``county_id``.
            DuplicateError: the enterprise exists.
            NotFoundError: the county or the park does not exist.
        """
        kind = RecordKind.ENTERPRISE
        _check_identifier(kind, enterprise_id)
        _check_name(kind, enterprise_id, "name", name)
        if name_zh is not None:
            _check_name(kind, enterprise_id, "name_zh", name_zh)
        with self._writing() as session:
            _require_absent(session, Enterprise, kind, enterprise_id)
            _require(session, County, RecordKind.COUNTY, county_id)
            if park_id is not None:
                park = _require(session, Park, RecordKind.PARK, park_id)
                # Readings are tagged with both; a park in another county would put one
                # enterprise's data under two counties' totals.
                if park.county_id != county_id:
                    raise InvalidRecordError(
                        kind,
                        enterprise_id,
                        "county_id",
                        f"park {park_id!r} lies in county {park.county_id!r}, not {county_id!r}",
                    )
            session.add(
                Enterprise(
                    id=enterprise_id,
                    name=name,
                    name_zh=name_zh,
                    park_id=park_id,
                    county_id=county_id,
                )
            )

    def add_site(
        self,
        site_id: str,
        *,
        name: str,
        enterprise_id: str,
        latitude: float | None = None,
        longitude: float | None = None,
    ) -> None:
        """Add a monitored site of an enterprise, optionally with its WGS 84 coordinates.

        Raises:
            InvalidRecordError: a malformed id, a blank or overlong name, a coordinate out of
                range or not finite, or only one of the two coordinates.
            DuplicateError: the site exists.
            NotFoundError: the enterprise does not exist.
        """
        kind = RecordKind.SITE
        _check_identifier(kind, site_id)
        _check_name(kind, site_id, "name", name)
        _check_coordinates(site_id, latitude, longitude)
        with self._writing() as session:
            _require_absent(session, Site, kind, site_id)
            _require(session, Enterprise, RecordKind.ENTERPRISE, enterprise_id)
            session.add(
                Site(
                    id=site_id,
                    name=name,
                    enterprise_id=enterprise_id,
                    latitude=latitude,
                    longitude=longitude,
                )
            )

    def update_enterprise(
        self, enterprise_id: str, *, name: str | None = None, name_zh: str | None = None
    ) -> None:
        """Rename an enterprise; ``None`` leaves a name as it is. Its tags do not change.

        Raises:
            InvalidRecordError: a blank or overlong name.
            NotFoundError: the enterprise does not exist.
        """
        kind = RecordKind.ENTERPRISE
        for field, value in (("name", name), ("name_zh", name_zh)):
            if value is not None:
                _check_name(kind, enterprise_id, field, value)
        with self._writing() as session:
            enterprise = _require(session, Enterprise, kind, enterprise_id)
            enterprise.name = enterprise.name if name is None else name
            enterprise.name_zh = enterprise.name_zh if name_zh is None else name_zh

    def update_site(
        self,
        site_id: str,
        *,
        name: str | None = None,
        coordinates: tuple[float, float] | None = None,
    ) -> None:
        """Rename a site or set its WGS 84 ``(latitude, longitude)``; ``None`` leaves either.

        Raises:
            InvalidRecordError: a blank or overlong name, a coordinate out of range.
            NotFoundError: the site does not exist.
        """
        kind = RecordKind.SITE
        if name is not None:
            _check_name(kind, site_id, "name", name)
        if coordinates is not None:
            _check_coordinates(site_id, *coordinates)
        with self._writing() as session:
            site = _require(session, Site, kind, site_id)
            site.name = site.name if name is None else name
            if coordinates is not None:
                site.latitude, site.longitude = coordinates

    def add_gateway(self, gateway_id: str, *, site_id: str) -> None:
        """Register a gateway at a site, stamped with the registry clock's current UTC time.

        Raises:
            InvalidRecordError: a malformed id (it must be usable as an MQTT topic level).
            DuplicateError: the gateway exists.
            NotFoundError: the site does not exist.
        """
        kind = RecordKind.GATEWAY
        _check_identifier(kind, gateway_id)
        with self._writing() as session:
            _require_absent(session, Gateway, kind, gateway_id)
            _require(session, Site, RecordKind.SITE, site_id)
            session.add(Gateway(id=gateway_id, site_id=site_id, created_at=self._clock()))

    def add_gateway_with(
        self, gateway_id: str, *, site_id: str, also: Callable[[Session], _Result]
    ) -> _Result:
        """Register a gateway as :meth:`add_gateway` does, and run ``also`` in the same transaction.

        ``also`` gets the session with the gateway already flushed (the API issues the gateway's
        broker account there); what it raises rolls the gateway back too, and what it returns
        is returned.

        Raises:
            InvalidRecordError: a malformed id.
            DuplicateError: the gateway exists.
            NotFoundError: the site does not exist.
        """
        kind = RecordKind.GATEWAY
        _check_identifier(kind, gateway_id)
        with self._writing() as session:
            _require_absent(session, Gateway, kind, gateway_id)
            _require(session, Site, RecordKind.SITE, site_id)
            session.add(Gateway(id=gateway_id, site_id=site_id, created_at=self._clock()))
            session.flush()
            return also(session)

    def move_gateway(self, gateway_id: str, *, site_id: str) -> None:
        """Move a gateway to another site (a unit redeployed, a site split).

        Its readings from now on are tagged with the new site and its enterprise, park, county.

        Raises:
            UnknownGatewayError: the gateway does not exist.
            NotFoundError: the site does not exist.
        """
        with self._writing() as session:
            gateway = session.get(Gateway, gateway_id)
            if gateway is None:
                raise UnknownGatewayError(gateway_id)
            _require(session, Site, RecordKind.SITE, site_id)
            gateway.site_id = site_id

    # --- reads ----------------------------------------------------------------------------

    def get_county(self, county_id: str) -> CountyRecord:
        """The county with this id.

        Raises:
            NotFoundError: no such county.
        """
        with self._sessions() as session:
            county = _require(session, County, RecordKind.COUNTY, county_id)
            return CountyRecord(id=county.id, name=county.name, name_zh=county.name_zh)

    def get_park(self, park_id: str) -> ParkRecord:
        """The park with this id.

        Raises:
            NotFoundError: no such park.
        """
        with self._sessions() as session:
            park = _require(session, Park, RecordKind.PARK, park_id)
            return ParkRecord(
                id=park.id, name=park.name, name_zh=park.name_zh, county_id=park.county_id
            )

    def get_enterprise(self, enterprise_id: str) -> EnterpriseRecord:
        """The enterprise with this id.

        Raises:
            NotFoundError: no such enterprise.
        """
        with self._sessions() as session:
            enterprise = _require(session, Enterprise, RecordKind.ENTERPRISE, enterprise_id)
            return EnterpriseRecord(
                id=enterprise.id,
                name=enterprise.name,
                name_zh=enterprise.name_zh,
                park_id=enterprise.park_id,
                county_id=enterprise.county_id,
            )

    def get_site(self, site_id: str) -> SiteRecord:
        """The site with this id.

        Raises:
            NotFoundError: no such site.
        """
        with self._sessions() as session:
            return _site_record(_require(session, Site, RecordKind.SITE, site_id))

    def list_sites(self, *, enterprise_id: str | None = None) -> list[SiteRecord]:
        """Every site, or only one enterprise's, ordered by id."""
        query = select(Site).order_by(Site.id)
        if enterprise_id is not None:
            query = query.where(Site.enterprise_id == enterprise_id)
        with self._sessions() as session:
            return [_site_record(site) for site in session.scalars(query)]

    def placement(self, gateway_id: str) -> Placement:
        """Where this gateway stands.

        Raises:
            UnknownGatewayError: the gateway is not registered.
        """
        with self._sessions() as session:
            row = session.execute(_PLACEMENTS.where(Gateway.id == gateway_id)).one_or_none()
        if row is None:
            raise UnknownGatewayError(gateway_id)
        gateway, site, enterprise, park, county = row
        return Placement(gateway, site, enterprise, park, county)

    def placements(self) -> dict[str, Placement]:
        """Every gateway's placement, by gateway id: what ingest caches.

        Read :meth:`version` *before* this, and keep that number with the result: a write that
        lands in between then shows up as a newer version on the next check, never as a change
        the cache believes it already has.
        """
        with self._sessions() as session:
            rows = session.execute(_PLACEMENTS).all()
        return {
            gateway: Placement(gateway, site, enterprise, park, county)
            for gateway, site, enterprise, park, county in rows
        }

    def version(self) -> int:
        """The registry's change counter: it grows with every successful write, by one."""
        with self._sessions() as session:
            return session.execute(select(RegistryVersion.version)).scalar_one()

    # --- plumbing -------------------------------------------------------------------------

    @contextmanager
    def _writing(self) -> Iterator[Session]:
        """A transaction that bumps the change counter, committed only if the block succeeds."""
        with self._sessions.begin() as session:
            session.execute(
                update(RegistryVersion)
                .where(RegistryVersion.id == 1)
                .values(version=RegistryVersion.version + 1, changed_at=self._clock())
            )
            yield session


def _site_record(site: Site) -> SiteRecord:
    return SiteRecord(
        id=site.id,
        name=site.name,
        enterprise_id=site.enterprise_id,
        latitude=site.latitude,
        longitude=site.longitude,
    )


def _require(session: Session, model: type[_Row], kind: RecordKind, identifier: str) -> _Row:
    row = session.get(model, identifier)
    if row is None:
        raise NotFoundError(kind, identifier)
    return row


def _require_absent(session: Session, model: type[Base], kind: RecordKind, identifier: str) -> None:
    if session.get(model, identifier) is not None:
        raise DuplicateError(kind, identifier)


def _check_identifier(kind: RecordKind, identifier: str) -> None:
    # The same rule as MQTT topic levels and InfluxDB tags, so a registered id can be used as both.
    if not _IDENTIFIER.fullmatch(identifier):
        raise InvalidRecordError(kind, identifier, "id", f"must match {IDENTIFIER_PATTERN}")


def _check_name(kind: RecordKind, identifier: str, field: str, value: str) -> None:
    if not value.strip():
        raise InvalidRecordError(kind, identifier, field, "must not be blank")
    # SQLite ignores VARCHAR lengths; refuse here what PostgreSQL would refuse, on both.
    if len(value) > NAME_LENGTH:
        raise InvalidRecordError(kind, identifier, field, f"longer than {NAME_LENGTH} characters")


def _check_coordinates(site_id: str, latitude: float | None, longitude: float | None) -> None:
    kind = RecordKind.SITE
    if (latitude is None) != (longitude is None):
        raise InvalidRecordError(
            kind, site_id, "latitude" if latitude is None else "longitude", "give both or neither"
        )
    for field, value, bound in (("latitude", latitude, 90.0), ("longitude", longitude, 180.0)):
        if value is not None and not (math.isfinite(value) and -bound <= value <= bound):
            raise InvalidRecordError(kind, site_id, field, f"must lie in [-{bound:g}, {bound:g}]")
