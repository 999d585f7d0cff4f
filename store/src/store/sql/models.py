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

from datetime import UTC, date, datetime
from typing import Final

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Dialect,
    Double,
    ForeignKey,
    Index,
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


UNIT_LENGTH: Final = 32


class ProductionOutput(Base):
    """What an enterprise produced over one local calendar day or month, as it submitted it.

    One row per (enterprise, period, period start): a correction replaces the figure and
    ``submitted_at`` becomes the correction's. ``period_start`` is a local (Asia/Shanghai)
    calendar day, the 1st for a month; ``unit`` is the enterprise's own (``t``, ``pieces``).
    """

    __tablename__ = "production_output"
    __table_args__ = (
        UniqueConstraint("enterprise_id", "period", "period_start"),
        CheckConstraint("period IN ('day', 'month')", name="period_known"),
        CheckConstraint("quantity >= 0", name="quantity_not_negative"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    enterprise_id: Mapped[str] = mapped_column(ForeignKey("enterprises.id"))
    period: Mapped[str] = mapped_column(String(16))
    period_start: Mapped[date] = mapped_column(Date())
    quantity: Mapped[float] = mapped_column(Double())
    unit: Mapped[str] = mapped_column(String(UNIT_LENGTH))
    submitted_at: Mapped[datetime] = mapped_column(UtcDateTime())
    submitted_by: Mapped[str | None] = mapped_column(String(NAME_LENGTH))
    note: Mapped[str] = mapped_column(Text)


STATE_LENGTH: Final = 16
ALERT_STATES: Final = "'pending', 'firing', 'acknowledged', 'resolved', 'closed'"
ALERT_ACTIONS: Final = (
    "'opened', 'fired', 'severity_raised', 'updated', 'acknowledged', 'commented', "
    "'assigned', 'resolved', 'reopened', 'closed', 'escalated', 'reminded'"
)
NOTICE_KINDS: Final = "'firing', 'reminder', 'escalation', 'resolved', 'closed'"
CHANNELS: Final = "'mqtt', 'webhook', 'email'"


class AlertRow(Base):
    """One alert: a rule's condition on one subject, from its first result to its end.

    ``open_key`` is ``rule|subject`` while the alert can still change through results (open,
    or resolved within its flap window) and NULL afterwards; its unique constraint is what
    keeps two live alerts of one key from existing, on both databases (NULLs never collide).
    ``trigger`` is the result that opened it, ``evidence`` the latest one applied (JSON:
    outcome, window, value, limit, standard, rule version, revision, the result's evidence).
    """

    __tablename__ = "alerts"
    __table_args__ = (
        CheckConstraint(f"state IN ({ALERT_STATES})", name="state_known"),
        CheckConstraint("state <> 'closed' OR open_key IS NULL", name="closed_not_live"),
        Index("ix_alerts_rule_subject", "rule", "subject"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    open_key: Mapped[str | None] = mapped_column(
        String(IDENTIFIER_LENGTH + NAME_LENGTH + 1), unique=True
    )
    rule: Mapped[str] = mapped_column(String(IDENTIFIER_LENGTH))
    subject: Mapped[str] = mapped_column(String(NAME_LENGTH))
    kind: Mapped[str] = mapped_column(String(IDENTIFIER_LENGTH))
    rule_version: Mapped[str] = mapped_column(String(NAME_LENGTH))
    state: Mapped[str] = mapped_column(String(STATE_LENGTH), index=True)
    severity: Mapped[str] = mapped_column(String(IDENTIFIER_LENGTH))
    audience: Mapped[str] = mapped_column(String(IDENTIFIER_LENGTH))  # enterprise or bureau
    county: Mapped[str | None] = mapped_column(String(IDENTIFIER_LENGTH))
    park: Mapped[str | None] = mapped_column(String(IDENTIFIER_LENGTH))
    enterprise: Mapped[str | None] = mapped_column(String(IDENTIFIER_LENGTH), index=True)
    site: Mapped[str | None] = mapped_column(String(IDENTIFIER_LENGTH), index=True)
    device: Mapped[str | None] = mapped_column(String(IDENTIFIER_LENGTH))
    gateway: Mapped[str | None] = mapped_column(String(IDENTIFIER_LENGTH))
    window_start: Mapped[datetime] = mapped_column(UtcDateTime())  # of the first result
    last_window_start: Mapped[datetime] = mapped_column(UtcDateTime())  # of the latest
    result_revision: Mapped[int] = mapped_column(Integer)  # of the latest result applied
    value: Mapped[float | None] = mapped_column(Double())
    limit: Mapped[float | None] = mapped_column(Double())
    standard: Mapped[str | None] = mapped_column(String(NAME_LENGTH))
    trigger: Mapped[str] = mapped_column(Text)
    evidence: Mapped[str] = mapped_column(Text)
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime())
    fired_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    acknowledged_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    acknowledged_by: Mapped[str | None] = mapped_column(String(NAME_LENGTH))
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    settled_at: Mapped[datetime | None] = mapped_column(UtcDateTime())  # resolved notice queued
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    closed_by: Mapped[str | None] = mapped_column(String(NAME_LENGTH))
    assignee: Mapped[str | None] = mapped_column(String(NAME_LENGTH))
    escalated_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    reminded_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    reminders: Mapped[int] = mapped_column(Integer)
    reopen_count: Mapped[int] = mapped_column(Integer)


class AlertEventRow(Base):
    """One line of the audit trail: who did what to which alert, when. Only ever inserted."""

    __tablename__ = "alert_events"
    __table_args__ = (CheckConstraint(f"action IN ({ALERT_ACTIONS})", name="action_known"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    actor: Mapped[str] = mapped_column(String(NAME_LENGTH))
    action: Mapped[str] = mapped_column(String(IDENTIFIER_LENGTH))
    state: Mapped[str] = mapped_column(String(STATE_LENGTH))  # the alert's state after it
    comment: Mapped[str | None] = mapped_column(Text)
    details: Mapped[str] = mapped_column(Text)  # JSON


class ContactRow(Base):
    """Where one audience (an enterprise, or ``bureau`` for its staff) wants its notices.

    ``kinds`` lists the notice kinds it takes (comma-separated); ``secret`` signs webhook
    bodies (HMAC-SHA256) and is stored as given: see docs/alerts.md.
    """

    __tablename__ = "contacts"
    __table_args__ = (
        UniqueConstraint("audience", "channel", "target"),
        CheckConstraint(f"channel IN ({CHANNELS})", name="channel_known"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    audience: Mapped[str] = mapped_column(String(IDENTIFIER_LENGTH), index=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    channel: Mapped[str] = mapped_column(String(STATE_LENGTH))
    target: Mapped[str] = mapped_column(Text)
    secret: Mapped[str | None] = mapped_column(Text)
    kinds: Mapped[str] = mapped_column(String(NAME_LENGTH))
    enabled: Mapped[bool] = mapped_column(Boolean())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class NotificationRow(Base):
    """A notice in the outbox, written in the transaction of the change it tells of.

    ``idempotency_key`` is unique and travels with every delivery, so a receiver can drop a
    copy it already has; ``payload`` is channel-agnostic JSON.
    """

    __tablename__ = "notifications"
    __table_args__ = (CheckConstraint(f"kind IN ({NOTICE_KINDS})", name="kind_known"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(NAME_LENGTH), unique=True)
    kind: Mapped[str] = mapped_column(String(STATE_LENGTH))
    audience: Mapped[str] = mapped_column(String(IDENTIFIER_LENGTH), index=True)
    site: Mapped[str | None] = mapped_column(String(IDENTIFIER_LENGTH))
    payload: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)


class NotificationAlertRow(Base):
    """Which alerts a notification is about (several for a grouped one)."""

    __tablename__ = "notification_alerts"

    notification_id: Mapped[int] = mapped_column(ForeignKey("notifications.id"), primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), primary_key=True, index=True)


class NotificationDeliveryRow(Base):
    """One notification on its way to one contact: what a channel worker claims and retries."""

    __tablename__ = "notification_deliveries"
    __table_args__ = (
        UniqueConstraint("notification_id", "contact_id"),
        CheckConstraint(f"channel IN ({CHANNELS})", name="channel_known"),
        CheckConstraint("state IN ('pending', 'delivered', 'dead')", name="state_known"),
        Index("ix_notification_deliveries_due", "channel", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    notification_id: Mapped[int] = mapped_column(ForeignKey("notifications.id"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"))
    channel: Mapped[str] = mapped_column(String(STATE_LENGTH))
    target: Mapped[str] = mapped_column(Text)  # the contact's, when the notice was written
    state: Mapped[str] = mapped_column(String(STATE_LENGTH))
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


ACCOUNT_KINDS: Final = "'gateway', 'enterprise', 'service'"
SERVICE_ROLES: Final = "'ingest', 'rules', 'api', 'monitor'"
BROKER_USERNAME_LENGTH: Final = 80  # ``ent@`` + an identifier of at most 64 characters, with room


class BrokerAccountRow(Base):
    """An MQTT account of the broker: who may connect, with which password, on whose behalf.

    A gateway's username is its id, an enterprise's ``ent@<id>``, a service's ``svc-<role>``
    (see :mod:`store.sql.broker_accounts`); exactly one of ``gateway_id``, ``enterprise_id``
    and ``role`` is set, the one its ``kind`` names. ``password_hash`` is in Mosquitto's own
    ``$7$`` format, so the password file is rendered from it without the password. A revoked
    account keeps its row (who had access, until when) and leaves the generated files.
    """

    __tablename__ = "broker_accounts"
    __table_args__ = (
        CheckConstraint(f"kind IN ({ACCOUNT_KINDS})", name="kind_known"),
        CheckConstraint(f"role IS NULL OR role IN ({SERVICE_ROLES})", name="role_known"),
        CheckConstraint(
            "(kind = 'gateway' AND gateway_id IS NOT NULL AND enterprise_id IS NULL"
            " AND role IS NULL)"
            " OR (kind = 'enterprise' AND enterprise_id IS NOT NULL AND gateway_id IS NULL"
            " AND role IS NULL)"
            " OR (kind = 'service' AND role IS NOT NULL AND gateway_id IS NULL"
            " AND enterprise_id IS NULL)",
            name="owner_matches_kind",
        ),
    )

    username: Mapped[str] = mapped_column(String(BROKER_USERNAME_LENGTH), primary_key=True)
    kind: Mapped[str] = mapped_column(String(STATE_LENGTH))
    gateway_id: Mapped[str | None] = mapped_column(ForeignKey("gateways.id"), index=True)
    enterprise_id: Mapped[str | None] = mapped_column(ForeignKey("enterprises.id"), index=True)
    role: Mapped[str | None] = mapped_column(String(STATE_LENGTH))
    password_hash: Mapped[str] = mapped_column(String(NAME_LENGTH))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    password_set_at: Mapped[datetime] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


ROLES: Final = "'bureau_admin', 'bureau_viewer', 'enterprise_user'"
ROLE_LENGTH: Final = 32
USERNAME_LENGTH: Final = 120  # store.sql.alert_states.USER_NAME_LENGTH: it names audit actors
# An enterprise role carries its enterprise; a bureau role carries none.
ROLE_SCOPE: Final = "(role = 'enterprise_user') = (enterprise_id IS NOT NULL)"


class UserRow(Base):
    """A person who signs in to the API: bureau staff, or a user of one enterprise.

    ``password_hash`` is a PHC string (argon2id); the password itself is never stored.
    """

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(f"role IN ({ROLES})", name="role_known"),
        CheckConstraint(ROLE_SCOPE, name="enterprise_matches_role"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(USERNAME_LENGTH), unique=True)
    display_name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    password_hash: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(ROLE_LENGTH))
    enterprise_id: Mapped[str | None] = mapped_column(ForeignKey("enterprises.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_login_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class ApiKeyRow(Base):
    """A machine's key to the API: found by ``prefix``, checked against ``key_hash``.

    ``key_hash`` is the SHA-256 of the whole key (hex); the key is shown once, when made.
    A revoked key keeps its row, so the audit trail's ``key:{id}`` actors stay explained.
    """

    __tablename__ = "api_keys"
    __table_args__ = (
        CheckConstraint(f"role IN ({ROLES})", name="role_known"),
        CheckConstraint(ROLE_SCOPE, name="enterprise_matches_role"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    prefix: Mapped[str] = mapped_column(String(IDENTIFIER_LENGTH), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(ROLE_LENGTH))
    enterprise_id: Mapped[str | None] = mapped_column(ForeignKey("enterprises.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


TARGET_KINDS: Final = "'energy_intensity', 'annual_target'"
TARGET_LEVELS: Final = "'site', 'park', 'county', 'city', 'enterprise'"
VERSION_LENGTH: Final = 120  # a rule file's declared version, ``+`` and 12 hex digits


class PermitInForceRow(Base):
    """A permit of the rule files, as the rules service last published what it has in force.

    The rule files are the source of truth; this table is their copy for readers that must not
    read the files (the API). ``enterprise_id`` and ``site_id`` are the permit's scope, at least
    one named, with no foreign key: a rule file may name a site before the registry has it.
    ``effective_until`` is the last day in force, NULL when open-ended.
    """

    __tablename__ = "permits_in_force"
    __table_args__ = (
        CheckConstraint(
            "enterprise_id IS NOT NULL OR site_id IS NOT NULL", name="names_enterprise_or_site"
        ),
        CheckConstraint("limit_value >= 0", name="limit_not_negative"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    enterprise_id: Mapped[str | None] = mapped_column(String(IDENTIFIER_LENGTH), index=True)
    site_id: Mapped[str | None] = mapped_column(String(IDENTIFIER_LENGTH), index=True)
    metric: Mapped[str] = mapped_column(String(IDENTIFIER_LENGTH))
    window: Mapped[str] = mapped_column(String(16))
    limit_value: Mapped[float] = mapped_column(Double())
    effective_from: Mapped[date] = mapped_column(Date())
    effective_until: Mapped[date | None] = mapped_column(Date())
    reference: Mapped[str] = mapped_column(Text)
    rule_file: Mapped[str] = mapped_column(String(NAME_LENGTH))
    file_version: Mapped[str] = mapped_column(String(VERSION_LENGTH))
    published_at: Mapped[datetime] = mapped_column(UtcDateTime())


class TargetInForceRow(Base):
    """A target rule of the rule files (energy intensity or annual), as last published.

    The scope columns are those the rule's scope names (all NULL: the whole city). An energy
    target is ``target_value`` kgce per unit of output over ``window``; an annual target runs
    from ``baseline_value`` in ``baseline_year`` to ``target_value`` in ``target_year``, with
    ``margin`` allowed over the path.
    """

    __tablename__ = "targets_in_force"
    __table_args__ = (
        CheckConstraint(f"kind IN ({TARGET_KINDS})", name="kind_known"),
        CheckConstraint(f"level IN ({TARGET_LEVELS})", name="level_known"),
        CheckConstraint(
            "(kind = 'annual_target') = (baseline_year IS NOT NULL AND target_year IS NOT NULL)",
            name="annual_has_years",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    rule_id: Mapped[str] = mapped_column(String(IDENTIFIER_LENGTH))
    kind: Mapped[str] = mapped_column(String(32))
    level: Mapped[str] = mapped_column(String(16))
    county_id: Mapped[str | None] = mapped_column(String(IDENTIFIER_LENGTH))
    park_id: Mapped[str | None] = mapped_column(String(IDENTIFIER_LENGTH))
    enterprise_id: Mapped[str | None] = mapped_column(String(IDENTIFIER_LENGTH), index=True)
    site_id: Mapped[str | None] = mapped_column(String(IDENTIFIER_LENGTH))
    metric: Mapped[str] = mapped_column(String(IDENTIFIER_LENGTH))
    window: Mapped[str] = mapped_column(String(16))
    target_value: Mapped[float] = mapped_column(Double())
    baseline_year: Mapped[int | None] = mapped_column(Integer)
    baseline_value: Mapped[float | None] = mapped_column(Double())
    target_year: Mapped[int | None] = mapped_column(Integer)
    margin: Mapped[float | None] = mapped_column(Double())
    rule_file: Mapped[str] = mapped_column(String(NAME_LENGTH))
    file_version: Mapped[str] = mapped_column(String(VERSION_LENGTH))
    published_at: Mapped[datetime] = mapped_column(UtcDateTime())
