"""The permits and targets in force: the rules service's published copy of its rule files.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02

Written by hand to match :mod:`store.sql.models` at this revision; names follow
:data:`store.sql.models.NAMING_CONVENTION`, spelled out so this file stays valid when the
convention or the models change.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.String(64)  # telemetry.topics.IDENTIFIER_PATTERN: at most 64 characters
_NAME = sa.String(200)
_VERSION = sa.String(120)
_TS = sa.DateTime(timezone=True)


def _source_columns() -> list[sa.schema.SchemaItem]:
    """The rule file a row comes from, its version, and when the snapshot was published."""
    return [
        sa.Column("rule_file", _NAME, nullable=False),
        sa.Column("file_version", _VERSION, nullable=False),
        sa.Column("published_at", _TS, nullable=False),
    ]


def upgrade() -> None:
    """Create the permit and target tables, empty until the rules service publishes."""
    op.create_table(
        "permits_in_force",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("enterprise_id", _ID, nullable=True),
        sa.Column("site_id", _ID, nullable=True),
        sa.Column("metric", _ID, nullable=False),
        sa.Column("window", sa.String(16), nullable=False),
        sa.Column("limit_value", sa.Double(), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("effective_until", sa.Date(), nullable=True),
        sa.Column("reference", sa.Text(), nullable=False),
        *_source_columns(),
        sa.CheckConstraint(
            "enterprise_id IS NOT NULL OR site_id IS NOT NULL",
            name=op.f("ck_permits_in_force_names_enterprise_or_site"),
        ),
        sa.CheckConstraint("limit_value >= 0", name=op.f("ck_permits_in_force_limit_not_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_permits_in_force")),
    )
    op.create_index(
        op.f("ix_permits_in_force_enterprise_id"), "permits_in_force", ["enterprise_id"]
    )
    op.create_index(op.f("ix_permits_in_force_site_id"), "permits_in_force", ["site_id"])
    op.create_table(
        "targets_in_force",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("rule_id", _ID, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("county_id", _ID, nullable=True),
        sa.Column("park_id", _ID, nullable=True),
        sa.Column("enterprise_id", _ID, nullable=True),
        sa.Column("site_id", _ID, nullable=True),
        sa.Column("metric", _ID, nullable=False),
        sa.Column("window", sa.String(16), nullable=False),
        sa.Column("target_value", sa.Double(), nullable=False),
        sa.Column("baseline_year", sa.Integer(), nullable=True),
        sa.Column("baseline_value", sa.Double(), nullable=True),
        sa.Column("target_year", sa.Integer(), nullable=True),
        sa.Column("margin", sa.Double(), nullable=True),
        *_source_columns(),
        sa.CheckConstraint(
            "kind IN ('energy_intensity', 'annual_target')",
            name=op.f("ck_targets_in_force_kind_known"),
        ),
        sa.CheckConstraint(
            "level IN ('site', 'park', 'county', 'city', 'enterprise')",
            name=op.f("ck_targets_in_force_level_known"),
        ),
        sa.CheckConstraint(
            "(kind = 'annual_target') = (baseline_year IS NOT NULL AND target_year IS NOT NULL)",
            name=op.f("ck_targets_in_force_annual_has_years"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_targets_in_force")),
    )
    op.create_index(
        op.f("ix_targets_in_force_enterprise_id"), "targets_in_force", ["enterprise_id"]
    )


def downgrade() -> None:
    """Drop the permit and target tables: the next publication fills them again."""
    op.drop_index(op.f("ix_targets_in_force_enterprise_id"), table_name="targets_in_force")
    op.drop_table("targets_in_force")
    op.drop_index(op.f("ix_permits_in_force_site_id"), table_name="permits_in_force")
    op.drop_index(op.f("ix_permits_in_force_enterprise_id"), table_name="permits_in_force")
    op.drop_table("permits_in_force")
