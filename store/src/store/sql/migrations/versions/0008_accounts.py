"""Accounts of the API: the people who sign in, and the keys of machines.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29

Written by hand to match :mod:`store.sql.models` at this revision; names follow
:data:`store.sql.models.NAMING_CONVENTION`, spelled out so this file stays valid when the
convention or the models change.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.String(64)  # telemetry.topics.IDENTIFIER_PATTERN: at most 64 characters
_NAME = sa.String(200)
_ROLE = sa.String(32)
_TS = sa.DateTime(timezone=True)

_ROLES = "role IN ('bureau_admin', 'bureau_viewer', 'enterprise_user')"
_SCOPE = "(role = 'enterprise_user') = (enterprise_id IS NOT NULL)"


def _role_columns(table: str) -> list[sa.schema.SchemaItem]:
    return [
        sa.Column("role", _ROLE, nullable=False),
        sa.Column("enterprise_id", _ID, nullable=True),
        sa.CheckConstraint(_ROLES, name=op.f(f"ck_{table}_role_known")),
        sa.CheckConstraint(_SCOPE, name=op.f(f"ck_{table}_enterprise_matches_role")),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f(f"fk_{table}_enterprise_id_enterprises"),
        ),
    ]


def upgrade() -> None:
    """Create the user and API key tables, empty."""
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("username", sa.String(120), nullable=False),
        sa.Column("display_name", _NAME, nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        *_role_columns("users"),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("last_login_at", _TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_index(op.f("ix_users_enterprise_id"), "users", ["enterprise_id"])
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", _NAME, nullable=False),
        sa.Column("prefix", _ID, nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        *_role_columns("api_keys"),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("revoked_at", _TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("prefix", name=op.f("uq_api_keys_prefix")),
    )
    op.create_index(op.f("ix_api_keys_enterprise_id"), "api_keys", ["enterprise_id"])


def downgrade() -> None:
    """Drop the user and API key tables: every account and key is gone."""
    op.drop_index(op.f("ix_api_keys_enterprise_id"), table_name="api_keys")
    op.drop_table("api_keys")
    op.drop_index(op.f("ix_users_enterprise_id"), table_name="users")
    op.drop_table("users")
