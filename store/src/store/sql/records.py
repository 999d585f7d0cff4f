"""What the registry hands out: frozen records, detached from any database session.

Services keep these in caches, pass them between threads and serialise them into responses;
an ORM object would do none of that safely (it lazy-loads, expires on commit and belongs to
one session). Field names are the registry's column names, so a record reads like its row.
"""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a gateway stands: the identifiers its readings are tagged with."""

    gateway: str
    site: str
    enterprise: str
    park: str | None  # None for an enterprise outside any industrial park
    county: str


@dataclass(frozen=True, slots=True)
class CountyRecord:
    """A county-level district (区/县) of the city."""

    id: str
    name: str
    name_zh: str


@dataclass(frozen=True, slots=True)
class ParkRecord:
    """An industrial park (工业园区) and the county it lies in."""

    id: str
    name: str
    name_zh: str
    county_id: str


@dataclass(frozen=True, slots=True)
class EnterpriseRecord:
    """A regulated enterprise; ``park_id`` is ``None`` when it stands outside any park."""

    id: str
    name: str
    name_zh: str | None
    park_id: str | None
    county_id: str


@dataclass(frozen=True, slots=True)
class SiteRecord:
    """A monitored site; coordinates are WGS 84 degrees, or both ``None``."""

    id: str
    name: str
    enterprise_id: str
    latitude: float | None
    longitude: float | None
