"""Security of the API: who calls, what its role allows, and the enterprise boundary.

:data:`CurrentPrincipal` gives the caller, :data:`BureauAdmin` and :data:`Responder` (or
:func:`allow`) guard roles, and :mod:`api.security.boundary` keeps every route within the
caller's enterprise. docs/api.md explains sign-in, roles and the boundary rule.
"""

from api.security.authentication import (
    API_KEY_HEADER,
    TOKEN_URL,
    BureauAdmin,
    CurrentPrincipal,
    Responder,
    allow,
    current_principal,
)
from api.security.boundary import (
    OutsideBoundaryError,
    can_see,
    enterprise_in_scope,
    visible_alert,
    visible_enterprise,
    visible_gateway,
    visible_site,
)
from api.security.principal import Credential, Principal

__all__ = [
    "API_KEY_HEADER",
    "TOKEN_URL",
    "BureauAdmin",
    "Credential",
    "CurrentPrincipal",
    "OutsideBoundaryError",
    "Principal",
    "Responder",
    "allow",
    "can_see",
    "current_principal",
    "enterprise_in_scope",
    "visible_alert",
    "visible_enterprise",
    "visible_gateway",
    "visible_site",
]
