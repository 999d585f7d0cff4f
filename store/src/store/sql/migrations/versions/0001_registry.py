"""Registry: counties, parks, enterprises, sites, gateways and the registry's change counter.

Revision ID: 0001
Revises:
Create Date: 2025-11-26

Written by hand to match :mod:`store.sql.models` at this revision; later revisions must not
edit it, because databases in the field have already run it. Names follow
:data:`store.sql.models.NAMING_CONVENTION`, spelled out here so this file stays valid when the
convention or the models change.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.String(64)  # telemetry.topics.IDENTIFIER_PATTERN: at most 64 characters
_NAME = sa.String(200)


def upgrade() -> None:
    """Create the registry's tables and its change counter at version 0."""
    op.create_table(
        "counties",
        sa.Column("id", _ID, nullable=False),
        sa.Column("name", _NAME, nullable=False),
        sa.Column("name_zh", _NAME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_counties")),
    )
    op.create_table(
        "parks",
        sa.Column("id", _ID, nullable=False),
        sa.Column("name", _NAME, nullable=False),
        sa.Column("name_zh", _NAME, nullable=False),
        sa.Column("county_id", _ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["county_id"], ["counties.id"], name=op.f("fk_parks_county_id_counties")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_parks")),
    )
    op.create_index(op.f("ix_parks_county_id"), "parks", ["county_id"])
    op.create_table(
        "enterprises",
        sa.Column("id", _ID, nullable=False),
        sa.Column("name", _NAME, nullable=False),
        sa.Column("name_zh", _NAME, nullable=True),
        sa.Column("park_id", _ID, nullable=True),
        sa.Column("county_id", _ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["county_id"], ["counties.id"], name=op.f("fk_enterprises_county_id_counties")
        ),
        sa.ForeignKeyConstraint(
            ["park_id"], ["parks.id"], name=op.f("fk_enterprises_park_id_parks")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enterprises")),
    )
    op.create_index(op.f("ix_enterprises_county_id"), "enterprises", ["county_id"])
    op.create_index(op.f("ix_enterprises_park_id"), "enterprises", ["park_id"])
    op.create_table(
        "sites",
        sa.Column("id", _ID, nullable=False),
        sa.Column("name", _NAME, nullable=False),
        sa.Column("enterprise_id", _ID, nullable=False),
        sa.Column("latitude", sa.Double(), nullable=True),
        sa.Column("longitude", sa.Double(), nullable=True),
        sa.CheckConstraint("latitude BETWEEN -90 AND 90", name=op.f("ck_sites_latitude_range")),
        sa.CheckConstraint("longitude BETWEEN -180 AND 180", name=op.f("ck_sites_longitude_range")),
        sa.CheckConstraint(
            "(latitude IS NULL) = (longitude IS NULL)", name=op.f("ck_sites_coordinates_paired")
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_id"], ["enterprises.id"], name=op.f("fk_sites_enterprise_id_enterprises")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sites")),
    )
    op.create_index(op.f("ix_sites_enterprise_id"), "sites", ["enterprise_id"])
    op.create_table(
        "gateways",
        sa.Column("id", _ID, nullable=False),
        sa.Column("site_id", _ID, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_gateways_site_id_sites")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gateways")),
    )
    op.create_index(op.f("ix_gateways_site_id"), "gateways", ["site_id"])
    registry_version = op.create_table(
        "registry_version",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_registry_version_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_version")),
    )
    # The counter's one row exists from the start, so every registry write is a plain UPDATE
    # (which also serialises concurrent writers on its row lock).
    op.execute(
        registry_version.insert().values(id=1, version=0, changed_at=sa.func.current_timestamp())
    )


def downgrade() -> None:
    """Drop the registry, children before parents."""
    op.drop_table("registry_version")
    op.drop_index(op.f("ix_gateways_site_id"), table_name="gateways")
    op.drop_table("gateways")
    op.drop_index(op.f("ix_sites_enterprise_id"), table_name="sites")
    op.drop_table("sites")
    op.drop_index(op.f("ix_enterprises_park_id"), table_name="enterprises")
    op.drop_index(op.f("ix_enterprises_county_id"), table_name="enterprises")
    op.drop_table("enterprises")
    op.drop_index(op.f("ix_parks_county_id"), table_name="parks")
    op.drop_table("parks")
    op.drop_table("counties")
