"""Staff accounts: users with roles, server-side sessions, scoped API tokens.

The web layer (:mod:`privacyops.web.auth`) turns these into FastAPI dependencies; the CLI
(``privacyops admin ...``) creates users and tokens.

Names are imported on first use (PEP 562), so that ``privacyops.accounts.roles`` and
``privacyops.accounts.models`` can be imported without argon2 and the service module.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from privacyops.accounts.models import ApiToken, SpentCsrfNonce, StaffSession, StaffUser
    from privacyops.accounts.roles import ROLE_SCOPES, ROLES, SCOPES
    from privacyops.accounts.service import (
        Principal,
        authenticate,
        create_api_token,
        create_session,
        create_user,
        end_session,
        normalise_email,
        principal_for_session,
        principal_for_token,
        revoke_api_token,
        set_password,
        spend_nonce,
    )

_WHERE = {
    "ApiToken": "models",
    "SpentCsrfNonce": "models",
    "StaffSession": "models",
    "StaffUser": "models",
    "ROLES": "roles",
    "ROLE_SCOPES": "roles",
    "SCOPES": "roles",
    "Principal": "service",
    "authenticate": "service",
    "create_api_token": "service",
    "create_session": "service",
    "create_user": "service",
    "end_session": "service",
    "normalise_email": "service",
    "principal_for_session": "service",
    "principal_for_token": "service",
    "revoke_api_token": "service",
    "set_password": "service",
    "spend_nonce": "service",
}

__all__ = [
    "ROLES",
    "ROLE_SCOPES",
    "SCOPES",
    "ApiToken",
    "Principal",
    "SpentCsrfNonce",
    "StaffSession",
    "StaffUser",
    "authenticate",
    "create_api_token",
    "create_session",
    "create_user",
    "end_session",
    "normalise_email",
    "principal_for_session",
    "principal_for_token",
    "revoke_api_token",
    "set_password",
    "spend_nonce",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
