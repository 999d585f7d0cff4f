"""The bureau's dashboards, one module each; :data:`DASHBOARDS` lists them all."""

from dashboards.boards.city import CITY_OVERVIEW
from dashboards.boards.energy import ENERGY
from dashboards.boards.fleet import FLEET_HEALTH
from dashboards.boards.site import SITE_DETAIL
from dashboards.model import Dashboard

DASHBOARDS: tuple[Dashboard, ...] = (CITY_OVERVIEW, SITE_DETAIL, ENERGY, FLEET_HEALTH)

__all__ = ["CITY_OVERVIEW", "DASHBOARDS", "ENERGY", "FLEET_HEALTH", "SITE_DETAIL"]
