"""The enterprise boundary: an enterprise's caller sees and acts on its own records only.

Every route that returns or changes something owned by an enterprise (a site, a gateway, an
alert, an enterprise's report) goes through these functions. What lies outside the caller's
enterprise is answered exactly as what does not exist — 404 with the same message — so ids of
other enterprises leak nothing, not even that they exist. Bureau callers (``enterprise`` is
``None``) see everything.
"""

from fastapi import HTTPException, status

from api.security.principal import Principal
from store.sql import (
    AlertNotFoundError,
    AlertRecord,
    AlertStore,
    NotFoundError,
    Placement,
    Registry,
    UnknownGatewayError,
)
from store.sql.records import EnterpriseRecord, SiteRecord


class OutsideBoundaryError(Exception):
    """A listing asked for another enterprise's records: the answer is empty, not an error."""


def can_see(principal: Principal, enterprise: str | None) -> bool:
    """Whether records of ``enterprise`` (``None``: the bureau's own) are the caller's to see."""
    return principal.enterprise is None or principal.enterprise == enterprise


def not_found(what: str) -> HTTPException:
    """404 naming what was asked for, the same for the unknown and the forbidden."""
    return HTTPException(status.HTTP_404_NOT_FOUND, f"no {what}")


def visible_site(registry: Registry, principal: Principal, site_id: str) -> SiteRecord:
    """The site, when it exists and is the caller's to see; else 404."""
    try:
        site = registry.get_site(site_id)
    except NotFoundError:
        raise not_found(f"site {site_id!r}") from None
    if not can_see(principal, site.enterprise_id):
        raise not_found(f"site {site_id!r}")
    return site


def visible_gateway(registry: Registry, principal: Principal, gateway_id: str) -> Placement:
    """Where the gateway stands, when it exists and is the caller's to see; else 404."""
    try:
        placement = registry.placement(gateway_id)
    except UnknownGatewayError:
        raise not_found(f"gateway {gateway_id!r}") from None
    if not can_see(principal, placement.enterprise):
        raise not_found(f"gateway {gateway_id!r}")
    return placement


def visible_enterprise(
    registry: Registry, principal: Principal, enterprise_id: str
) -> EnterpriseRecord:
    """The enterprise, when it exists and is the caller's to see; else 404."""
    try:
        enterprise = registry.get_enterprise(enterprise_id)
    except NotFoundError:
        raise not_found(f"enterprise {enterprise_id!r}") from None
    if not can_see(principal, enterprise.id):
        raise not_found(f"enterprise {enterprise_id!r}")
    return enterprise


def visible_alert(alerts: AlertStore, principal: Principal, alert_id: int) -> AlertRecord:
    """The alert, when it exists and is the caller's to see; else 404."""
    try:
        alert = alerts.alert(alert_id)
    except AlertNotFoundError:
        raise not_found(f"alert {alert_id}") from None
    if not can_see(principal, alert.enterprise):
        raise not_found(f"alert {alert_id}")
    return alert


def enterprise_in_scope(principal: Principal, requested: str | None) -> str | None:
    """The enterprise a listing is limited to: the caller's own, or what a bureau caller asks.

    Raises:
        OutsideBoundaryError: an enterprise's caller asked for another enterprise.
    """
    if principal.enterprise is None:
        return requested
    if requested is not None and requested != principal.enterprise:
        raise OutsideBoundaryError(requested)
    return principal.enterprise
