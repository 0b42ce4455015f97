"""Staff accounts: users with roles, server-side sessions, scoped API tokens.

The web layer (:mod:`privacyops.web.auth`) turns these into FastAPI dependencies; the CLI
(``privacyops admin ...``) creates users and tokens.
"""

from privacyops.accounts.models import ApiToken, SpentCsrfNonce, StaffSession, StaffUser
from privacyops.accounts.service import (
    ROLE_SCOPES,
    ROLES,
    SCOPES,
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
