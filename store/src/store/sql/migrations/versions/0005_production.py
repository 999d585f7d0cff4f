"""Production output: what each enterprise produced per local day or month, as it submitted it.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27

Written by hand to match :mod:`store.sql.models` at this revision; names follow
:data:`store.sql.models.NAMING_CONVENTION`, spelled out so this file stays valid when the
convention or the models change.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.String(64)  # telemetry.topics.IDENTIFIER_PATTERN: at most 64 characters
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the production output table, empty."""
    op.create_table(
        "production_output",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("enterprise_id", _ID, nullable=False),
        sa.Column("period", sa.String(16), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("quantity", sa.Double(), nullable=False),
        sa.Column("unit", sa.String(32), nullable=False),
        sa.Column("submitted_at", _TS, nullable=False),
        sa.Column("submitted_by", sa.String(200), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "period IN ('day', 'month')", name=op.f("ck_production_output_period_known")
        ),
        sa.CheckConstraint(
            "quantity >= 0", name=op.f("ck_production_output_quantity_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_production_output_enterprise_id_enterprises"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_production_output")),
        sa.UniqueConstraint(
            "enterprise_id",
            "period",
            "period_start",
            name=op.f("uq_production_output_enterprise_id"),
        ),
    )


def downgrade() -> None:
    """Drop the production output table and every figure in it."""
    op.drop_table("production_output")
