"""Delivery progress: per-gateway watermark, stored seqs above it, and gaps.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26

Written by hand to match :mod:`store.sql.models` at this revision; names follow
:data:`store.sql.models.NAMING_CONVENTION`, spelled out so this file stays valid when the
convention or the models change.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.String(64)  # telemetry.topics.IDENTIFIER_PATTERN: at most 64 characters
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the three delivery tables, empty: every gateway starts at watermark 0."""
    op.create_table(
        "delivery_progress",
        sa.Column("gateway", _ID, nullable=False),
        sa.Column("watermark", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.CheckConstraint(
            "watermark >= 0", name=op.f("ck_delivery_progress_watermark_not_negative")
        ),
        sa.PrimaryKeyConstraint("gateway", name=op.f("pk_delivery_progress")),
    )
    op.create_table(
        "delivery_stored",
        sa.Column("gateway", _ID, nullable=False),
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("stored_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("gateway", "seq", name=op.f("pk_delivery_stored")),
    )
    op.create_table(
        "delivery_gaps",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("gateway", _ID, nullable=False),
        sa.Column("first_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("detected_at", _TS, nullable=False),
        sa.Column("filled", sa.BigInteger(), nullable=False),
        sa.Column("filled_at", _TS, nullable=True),
        sa.CheckConstraint("first_seq <= last_seq", name=op.f("ck_delivery_gaps_range_ordered")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery_gaps")),
    )
    op.create_index(op.f("ix_delivery_gaps_gateway"), "delivery_gaps", ["gateway"])


def downgrade() -> None:
    """Drop the delivery tables; the gateways' progress is forgotten."""
    op.drop_index(op.f("ix_delivery_gaps_gateway"), table_name="delivery_gaps")
    op.drop_table("delivery_gaps")
    op.drop_table("delivery_stored")
    op.drop_table("delivery_progress")
