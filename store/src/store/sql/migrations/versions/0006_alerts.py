"""Alerts, their append-only audit trail, contacts, and the notification outbox.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28

Written by hand to match :mod:`store.sql.models` at this revision; names follow
:data:`store.sql.models.NAMING_CONVENTION`, spelled out so this file stays valid when the
convention or the models change. Triggers (which the models cannot describe) make the
database itself refuse to update or delete a row of ``alert_events``.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.String(64)  # telemetry.topics.IDENTIFIER_PATTERN: at most 64 characters
_NAME = sa.String(200)
_SHORT = sa.String(16)
_TS = sa.DateTime(timezone=True)

_STATES = "'pending', 'firing', 'acknowledged', 'resolved', 'closed'"
_ACTIONS = (
    "'opened', 'fired', 'severity_raised', 'updated', 'acknowledged', 'commented', "
    "'assigned', 'resolved', 'reopened', 'closed', 'escalated', 'reminded'"
)
_KINDS = "'firing', 'reminder', 'escalation', 'resolved', 'closed'"
_CHANNELS = "'mqtt', 'webhook', 'email'"
_REFUSAL = "alert_events is append-only: its rows are never updated or deleted"

_SQLITE_TRIGGERS = tuple(
    f"CREATE TRIGGER alert_events_no_{verb} BEFORE {verb.upper()} ON alert_events "
    f"BEGIN SELECT RAISE(ABORT, '{_REFUSAL}'); END"
    for verb in ("update", "delete")
)
_POSTGRES_TRIGGERS = (
    (
        "CREATE FUNCTION alert_events_append_only() RETURNS trigger LANGUAGE plpgsql AS "
        f"$$ BEGIN RAISE EXCEPTION '{_REFUSAL}'; END $$"
    ),
    (
        "CREATE TRIGGER alert_events_append_only BEFORE UPDATE OR DELETE ON alert_events "
        "FOR EACH ROW EXECUTE FUNCTION alert_events_append_only()"
    ),
    (
        "CREATE TRIGGER alert_events_no_truncate BEFORE TRUNCATE ON alert_events "
        "FOR EACH STATEMENT EXECUTE FUNCTION alert_events_append_only()"
    ),
)


def upgrade() -> None:
    """Create the alert, audit, contact and outbox tables, empty, and the audit's guard."""
    _create_alerts()
    _create_alert_events()
    _create_contacts()
    _create_notifications()
    is_postgres = op.get_context().dialect.name == "postgresql"
    for statement in _POSTGRES_TRIGGERS if is_postgres else _SQLITE_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    """Drop the tables, with every alert, audit row, contact and notice in them."""
    if op.get_context().dialect.name == "postgresql":
        op.execute("DROP TRIGGER alert_events_no_truncate ON alert_events")
        op.execute("DROP TRIGGER alert_events_append_only ON alert_events")
        op.execute("DROP FUNCTION alert_events_append_only()")
    else:
        op.execute("DROP TRIGGER alert_events_no_delete")
        op.execute("DROP TRIGGER alert_events_no_update")
    op.drop_index(op.f("ix_notification_deliveries_due"), table_name="notification_deliveries")
    op.drop_table("notification_deliveries")
    op.drop_index(op.f("ix_notification_alerts_alert_id"), table_name="notification_alerts")
    op.drop_table("notification_alerts")
    for column in ("created_at", "audience"):
        op.drop_index(op.f(f"ix_notifications_{column}"), table_name="notifications")
    op.drop_table("notifications")
    op.drop_index(op.f("ix_contacts_audience"), table_name="contacts")
    op.drop_table("contacts")
    op.drop_index(op.f("ix_alert_events_alert_id"), table_name="alert_events")
    op.drop_table("alert_events")
    for index in ("rule_subject", "opened_at", "site", "enterprise", "state"):
        op.drop_index(op.f(f"ix_alerts_{index}"), table_name="alerts")
    op.drop_table("alerts")


def _create_alerts() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("open_key", sa.String(265), nullable=True),
        sa.Column("rule", _ID, nullable=False),
        sa.Column("subject", _NAME, nullable=False),
        sa.Column("kind", _ID, nullable=False),
        sa.Column("rule_version", _NAME, nullable=False),
        sa.Column("state", _SHORT, nullable=False),
        sa.Column("severity", _ID, nullable=False),
        sa.Column("audience", _ID, nullable=False),
        *(
            sa.Column(level, _ID, nullable=True)
            for level in ("county", "park", "enterprise", "site", "device", "gateway")
        ),
        sa.Column("window_start", _TS, nullable=False),
        sa.Column("last_window_start", _TS, nullable=False),
        sa.Column("result_revision", sa.Integer(), nullable=False),
        sa.Column("value", sa.Double(), nullable=True),
        sa.Column("limit", sa.Double(), nullable=True),
        sa.Column("standard", _NAME, nullable=True),
        sa.Column("trigger", sa.Text(), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("opened_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.Column("last_seen_at", _TS, nullable=False),
        sa.Column("fired_at", _TS, nullable=True),
        sa.Column("acknowledged_at", _TS, nullable=True),
        sa.Column("acknowledged_by", _NAME, nullable=True),
        sa.Column("resolved_at", _TS, nullable=True),
        sa.Column("settled_at", _TS, nullable=True),
        sa.Column("closed_at", _TS, nullable=True),
        sa.Column("closed_by", _NAME, nullable=True),
        sa.Column("assignee", _NAME, nullable=True),
        sa.Column("escalated_at", _TS, nullable=True),
        sa.Column("reminded_at", _TS, nullable=True),
        sa.Column("reminders", sa.Integer(), nullable=False),
        sa.Column("reopen_count", sa.Integer(), nullable=False),
        sa.CheckConstraint(f"state IN ({_STATES})", name=op.f("ck_alerts_state_known")),
        sa.CheckConstraint(
            "state <> 'closed' OR open_key IS NULL", name=op.f("ck_alerts_closed_not_live")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
        sa.UniqueConstraint("open_key", name=op.f("uq_alerts_open_key")),
    )
    op.create_index(op.f("ix_alerts_state"), "alerts", ["state"])
    op.create_index(op.f("ix_alerts_enterprise"), "alerts", ["enterprise"])
    op.create_index(op.f("ix_alerts_site"), "alerts", ["site"])
    op.create_index(op.f("ix_alerts_opened_at"), "alerts", ["opened_at"])
    op.create_index(op.f("ix_alerts_rule_subject"), "alerts", ["rule", "subject"])


def _create_alert_events() -> None:
    op.create_table(
        "alert_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("at", _TS, nullable=False),
        sa.Column("actor", _NAME, nullable=False),
        sa.Column("action", _ID, nullable=False),
        sa.Column("state", _SHORT, nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("details", sa.Text(), nullable=False),
        sa.CheckConstraint(f"action IN ({_ACTIONS})", name=op.f("ck_alert_events_action_known")),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alerts.id"], name=op.f("fk_alert_events_alert_id_alerts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_events")),
    )
    op.create_index(op.f("ix_alert_events_alert_id"), "alert_events", ["alert_id"])


def _create_contacts() -> None:
    op.create_table(
        "contacts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("audience", _ID, nullable=False),
        sa.Column("name", _NAME, nullable=False),
        sa.Column("channel", _SHORT, nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("secret", sa.Text(), nullable=True),
        sa.Column("kinds", _NAME, nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.CheckConstraint(f"channel IN ({_CHANNELS})", name=op.f("ck_contacts_channel_known")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contacts")),
        sa.UniqueConstraint("audience", "channel", "target", name=op.f("uq_contacts_audience")),
    )
    op.create_index(op.f("ix_contacts_audience"), "contacts", ["audience"])


def _create_notifications() -> None:
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("idempotency_key", _NAME, nullable=False),
        sa.Column("kind", _SHORT, nullable=False),
        sa.Column("audience", _ID, nullable=False),
        sa.Column("site", _ID, nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.CheckConstraint(f"kind IN ({_KINDS})", name=op.f("ck_notifications_kind_known")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_notifications_idempotency_key")),
    )
    op.create_index(op.f("ix_notifications_audience"), "notifications", ["audience"])
    op.create_index(op.f("ix_notifications_created_at"), "notifications", ["created_at"])
    op.create_table(
        "notification_alerts",
        sa.Column("notification_id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["notifications.id"],
            name=op.f("fk_notification_alerts_notification_id_notifications"),
        ),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alerts.id"], name=op.f("fk_notification_alerts_alert_id_alerts")
        ),
        sa.PrimaryKeyConstraint("notification_id", "alert_id", name=op.f("pk_notification_alerts")),
    )
    op.create_index(op.f("ix_notification_alerts_alert_id"), "notification_alerts", ["alert_id"])
    op.create_table(
        "notification_deliveries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("notification_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("channel", _SHORT, nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("state", _SHORT, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", _TS, nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("delivered_at", _TS, nullable=True),
        sa.CheckConstraint(
            f"channel IN ({_CHANNELS})", name=op.f("ck_notification_deliveries_channel_known")
        ),
        sa.CheckConstraint(
            "state IN ('pending', 'delivered', 'dead')",
            name=op.f("ck_notification_deliveries_state_known"),
        ),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["notifications.id"],
            name=op.f("fk_notification_deliveries_notification_id_notifications"),
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_notification_deliveries_contact_id_contacts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_deliveries")),
        sa.UniqueConstraint(
            "notification_id",
            "contact_id",
            name=op.f("uq_notification_deliveries_notification_id"),
        ),
    )
    op.create_index(
        op.f("ix_notification_deliveries_due"),
        "notification_deliveries",
        ["channel", "state", "next_attempt_at"],
    )
