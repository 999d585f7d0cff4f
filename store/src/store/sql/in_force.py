"""The permits and targets in force, as the rules service last published them from its files.

The rule files stay the source of truth (docs/rules.md): they are versioned and reviewed, and
only the rules service reads them. Whenever it (re)loads them it publishes what they hold
through :meth:`RulesInForce.replace` — the whole snapshot, deleted and inserted in one
transaction, so a reader sees one publication or the next, never a mixture. The API reads the
snapshot back, filtered to an enterprise or a site.

Scopes are kept as the rule files name them, without foreign keys: a file may name a site the
registry does not hold yet. Filtering joins the registry's sites at query time.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal, cast

from sqlalchemy import ColumnElement, Engine, and_, delete, func, or_, select

from store.sql.engine import session_factory
from store.sql.models import Enterprise, PermitInForceRow, Site, TargetInForceRow

TargetKind = Literal["energy_intensity", "annual_target"]
TargetLevel = Literal["site", "park", "county", "city", "enterprise"]


@dataclass(frozen=True, slots=True)
class PermitInForce:
    """A limit of one enterprise or site over a period (``effective_until``: last day, or None)."""

    enterprise_id: str | None
    site_id: str | None
    metric: str
    window: str
    limit: float
    effective_from: date
    effective_until: date | None
    reference: str
    rule_file: str
    file_version: str

    def in_force(self, day: date) -> bool:
        """Whether the permit applies on ``day`` (a local calendar day)."""
        return self.effective_from <= day and (
            self.effective_until is None or day <= self.effective_until
        )


@dataclass(frozen=True, slots=True)
class TargetInForce:
    """A target rule: where it applies and what it asks.

    ``energy_intensity``: ``target_value`` kgce per unit of output over ``window`` (day or
    month). ``annual_target``: from ``baseline_value`` in ``baseline_year`` to ``target_value``
    in ``target_year``, ``margin`` allowed over the path. The scope ids are those the rule
    names; all None is the whole city.
    """

    rule_id: str
    kind: TargetKind
    level: TargetLevel
    county_id: str | None
    park_id: str | None
    enterprise_id: str | None
    site_id: str | None
    metric: str
    window: str
    target_value: float
    rule_file: str
    file_version: str
    baseline_year: int | None = None
    baseline_value: float | None = None
    target_year: int | None = None
    margin: float | None = None


class RulesInForce:
    """The published snapshot of permits and targets; every method is one transaction."""

    def __init__(self, engine: Engine) -> None:
        self._sessions = session_factory(engine)

    def replace(
        self,
        permits: Sequence[PermitInForce],
        targets: Sequence[TargetInForce],
        published_at: datetime,
    ) -> None:
        """Make these the permits and targets in force, published at ``published_at`` (UTC)."""
        with self._sessions() as session, session.begin():
            session.execute(delete(PermitInForceRow))
            session.execute(delete(TargetInForceRow))
            session.add_all(_permit_row(p, published_at) for p in permits)
            session.add_all(_target_row(t, published_at) for t in targets)

    def published_at(self) -> datetime | None:
        """When the snapshot held was published; None before the first publication with rows."""
        with self._sessions() as session:
            permits = session.scalar(select(func.max(PermitInForceRow.published_at)))
            targets = session.scalar(select(func.max(TargetInForceRow.published_at)))
        found = [t for t in (permits, targets) if t is not None]
        return max(found) if found else None

    def permits(
        self,
        *,
        enterprise_id: str | None = None,
        site_id: str | None = None,
        in_force_on: date | None = None,
    ) -> list[PermitInForce]:
        """Permits within an enterprise, applying to a site, in force on a day (each optional).

        A permit is within an enterprise when its scope names it or one of its sites; it applies
        to a site when it names the site, or the site's enterprise and no other site.
        """
        row = PermitInForceRow
        query = select(row).order_by(row.id)  # as published: in the rule files' order
        if enterprise_id is not None:
            query = query.where(_within(row, enterprise_id))
        if site_id is not None:
            owner = select(Site.enterprise_id).where(Site.id == site_id).scalar_subquery()
            query = query.where(
                or_(row.site_id.is_(None), row.site_id == site_id),
                or_(row.enterprise_id.is_(None), row.enterprise_id == owner),
            )
        if in_force_on is not None:
            query = query.where(
                row.effective_from <= in_force_on,
                or_(row.effective_until.is_(None), row.effective_until >= in_force_on),
            )
        with self._sessions() as session:
            return [_permit(r) for r in session.scalars(query)]

    def targets(self, *, enterprise_id: str | None = None) -> list[TargetInForce]:
        """Every target, or those that apply to an enterprise (None: all).

        A target applies to an enterprise when every level its scope names agrees with it:
        city-wide targets, those of its county or park, its own, and those of its sites.
        """
        row = TargetInForceRow
        query = select(row).order_by(row.id)  # as published: in the rule files' order
        with self._sessions() as session:
            if enterprise_id is not None:
                place = session.execute(
                    select(Enterprise.county_id, Enterprise.park_id).where(
                        Enterprise.id == enterprise_id
                    )
                ).one_or_none()
                county, park = place if place is not None else (None, None)
                query = query.where(
                    _within(row, enterprise_id),
                    or_(row.county_id.is_(None), row.county_id == county),
                    or_(row.park_id.is_(None), row.park_id == park),
                )
            return [_target(r) for r in session.scalars(query)]


def _within(
    row: type[PermitInForceRow] | type[TargetInForceRow], enterprise_id: str
) -> ColumnElement[bool]:
    """The scope names no other enterprise, and no site but the enterprise's own."""
    sites = select(Site.id).where(Site.enterprise_id == enterprise_id)
    return and_(
        or_(row.enterprise_id.is_(None), row.enterprise_id == enterprise_id),
        or_(row.site_id.is_(None), row.site_id.in_(sites)),
    )


def _permit_row(permit: PermitInForce, published_at: datetime) -> PermitInForceRow:
    return PermitInForceRow(
        enterprise_id=permit.enterprise_id,
        site_id=permit.site_id,
        metric=permit.metric,
        window=permit.window,
        limit_value=permit.limit,
        effective_from=permit.effective_from,
        effective_until=permit.effective_until,
        reference=permit.reference,
        rule_file=permit.rule_file,
        file_version=permit.file_version,
        published_at=published_at,
    )


def _permit(row: PermitInForceRow) -> PermitInForce:
    return PermitInForce(
        enterprise_id=row.enterprise_id,
        site_id=row.site_id,
        metric=row.metric,
        window=row.window,
        limit=row.limit_value,
        effective_from=row.effective_from,
        effective_until=row.effective_until,
        reference=row.reference,
        rule_file=row.rule_file,
        file_version=row.file_version,
    )


def _target_row(target: TargetInForce, published_at: datetime) -> TargetInForceRow:
    return TargetInForceRow(
        rule_id=target.rule_id,
        kind=target.kind,
        level=target.level,
        county_id=target.county_id,
        park_id=target.park_id,
        enterprise_id=target.enterprise_id,
        site_id=target.site_id,
        metric=target.metric,
        window=target.window,
        target_value=target.target_value,
        baseline_year=target.baseline_year,
        baseline_value=target.baseline_value,
        target_year=target.target_year,
        margin=target.margin,
        rule_file=target.rule_file,
        file_version=target.file_version,
        published_at=published_at,
    )


def _target(row: TargetInForceRow) -> TargetInForce:
    return TargetInForce(
        rule_id=row.rule_id,
        kind=cast("TargetKind", row.kind),  # the table's check constraints hold them to these
        level=cast("TargetLevel", row.level),
        county_id=row.county_id,
        park_id=row.park_id,
        enterprise_id=row.enterprise_id,
        site_id=row.site_id,
        metric=row.metric,
        window=row.window,
        target_value=row.target_value,
        rule_file=row.rule_file,
        file_version=row.file_version,
        baseline_year=row.baseline_year,
        baseline_value=row.baseline_value,
        target_year=row.target_year,
        margin=row.margin,
    )
