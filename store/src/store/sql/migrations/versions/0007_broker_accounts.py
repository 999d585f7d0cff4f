"""MQTT accounts of the broker, from which its password and ACL files are generated.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29

Written by hand to match :mod:`store.sql.models` at this revision; names follow
:data:`store.sql.models.NAMING_CONVENTION`, spelled out so this file stays valid when the
convention or the models change.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_USERNAME = sa.String(80)  # "ent@" + an identifier of at most 64 characters, with room
_ID = sa.String(64)  # telemetry.topics.IDENTIFIER_PATTERN: at most 64 characters
_SHORT = sa.String(16)
_TS = sa.DateTime(timezone=True)

_OWNER_MATCHES_KIND = (
    "(kind = 'gateway' AND gateway_id IS NOT NULL AND enterprise_id IS NULL AND role IS NULL)"
    " OR (kind = 'enterprise' AND enterprise_id IS NOT NULL AND gateway_id IS NULL"
    " AND role IS NULL)"
    " OR (kind = 'service' AND role IS NOT NULL AND gateway_id IS NULL"
    " AND enterprise_id IS NULL)"
)


def upgrade() -> None:
    """Create the broker accounts table, empty."""
    op.create_table(
        "broker_accounts",
        sa.Column("username", _USERNAME, nullable=False),
        sa.Column("kind", _SHORT, nullable=False),
        sa.Column("gateway_id", _ID, nullable=True),
        sa.Column("enterprise_id", _ID, nullable=True),
        sa.Column("role", _SHORT, nullable=True),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("password_set_at", _TS, nullable=False),
        sa.Column("revoked_at", _TS, nullable=True),
        sa.CheckConstraint(
            "kind IN ('gateway', 'enterprise', 'service')",
            name=op.f("ck_broker_accounts_kind_known"),
        ),
        sa.CheckConstraint(
            "role IS NULL OR role IN ('ingest', 'rules', 'api', 'monitor')",
            name=op.f("ck_broker_accounts_role_known"),
        ),
        sa.CheckConstraint(_OWNER_MATCHES_KIND, name=op.f("ck_broker_accounts_owner_matches_kind")),
        sa.ForeignKeyConstraint(
            ["gateway_id"], ["gateways.id"], name=op.f("fk_broker_accounts_gateway_id_gateways")
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_broker_accounts_enterprise_id_enterprises"),
        ),
        sa.PrimaryKeyConstraint("username", name=op.f("pk_broker_accounts")),
    )
    op.create_index(
        op.f("ix_broker_accounts_gateway_id"), "broker_accounts", ["gateway_id"], unique=False
    )
    op.create_index(
        op.f("ix_broker_accounts_enterprise_id"), "broker_accounts", ["enterprise_id"], unique=False
    )


def downgrade() -> None:
    """Drop the broker accounts table: every MQTT account and password hash in it."""
    op.drop_index(op.f("ix_broker_accounts_enterprise_id"), table_name="broker_accounts")
    op.drop_index(op.f("ix_broker_accounts_gateway_id"), table_name="broker_accounts")
    op.drop_table("broker_accounts")
