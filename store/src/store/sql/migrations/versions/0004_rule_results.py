"""Rule results: what each rule decided about each subject and window.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26

Written by hand to match :mod:`store.sql.models` at this revision; names follow
:data:`store.sql.models.NAMING_CONVENTION`, spelled out so this file stays valid when the
convention or the models change.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.String(64)  # telemetry.topics.IDENTIFIER_PATTERN: at most 64 characters
_NAME = sa.String(200)
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the rule results table, empty."""
    op.create_table(
        "rule_results",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("rule", _ID, nullable=False),
        sa.Column("rule_version", _NAME, nullable=False),
        sa.Column("kind", _ID, nullable=False),
        sa.Column("subject", _NAME, nullable=False),
        sa.Column("window_start", _TS, nullable=False),
        sa.Column("window_end", _TS, nullable=True),
        sa.Column("outcome", _ID, nullable=False),
        sa.Column("severity", _ID, nullable=False),
        sa.Column("value", sa.Double(), nullable=True),
        sa.Column("limit", sa.Double(), nullable=True),
        sa.Column("standard", _NAME, nullable=True),
        sa.Column("county", _ID, nullable=True),
        sa.Column("park", _ID, nullable=True),
        sa.Column("enterprise", _ID, nullable=True),
        sa.Column("site", _ID, nullable=True),
        sa.Column("device", _ID, nullable=True),
        sa.Column("gateway", _ID, nullable=True),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("evaluated_at", _TS, nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rule_results")),
        sa.UniqueConstraint("rule", "subject", "window_start", name=op.f("uq_rule_results_rule")),
    )
    op.create_index(op.f("ix_rule_results_window_start"), "rule_results", ["window_start"])
    op.create_index(op.f("ix_rule_results_outcome"), "rule_results", ["outcome"])
    op.create_index(op.f("ix_rule_results_enterprise"), "rule_results", ["enterprise"])
    op.create_index(op.f("ix_rule_results_site"), "rule_results", ["site"])


def downgrade() -> None:
    """Drop the rule results table."""
    for column in ("site", "enterprise", "outcome", "window_start"):
        op.drop_index(op.f(f"ix_rule_results_{column}"), table_name="rule_results")
    op.drop_table("rule_results")
