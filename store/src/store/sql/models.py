"""The tables of the SQL store, as SQLAlchemy typed declarative models.

The registry places every gateway on the map: county ← park ← enterprise ← site ← gateway.
A park is optional (many enterprises stand outside any industrial park), so an enterprise names
its county directly and its park when it has one. Ids are the identifiers of the MQTT topic tree
(``gw-0001``), chosen by people, never generated, so a topic, an InfluxDB tag and a row agree.

These models describe the schema the migrations build; they are not the registry's interface
(:class:`store.sql.Registry` returns frozen records), so services never hold live ORM objects.
Every constraint is named through :data:`NAMING_CONVENTION`, because SQLite's batch migrations
can only alter or drop a constraint they can name, and both databases must get the same names.
"""

from datetime import UTC, datetime
from typing import Final

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    Dialect,
    Double,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# telemetry.topics.IDENTIFIER_PATTERN allows at most 64 characters.
IDENTIFIER_LENGTH: Final = 64
NAME_LENGTH: Final = 200

NAMING_CONVENTION: Final = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp that goes in and comes out as an aware UTC ``datetime``.

    PostgreSQL stores ``timestamptz`` and returns it in the session's time zone; SQLite stores
    text without an offset and returns a naive value. Both come back as UTC here, and a naive
    value is refused on the way in, because it is a time in an unknown zone.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Refuse naive datetimes and normalise aware ones to UTC."""
        del dialect  # same treatment on every database
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()} has no time zone; use UTC")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Attach UTC to SQLite's naive values; convert PostgreSQL's to UTC."""
        del dialect
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base of every table of the SQL store; owns the shared :class:`MetaData`."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class County(Base):
    """A county-level district of the city (区/县), the top of the registry."""

    __tablename__ = "counties"

    id: Mapped[str] = mapped_column(String(IDENTIFIER_LENGTH), primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    name_zh: Mapped[str] = mapped_column(String(NAME_LENGTH))


class Park(Base):
    """An industrial park (工业园区) inside one county."""

    __tablename__ = "parks"

    id: Mapped[str] = mapped_column(String(IDENTIFIER_LENGTH), primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    name_zh: Mapped[str] = mapped_column(String(NAME_LENGTH))
    county_id: Mapped[str] = mapped_column(ForeignKey("counties.id"), index=True)


class Enterprise(Base):
    """A regulated enterprise, inside a park or standing alone in its county."""

    __tablename__ = "enterprises"

    id: Mapped[str] = mapped_column(String(IDENTIFIER_LENGTH), primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    name_zh: Mapped[str | None] = mapped_column(String(NAME_LENGTH))
    park_id: Mapped[str | None] = mapped_column(ForeignKey("parks.id"), index=True)
    county_id: Mapped[str] = mapped_column(ForeignKey("counties.id"), index=True)


class Site(Base):
    """A monitored place of an enterprise: a stack, a workshop, a fence line.

    Coordinates are WGS 84 degrees, both given or both absent; the database checks the ranges
    too, so a row written around the registry cannot put a site off the globe.
    """

    __tablename__ = "sites"
    __table_args__ = (
        CheckConstraint("latitude BETWEEN -90 AND 90", name="latitude_range"),
        CheckConstraint("longitude BETWEEN -180 AND 180", name="longitude_range"),
        CheckConstraint("(latitude IS NULL) = (longitude IS NULL)", name="coordinates_paired"),
    )

    id: Mapped[str] = mapped_column(String(IDENTIFIER_LENGTH), primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    enterprise_id: Mapped[str] = mapped_column(ForeignKey("enterprises.id"), index=True)
    latitude: Mapped[float | None] = mapped_column(Double())
    longitude: Mapped[float | None] = mapped_column(Double())


class Gateway(Base):
    """An edge gateway installed at a site; its id is the ``{gateway}`` level of its topics."""

    __tablename__ = "gateways"

    id: Mapped[str] = mapped_column(String(IDENTIFIER_LENGTH), primary_key=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class RegistryVersion(Base):
    """The registry's change counter: one row, bumped in the same transaction as every write.

    Caches of the registry (ingest's gateway placements) compare this number instead of
    reloading every table; a counter, unlike a max(updated_at), also moves on deletes and cannot
    tie when two writes share a clock tick.
    """

    __tablename__ = "registry_version"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(BigInteger)
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime())


class DeliveryProgress(Base):
    """How far a gateway's batches are durably stored: every seq up to ``watermark`` is.

    The row is also the lock of the gateway's delivery state: every update starts by writing
    it, so two ingest workers on one gateway take turns instead of computing two watermarks.
    """

    __tablename__ = "delivery_progress"
    __table_args__ = (CheckConstraint("watermark >= 0", name="watermark_not_negative"),)

    gateway: Mapped[str] = mapped_column(String(IDENTIFIER_LENGTH), primary_key=True)
    watermark: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class DeliveryStored(Base):
    """A stored batch the watermark has not reached yet, or a late batch that filled a gap."""

    __tablename__ = "delivery_stored"

    gateway: Mapped[str] = mapped_column(String(IDENTIFIER_LENGTH), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    stored_at: Mapped[datetime] = mapped_column(UtcDateTime())


class DeliveryGap(Base):
    """Seqs ``first_seq``..``last_seq`` of a gateway never arrived within the gap timeout.

    ``filled`` counts the late batches of the range stored since; ``filled_at`` is set when the
    last one came.
    """

    __tablename__ = "delivery_gaps"
    __table_args__ = (CheckConstraint("first_seq <= last_seq", name="range_ordered"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    gateway: Mapped[str] = mapped_column(String(IDENTIFIER_LENGTH), index=True)
    first_seq: Mapped[int] = mapped_column(BigInteger)
    last_seq: Mapped[int] = mapped_column(BigInteger)
    detected_at: Mapped[datetime] = mapped_column(UtcDateTime())
    filled: Mapped[int] = mapped_column(BigInteger, default=0)
    filled_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class DeadLetter(Base):
    """A telemetry message, or one reading of one, that ingest refused: kept with the reason.

    ``payload`` holds the bytes as received (the whole message) or the reading's JSON; ``seq``
    and ``reading_index`` say where a rejected reading came from. ``fingerprint`` (SHA-256 of
    what was refused and why) makes recording idempotent: a message redelivered after a crash
    is not stored twice.
    """

    __tablename__ = "dead_letters"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    reason: Mapped[str] = mapped_column(String(IDENTIFIER_LENGTH), index=True)
    detail: Mapped[str] = mapped_column(Text)
    topic: Mapped[str] = mapped_column(Text)
    gateway: Mapped[str | None] = mapped_column(String(IDENTIFIER_LENGTH), index=True)
    seq: Mapped[int | None] = mapped_column(BigInteger)
    reading_index: Mapped[int | None] = mapped_column(Integer)
    payload: Mapped[bytes] = mapped_column(LargeBinary)


class RuleResultRow(Base):
    """What one rule decided about one subject for one window (or since one instant).

    One row per (rule, subject, window start): evaluating the window again (late data, a
    restart, a replay) updates the row instead of adding one, so results stay deterministic.
    ``subject`` names what the result is about (``site:x``, ``site:x/device:y``,
    ``gateway:g``, ``enterprise:e``, ``county:c``, ``city``); the placement columns let the
    API and the alerts filter without parsing it.
    """

    __tablename__ = "rule_results"
    __table_args__ = (UniqueConstraint("rule", "subject", "window_start"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    rule: Mapped[str] = mapped_column(String(IDENTIFIER_LENGTH))
    rule_version: Mapped[str] = mapped_column(String(NAME_LENGTH))
    kind: Mapped[str] = mapped_column(String(IDENTIFIER_LENGTH))
    subject: Mapped[str] = mapped_column(String(NAME_LENGTH))
    window_start: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    window_end: Mapped[datetime | None] = mapped_column(UtcDateTime())
    outcome: Mapped[str] = mapped_column(String(IDENTIFIER_LENGTH), index=True)
    severity: Mapped[str] = mapped_column(String(IDENTIFIER_LENGTH))
    value: Mapped[float | None] = mapped_column(Double())
    limit: Mapped[float | None] = mapped_column(Double())
    standard: Mapped[str | None] = mapped_column(String(NAME_LENGTH))
    county: Mapped[str | None] = mapped_column(String(IDENTIFIER_LENGTH))
    park: Mapped[str | None] = mapped_column(String(IDENTIFIER_LENGTH))
    enterprise: Mapped[str | None] = mapped_column(String(IDENTIFIER_LENGTH), index=True)
    site: Mapped[str | None] = mapped_column(String(IDENTIFIER_LENGTH), index=True)
    device: Mapped[str | None] = mapped_column(String(IDENTIFIER_LENGTH))
    gateway: Mapped[str | None] = mapped_column(String(IDENTIFIER_LENGTH))
    evidence: Mapped[str] = mapped_column(Text)  # JSON: readings, window values, validity
    evaluated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    revision: Mapped[int] = mapped_column(Integer)  # 1, then +1 whenever the result changes
