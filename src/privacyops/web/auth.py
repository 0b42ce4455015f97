"""Who may call what: staff sessions, API tokens, CSRF tokens, and the dependencies for routers.

Routers protect themselves with two dependencies:

``require_staff(*roles)``
    For dashboard pages and their forms. The caller must be logged in through the browser (a
    session cookie); ``admin`` passes every role check, and ``auditor`` appears only on read
    pages. Anonymous callers get 401 (pages: a redirect to ``/login``), the wrong role 403. The
    dependency returns the :class:`~privacyops.accounts.Principal`::

        @router.get("/dashboard/requests")
        def requests_page(who: Principal = Depends(require_staff(*STAFF_READ))): ...

        @router.post("/dashboard/requests/{rid}/extend")
        async def extend(request: Request, who: Principal = Depends(require_staff("dpo"))):
            form = await request.form()
            if not check_csrf(request, form, who): ...   # forms check their token themselves

``require_scope(scope)``
    For the JSON API under ``/api/v1``: an ``Authorization: Bearer pops_...`` token holding
    ``scope`` (see :data:`privacyops.accounts.SCOPES`), or a staff session whose role grants it
    (an unsafe method through a session also needs the ``X-CSRF-Token`` header)::

        @router.get("/api/v1/requests", dependencies=[Depends(require_scope("requests:read"))])

``STAFF_READ`` / ``STAFF_WRITE`` are the usual role sets for read pages and for acts.

CSRF tokens are ``nonce.issued.signature``: an HMAC (key derived from the master key) over the
nonce, the issue time and what the token is bound to (the staff session, or for public forms an
anonymous ``privacyops_visitor`` cookie). A token is accepted once (its nonce is then recorded)
and for ``form_token_ttl_seconds``; a replayed or expired one is refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Mapping
from typing import Any

from fastapi import Request

from privacyops.accounts import Principal, principal_for_session, principal_for_token, spend_nonce
from privacyops.errors import AuthenticationRequired, PermissionDenied, VerificationFailed
from privacyops.settings import Settings
from privacyops.store.keys import load_master_key
from privacyops.web.deps import app_database

__all__ = [
    "CSRF_FIELD",
    "SESSION_COOKIE",
    "STAFF_READ",
    "STAFF_WRITE",
    "VISITOR_COOKIE",
    "RequireCaller",
    "RequireScope",
    "RequireStaff",
    "check_csrf",
    "cookie_secure",
    "current_principal",
    "issue_csrf",
    "optional_principal",
    "raise_for_csrf",
    "require_caller",
    "require_scope",
    "require_staff",
]

SESSION_COOKIE = "privacyops_session"
VISITOR_COOKIE = "privacyops_visitor"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"

#: Roles that may read dashboard pages (``admin`` is implied everywhere).
STAFF_READ: tuple[str, ...] = ("dpo", "operator", "auditor")
#: Roles that may act on requests and queues.
STAFF_WRITE: tuple[str, ...] = ("dpo", "operator")

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def cookie_secure(request: Request) -> bool:
    """Cookies get ``Secure`` when the service is reached (or published) over https."""
    settings: Settings = request.app.state.settings
    return request.url.scheme == "https" or settings.base_url.startswith("https://")


def _csrf_key(request: Request) -> bytes:
    key: bytes | None = getattr(request.app.state, "csrf_key", None)
    if key is None:
        master = load_master_key(request.app.state.settings)
        key = hmac.new(master, b"privacyops/web/csrf/v1", hashlib.sha256).digest()
        request.app.state.csrf_key = key
    return key


def current_principal(request: Request) -> Principal | None:
    """The caller: a bearer token or a staff session cookie, or ``None`` (cached per request)."""
    if hasattr(request.state, "principal"):
        cached: Principal | None = request.state.principal
        return cached
    settings: Settings = request.app.state.settings
    principal: Principal | None = None
    header = request.headers.get("authorization", "")
    cookie = request.cookies.get(SESSION_COOKIE, "")
    if header or cookie:
        db = app_database(request.app)
        with db.session() as session:
            if header:
                scheme, _, value = header.partition(" ")
                if scheme.lower() == "bearer" and value.strip():
                    principal = principal_for_token(session, value.strip())
            elif cookie:
                principal = principal_for_session(
                    session, cookie, idle_seconds=settings.session_idle_seconds
                )
    request.state.principal = principal
    if cookie and principal is None and not header:
        request.state.session_expired = True
    return principal


def optional_principal(request: Request) -> Principal | None:
    """Dependency: the caller if logged in, else ``None`` (for pages that show a login link)."""
    return current_principal(request)


class RequireStaff:
    """The dependency :func:`require_staff` returns; ``roles`` says who passes."""

    def __init__(self, roles: tuple[str, ...]) -> None:
        self.roles = roles

    def __repr__(self) -> str:
        return f"require_staff{self.roles!r}"

    def __call__(self, request: Request) -> Principal:
        principal = current_principal(request)
        if principal is None or principal.kind != "session":
            raise AuthenticationRequired("Log in to see this page.")
        if self.roles and not principal.has_role(*self.roles):
            raise PermissionDenied("Your role does not allow this.")
        return principal


class RequireScope:
    """The dependency :func:`require_scope` returns; ``scope`` says what it needs."""

    def __init__(self, scope: str) -> None:
        self.scope = scope

    def __repr__(self) -> str:
        return f"require_scope({self.scope!r})"

    def __call__(self, request: Request) -> Principal:
        principal = current_principal(request)
        if principal is None:
            raise AuthenticationRequired("Send an API token (Authorization: Bearer ...).")
        if self.scope not in principal.scopes:
            raise PermissionDenied(f"This needs the {self.scope!r} scope.")
        if principal.kind == "session" and request.method not in _SAFE_METHODS:
            token = request.headers.get(CSRF_HEADER, "")
            if not check_csrf(request, {CSRF_FIELD: token}, principal):
                raise PermissionDenied("Send a valid X-CSRF-Token header with this call.")
        return principal


class RequireCaller:
    """The dependency :func:`require_caller` returns: any staff session or valid API token."""

    def __repr__(self) -> str:
        return "require_caller()"

    def __call__(self, request: Request) -> Principal:
        principal = current_principal(request)
        if principal is None:
            raise AuthenticationRequired("Send an API token (Authorization: Bearer ...).")
        return principal


def require_caller() -> RequireCaller:
    """Dependency: any authenticated caller, staff session or API token, whatever its scopes."""
    return RequireCaller()


def require_staff(*roles: str) -> RequireStaff:
    """Dependency: a logged-in member of staff with one of ``roles`` (admin always passes).

    Raises:
        AuthenticationRequired: no session, or it expired (pages redirect to ``/login``).
        PermissionDenied: logged in with a role not in ``roles``.
    """
    return RequireStaff(tuple(roles))


def require_scope(scope: str) -> RequireScope:
    """Dependency: a bearer token or staff session allowed ``scope``.

    Raises:
        AuthenticationRequired: no valid token or session.
        PermissionDenied: the token/role lacks ``scope``, or a session's unsafe call has no
            valid ``X-CSRF-Token`` header.
    """
    return RequireScope(scope)


def _binding(request: Request, principal: Principal | None) -> str | None:
    if principal is not None and principal.session_hash:
        return "s:" + principal.session_hash
    visitor = getattr(request.state, "new_visitor", None) or request.cookies.get(VISITOR_COOKIE)
    return "v:" + visitor if visitor else None


def _sign(key: bytes, binding: str, nonce: str, issued: int) -> str:
    mac = hmac.new(key, f"{binding}|{nonce}|{issued}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:24]).decode().rstrip("=")


def issue_csrf(request: Request, principal: Principal | None = None) -> str:
    """A fresh CSRF token for a form on this page.

    For an anonymous caller this also arranges the ``privacyops_visitor`` cookie that binds the
    token (strictly necessary for the form's security, so it needs no consent).
    """
    if principal is None:
        principal = current_principal(request)
    binding = _binding(request, principal)
    if binding is None:
        visitor = secrets.token_urlsafe(18)
        request.state.new_visitor = visitor
        binding = "v:" + visitor
    nonce = secrets.token_urlsafe(12)
    issued = int(time.time())
    return f"{nonce}.{issued}.{_sign(_csrf_key(request), binding, nonce, issued)}"


def check_csrf(
    request: Request, form: Mapping[str, Any], principal: Principal | None = None
) -> bool:
    """True when ``form`` carries a valid, fresh, unused CSRF token bound to this caller.

    Spends the token: a second submission with it returns ``False``.
    """
    token = form.get(CSRF_FIELD)
    if not isinstance(token, str) or len(token) > 200 or token.count(".") != 2:
        return False
    if principal is None:
        principal = current_principal(request)
    binding = _binding(request, principal)
    if binding is None:
        return False
    nonce, issued_text, signature = token.split(".")
    if not issued_text.isdigit():
        return False
    issued = int(issued_text)
    settings: Settings = request.app.state.settings
    if not hmac.compare_digest(signature, _sign(_csrf_key(request), binding, nonce, issued)):
        return False
    now = time.time()
    if issued > now + 60 or now - issued > settings.form_token_ttl_seconds:
        return False
    db = app_database(request.app)
    with db.session() as session:
        return spend_nonce(session, nonce, max_age_seconds=settings.form_token_ttl_seconds)


def raise_for_csrf(request: Request, form: Mapping[str, Any], principal: Principal | None) -> None:
    """Like :func:`check_csrf` but raises :class:`VerificationFailed` (for JSON-free acts)."""
    if not check_csrf(request, form, principal):
        raise VerificationFailed(
            "This form has expired or was already sent. Reload the page and try again."
        )
