"""The permits and targets in force: read-only, as the rules service last published them.

The rule files are the source of truth (docs/rules.md): a permit or target changes through a
reviewed edit of a rule file, never through the API. The rules service copies what its files
hold to the SQL store whenever it (re)loads them (:class:`store.sql.RulesInForce`); these routes
show that copy, with the rule file and version each entry comes from.

An enterprise's caller sees its own permits (those naming it or one of its sites) and the
targets that apply to it: its own and its sites', and the city's, its county's and its park's
(public policy). Bureau callers see everything. An enterprise or site filter outside the
caller's enterprise answers 404 as an unknown id does (:mod:`api.security.boundary`).
"""

from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from api.deps import RegistryDep
from api.security import CurrentPrincipal, visible_enterprise, visible_site
from store.sql import PermitInForce, RulesInForce, TargetInForce

router = APIRouter(tags=["rules in force"])

_RESPONSES: dict[int | str, dict[str, str]] = {
    401: {"description": "not signed in"},
    404: {"description": "no such enterprise or site, or not the caller's"},
}


def _in_force(request: Request) -> RulesInForce:
    return RulesInForce(request.app.state.engine)


InForceDep = Annotated[RulesInForce, Depends(_in_force)]
SiteFilter = Annotated[
    str | None, Query(description="permits that apply to the site: its own and its enterprise's")
]
InForceOn = Annotated[
    date | None, Query(description="only those in force on this local day; absent: every period")
]
TargetsOf = Annotated[
    str | None, Query(description="the targets that apply to it, city-wide ones included")
]


class PermitOut(BaseModel):
    """A limit of one enterprise (all its sites) or one site, over its period."""

    enterprise: str | None = Field(description="the enterprise it names; null: a site's permit")
    site: str | None = Field(description="the site it names; null: every site of the enterprise")
    metric: str
    window: str = Field(description="the averaging window: hour, day, month or year")
    limit: float = Field(description="in the metric's unit")
    effective_from: date
    effective_until: date | None = Field(description="the last day in force; null: open-ended")
    reference: str = Field(description="the permit's number or document")
    rule_file: str
    file_version: str = Field(description="the version its rule file's results record")

    @classmethod
    def of(cls, permit: PermitInForce) -> "PermitOut":
        """The answer for a published permit."""
        return cls(
            enterprise=permit.enterprise_id,
            site=permit.site_id,
            metric=permit.metric,
            window=permit.window,
            limit=permit.limit,
            effective_from=permit.effective_from,
            effective_until=permit.effective_until,
            reference=permit.reference,
            rule_file=permit.rule_file,
            file_version=permit.file_version,
        )


class PermitList(BaseModel):
    """Permits as published at ``published_at`` (null: nothing published yet), in file order."""

    published_at: datetime | None
    items: list[PermitOut]


class ScopeOut(BaseModel):
    """Where a target applies: the levels its rule names; all null is the whole city."""

    county: str | None
    park: str | None
    enterprise: str | None
    site: str | None


class PointOut(BaseModel):
    """A year and the value then."""

    year: int
    value: float


class TargetOut(BaseModel):
    """An energy-intensity target, or an annual target's path from a baseline to a goal.

    ``energy_intensity``: ``target`` kgce per unit of output over ``window`` (day or month),
    per enterprise. ``annual_target``: the year's ``metric`` at ``level`` from ``baseline`` to
    ``target`` (with its year), ``margin`` allowed over the path before a warning.
    """

    rule: str
    kind: Literal["energy_intensity", "annual_target"]
    level: Literal["site", "park", "county", "city", "enterprise"]
    scope: ScopeOut
    metric: str
    window: str
    target: float
    target_year: int | None
    baseline: PointOut | None
    margin: float | None
    rule_file: str
    file_version: str

    @classmethod
    def of(cls, target: TargetInForce) -> "TargetOut":
        """The answer for a published target."""
        baseline = None
        if target.baseline_year is not None and target.baseline_value is not None:
            baseline = PointOut(year=target.baseline_year, value=target.baseline_value)
        return cls(
            rule=target.rule_id,
            kind=target.kind,
            level=target.level,
            scope=ScopeOut(
                county=target.county_id,
                park=target.park_id,
                enterprise=target.enterprise_id,
                site=target.site_id,
            ),
            metric=target.metric,
            window=target.window,
            target=target.target_value,
            target_year=target.target_year,
            baseline=baseline,
            margin=target.margin,
            rule_file=target.rule_file,
            file_version=target.file_version,
        )


class TargetList(BaseModel):
    """Targets as published at ``published_at`` (null: nothing published yet), in file order."""

    published_at: datetime | None
    items: list[TargetOut]


@router.get("/permits", responses=_RESPONSES)
def list_permits(  # noqa: PLR0913 - one parameter per query field
    *,
    principal: CurrentPrincipal,
    registry: RegistryDep,
    in_force: InForceDep,
    enterprise: str | None = None,
    site: SiteFilter = None,
    in_force_on: InForceOn = None,
) -> PermitList:
    """The permits in the rule files; an enterprise's caller gets its own."""
    if enterprise is not None:
        visible_enterprise(registry, principal, enterprise)
    if site is not None:
        visible_site(registry, principal, site)
    permits = in_force.permits(
        enterprise_id=enterprise or principal.enterprise, site_id=site, in_force_on=in_force_on
    )
    return PermitList(
        published_at=in_force.published_at(), items=[PermitOut.of(p) for p in permits]
    )


@router.get("/targets", responses=_RESPONSES)
def list_targets(
    principal: CurrentPrincipal,
    registry: RegistryDep,
    in_force: InForceDep,
    enterprise: TargetsOf = None,
) -> TargetList:
    """The energy and annual targets in the rule files; an enterprise's caller, those of it."""
    if enterprise is not None:
        visible_enterprise(registry, principal, enterprise)
    targets = in_force.targets(enterprise_id=enterprise or principal.enterprise)
    return TargetList(
        published_at=in_force.published_at(), items=[TargetOut.of(t) for t in targets]
    )
