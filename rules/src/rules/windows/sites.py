"""Where each site stands, from the registry's gateway placements: what scopes and permits match.

Window rules judge sites, not gateways: a site's means take every device of every gateway at
the site. The registry places gateways (:meth:`store.sql.Registry.placements`); a site's
enterprise, park and county are those of its gateways, and its results name its gateway only
when it has exactly one.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from rules.model import Scope
from store.sql import Placement


@dataclass(frozen=True, slots=True)
class SitePlacement:
    """A registered site with a gateway, and the registry levels above it."""

    site: str
    enterprise: str
    park: str | None
    county: str
    gateways: tuple[str, ...]

    @property
    def gateway(self) -> str | None:
        """The site's gateway when it has exactly one; a result about a site names no other."""
        return self.gateways[0] if len(self.gateways) == 1 else None

    def within(self, scope: Scope) -> bool:
        """Whether the site is in ``scope``."""
        return scope.matches(
            county=self.county, park=self.park, enterprise=self.enterprise, site=self.site
        )


def site_placements(placements: Iterable[Placement]) -> dict[str, SitePlacement]:
    """Sites by id, from gateway placements, in site order."""
    gateways: dict[str, list[Placement]] = {}
    for placement in placements:
        gateways.setdefault(placement.site, []).append(placement)
    return {
        site: SitePlacement(
            site=site,
            enterprise=found[0].enterprise,
            park=found[0].park,
            county=found[0].county,
            gateways=tuple(sorted(p.gateway for p in found)),
        )
        for site, found in sorted(gateways.items())
    }
