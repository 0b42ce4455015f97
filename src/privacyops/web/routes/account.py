"""Staff login and logout, the dashboard's front page, and staff/token management (admin).

Pages: ``GET/POST /login``, ``POST /logout``, ``GET /dashboard``, ``GET /dashboard/staff``,
``POST /dashboard/staff`` (new user), ``POST /dashboard/staff/tokens`` (new API token, shown
once), ``POST /dashboard/staff/tokens/{token_id}/revoke``. JSON: ``GET /api/v1/me``.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from privacyops.accounts import (
    ROLES,
    SCOPES,
    ApiToken,
    Principal,
    StaffUser,
    authenticate,
    create_api_token,
    create_session,
    create_user,
    end_session,
    revoke_api_token,
)
from privacyops.errors import AuthenticationRequired, PrivacyOpsError
from privacyops.policy.schema import PolicyBook
from privacyops.settings import Settings
from privacyops.store import Database
from privacyops.web.auth import (
    SESSION_COOKIE,
    STAFF_READ,
    check_csrf,
    cookie_secure,
    current_principal,
    require_caller,
    require_staff,
)
from privacyops.web.deps import get_db, get_policy, get_settings_dep
from privacyops.web.forms import FORM_EXPIRED, FormValues, read_form
from privacyops.web.pages import add_nav, render
from privacyops.web.routes.dashboard_breaches import BREACH_ROLES, open_countdowns

router = APIRouter(tags=["staff"])
add_nav("/dashboard/staff", "Staff", ("admin",))


def _safe_next(value: str) -> str:
    """Only a local path: never an open redirect to another site."""
    if value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value[:500]
    return "/dashboard"


@router.get("/login", include_in_schema=False)
def login_page(request: Request, next: str = "/dashboard", expired: bool = False) -> Response:
    """The login form (says so when a session has just expired)."""
    error = None
    current_principal(request)
    if expired or getattr(request.state, "session_expired", False):
        error = "Your session has expired; please log in again."
    return render(request, "login.html", {"next": _safe_next(next), "email": "", "error": error})


@router.post("/login", include_in_schema=False)
async def login(
    request: Request,
    db: Database = Depends(get_db),
    settings: Settings = Depends(get_settings_dep),
) -> Response:
    """Check the password; on success start a fresh session and go to ``next``."""
    form = await read_form(request)
    v = FormValues(form)
    email = v.text("email", label="E-mail", required=True, max_len=254)
    password = form.get("password", "")
    target = _safe_next(str(form.get("next", "/dashboard")))
    context: dict[str, Any] = {"next": target, "email": email[:254]}

    def again(message: str, status: int) -> Response:
        return render(request, "login.html", {**context, "error": message}, status_code=status)

    limiter = request.app.state.rate_limiter
    client = request.client.host if request.client else "unknown"
    wait = limiter.hit(f"login:{client}", settings.login_attempts_per_minute)
    if wait is not None:
        response = again(f"Too many attempts; wait {wait} seconds and try again.", 429)
        response.headers["Retry-After"] = str(wait)
        return response
    if not check_csrf(request, form, None):
        return again(FORM_EXPIRED, 400)
    if v.errors or not isinstance(password, str) or not password:
        return again("Enter your e-mail and password.", 422)
    try:
        with db.session() as session:
            user = authenticate(session, email, password)
            token = create_session(session, user, ttl_seconds=settings.session_max_age_seconds)
    except AuthenticationRequired as exc:
        return again(exc.message, 401)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.session_max_age_seconds,
        httponly=True,
        samesite="lax",
        secure=cookie_secure(request),
        path="/",
    )
    return response


@router.post("/logout", include_in_schema=False)
async def logout(
    request: Request,
    db: Database = Depends(get_db),
    who: Principal = Depends(require_staff()),
) -> Response:
    """End the session (the cookie is forgotten by the server, not only by the browser)."""
    form = await read_form(request)
    if not check_csrf(request, form, who):
        return render(
            request,
            "error.html",
            {"title": "Not logged out", "message": FORM_EXPIRED, "details": [], "back": None},
            status_code=400,
        )
    with db.session() as session:
        end_session(session, request.cookies.get(SESSION_COOKIE, ""))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")
    return response


@router.get("/dashboard", include_in_schema=False)
def dashboard(
    request: Request,
    db: Database = Depends(get_db),
    policy: PolicyBook = Depends(get_policy),
    who: Principal = Depends(require_staff(*STAFF_READ)),
) -> Response:
    """The dashboard's front page: links to each section the role may see, and for the DPO
    (and auditors) the countdown of each breach still to be notified (Art. 33)."""
    breaches = open_countdowns(db, policy.current) if who.has_role(*BREACH_ROLES) else []
    return render(request, "dashboard.html", {"who": who, "breaches": breaches})


def _staff_context(db: Database) -> dict[str, Any]:
    with db.session() as session:
        users = list(session.scalars(sa.select(StaffUser).order_by(StaffUser.email)))
        tokens = list(session.scalars(sa.select(ApiToken).order_by(ApiToken.id.desc())))
    return {"users": users, "tokens": tokens, "roles": ROLES, "scopes": SCOPES}


@router.get("/dashboard/staff", include_in_schema=False)
def staff_page(
    request: Request,
    db: Database = Depends(get_db),
    who: Principal = Depends(require_staff("admin")),
) -> Response:
    """Staff users and API tokens (admin only)."""
    return render(request, "staff.html", {**_staff_context(db), "values": {}, "errors": {}})


@router.post("/dashboard/staff", include_in_schema=False)
async def staff_create(
    request: Request,
    db: Database = Depends(get_db),
    who: Principal = Depends(require_staff("admin")),
) -> Response:
    """Create a staff user (admin only)."""
    form = await read_form(request)
    v = FormValues(form)
    email = v.text("email", label="E-mail", required=True, max_len=254)
    role = v.choice("role", list(ROLES), label="Role")
    password = v.text("password", label="Password", required=True, max_len=1024)
    messages = []
    if not check_csrf(request, form, who):
        v.errors["form"] = FORM_EXPIRED
    if not v.errors:
        try:
            with db.session() as session:
                create_user(session, email, password, role)
            messages.append({"kind": "ok", "text": "Staff user created."})
            return render(
                request,
                "staff.html",
                {**_staff_context(db), "values": {}, "errors": {}, "messages": messages},
                status_code=201,
            )
        except PrivacyOpsError as exc:
            v.errors["email"] = exc.message
    return render(
        request,
        "staff.html",
        {**_staff_context(db), "values": v.kept(), "errors": v.errors},
        status_code=400 if "form" in v.errors else 422,
    )


@router.post("/dashboard/staff/tokens", include_in_schema=False)
async def token_create(
    request: Request,
    db: Database = Depends(get_db),
    who: Principal = Depends(require_staff("admin")),
) -> Response:
    """Create an API token; its text is shown on this one page and never again."""
    form = await read_form(request)
    v = FormValues(form)
    name = v.text("name", label="Token name", required=True, max_len=100)
    scopes = [s for s in SCOPES if v.checkbox(f"scope_{s}")]
    if not scopes:
        v.errors["scopes"] = "Tick at least one scope."
    if not check_csrf(request, form, who):
        v.errors["form"] = FORM_EXPIRED
    new_token = None
    if not v.errors:
        with db.session() as session:
            _, new_token = create_api_token(session, name, scopes)
    return render(
        request,
        "staff.html",
        {
            **_staff_context(db),
            "values": {} if new_token else v.kept(),
            "errors": v.errors,
            "new_token": new_token,
        },
        status_code=201 if new_token else 422,
    )


@router.post("/dashboard/staff/tokens/{token_id}/revoke", include_in_schema=False)
async def token_revoke(
    token_id: int,
    request: Request,
    db: Database = Depends(get_db),
    who: Principal = Depends(require_staff("admin")),
) -> Response:
    """Revoke an API token."""
    form = await read_form(request)
    errors: dict[str, str] = {}
    messages = []
    if not check_csrf(request, form, who):
        errors["form"] = FORM_EXPIRED
    else:
        with db.session() as session:
            revoke_api_token(session, token_id)
        messages.append({"kind": "ok", "text": "Token revoked."})
    return render(
        request,
        "staff.html",
        {**_staff_context(db), "values": {}, "errors": errors, "messages": messages},
        status_code=400 if errors else 200,
    )


@router.get("/api/v1/me")
def me(who: Principal = Depends(require_caller())) -> dict[str, Any]:
    """Who the caller is: staff role or token scopes."""
    return {
        "kind": who.kind,
        "name": who.email,
        "role": who.role,
        "scopes": sorted(who.scopes),
    }
