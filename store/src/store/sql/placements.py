"""Where each gateway stands (site, enterprise, park, county), cached from the registry.

Ingest tags every reading with its gateway's placement, and the rules engine scopes its rules by
it. Looking it up per message would put the SQL store on the hot path, so the placements are
held in memory and reloaded when the registry's
change marker moves (checked at most every ``refresh_s`` seconds) or when a gateway is not found.
"""

import time
from collections.abc import Callable

from store.sql.errors import UnknownGatewayError
from store.sql.records import Placement
from store.sql.registry import Registry


class PlacementCache:
    """Gateway id → placement, refreshed from the registry when it changes."""

    def __init__(
        self,
        registry: Registry,
        *,
        refresh_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._registry = registry
        self._refresh_s = refresh_s
        self._clock = clock
        self._placements: dict[str, Placement] = {}
        self._version: object = None
        self._checked_at: float | None = None

    def placement(self, gateway: str) -> Placement:
        """The placement of ``gateway``.

        Raises:
            UnknownGatewayError: the registry does not know the gateway, even after a reload.
        """
        now = self._clock()
        if self._checked_at is None or now - self._checked_at >= self._refresh_s:
            self._reload_if_changed(now)
        found = self._placements.get(gateway)
        if found is None:
            self._reload_if_changed(now)
            found = self._placements.get(gateway)
        if found is None:
            raise UnknownGatewayError(gateway)
        return found

    def _reload_if_changed(self, now: float) -> None:
        self._checked_at = now
        version = self._registry.version()
        if version != self._version or not self._placements:
            self._placements = self._registry.placements()
            self._version = version
