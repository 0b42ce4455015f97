"""The one HTTP error shape: ``{"error": {"code": ..., "message": ..., "details": [...]}}``.

Every error the application can answer with goes through :func:`install_error_handlers`:
domain errors keep their status and code; request validation becomes 422 ``invalid_input``
with one item per problem (never echoing the rejected value, which may be personal data);
anything unexpected becomes a 500 with no exception text.

Pages (any path outside ``/api/``, ``/openapi.json``, ``/healthz``, ``/metrics``) get the same
information as an HTML page instead; an anonymous ``GET`` of a staff page is redirected to
``/login?next=...``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import sqlalchemy.exc as sa_exc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from privacyops.errors import AuthenticationRequired, PrivacyOpsError, RateLimited
from privacyops.web.pages import render

log = logging.getLogger(__name__)

_HTTP_CODES = {
    400: "invalid_input",
    401: "authentication_required",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    408: "request_timeout",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    429: "rate_limited",
}


def error_body(
    code: str, message: str, details: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """Build the one error shape."""
    body: dict[str, Any] = {"code": code, "message": message}
    if details:
        body["details"] = details
    return {"error": body}


def database_unavailable(exc: BaseException) -> bool:
    """True when ``exc`` says the database cannot be reached or is shutting down (PostgreSQL
    stopped, restarting or refusing connections; the pool exhausted; SQLite still locked after
    its busy timeout): a passing condition, answered 503, not a bug answered 500."""
    if isinstance(exc, sa_exc.TimeoutError):  # no pooled connection came free in time
        return True
    if not isinstance(exc, sa_exc.DBAPIError):
        return False
    if exc.connection_invalidated or isinstance(exc, sa_exc.InterfaceError):
        return True
    if isinstance(exc, sa_exc.OperationalError):
        sqlstate = getattr(exc.orig, "sqlstate", None)  # psycopg
        if sqlstate is not None:  # 08: connection exception; 57P: operator intervention
            return str(sqlstate).startswith(("08", "57P"))
        text = str(exc.orig).lower()
        return "database is locked" in text or "connection" in text or "server" in text
    return False


DATABASE_DOWN = (
    "The service cannot reach its database just now; nothing was saved. Try again in a minute."
)


def _validation_details(exc: RequestValidationError) -> list[dict[str, Any]]:
    # pydantic puts the rejected value in "input": leave it out, it may be personal data.
    return [
        {"loc": [str(p) for p in err.get("loc", ())], "msg": str(err.get("msg", ""))}
        for err in exc.errors()
    ]


_JSON_PREFIXES = ("/api/", "/openapi.json", "/healthz", "/metrics", "/static/")
_TITLES = {
    400: "This did not work",
    401: "Please log in",
    403: "Not allowed",
    404: "Not found",
    409: "Not possible now",
    413: "Too large",
    422: "Please check what you entered",
    429: "Too many attempts",
    500: "Something went wrong",
    503: "Temporarily unavailable",
}


def is_page_request(request: Request) -> bool:
    """True when the caller is a browser on a page (answer in HTML, not JSON)."""
    path = request.url.path
    if path.startswith(_JSON_PREFIXES) or path.endswith(".js"):
        return False
    return "text/html" in request.headers.get("accept", "")


def _answer(
    request: Request,
    status: int,
    body: dict[str, Any],
    headers: Mapping[str, str] | None = None,
) -> Response:
    if not is_page_request(request):
        return JSONResponse(body, status_code=status, headers=headers)
    if status == 401 and request.method in ("GET", "HEAD"):
        expired = getattr(request.state, "session_expired", False)
        target = f"/login?next={quote(request.url.path)}" + ("&expired=1" if expired else "")
        redirect = RedirectResponse(target, status_code=303)
        if expired:
            redirect.delete_cookie("privacyops_session", path="/")
        return redirect
    error = body["error"]
    if status == 401:
        error = {
            **error,
            "message": "Your session has expired or you are not logged in, so nothing was "
            "saved. Log in again, then send the form once more.",
        }
    details = [
        f"{'.'.join(str(p) for p in d.get('loc', [])[1:]) or 'input'}: {d.get('msg', '')}"
        for d in error.get("details", [])
    ]
    try:
        response: Response = render(
            request,
            "error.html",
            {
                "title": _TITLES.get(status, "Error"),
                "message": error["message"],
                "details": details,
                "back": "/login" if status == 401 else None,
                "login_again": status == 401,
            },
            status_code=status,
        )
    except Exception:  # the error page itself failed (database down): plain text
        log.exception("error page failed")
        response = HTMLResponse(
            "<!doctype html><title>Error</title><p>Something went wrong.</p>", status_code=status
        )
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that give every error the same shape (JSON, or a page)."""

    @app.exception_handler(PrivacyOpsError)
    async def _domain(request: Request, exc: PrivacyOpsError) -> Response:
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimited) else None
        if isinstance(exc, AuthenticationRequired):
            headers = {"WWW-Authenticate": "Bearer"}
        return _answer(request, exc.status, exc.to_dict(), headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        return _answer(
            request,
            422,
            error_body("invalid_input", "The request is not valid.", _validation_details(exc)),
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        code = _HTTP_CODES.get(exc.status_code, "error")
        message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
        return _answer(request, exc.status_code, error_body(code, message), exc.headers)

    @app.exception_handler(sa_exc.DBAPIError)
    @app.exception_handler(sa_exc.TimeoutError)
    async def _database(request: Request, exc: Exception) -> Response:
        if database_unavailable(exc):
            log.warning("database unavailable: %s", type(exc).__name__)
            return _answer(
                request,
                503,
                error_body("dependency_unavailable", DATABASE_DOWN),
                {"Retry-After": "30"},
            )
        return await _unexpected(request, exc)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        if database_unavailable(exc):  # raised in a middleware, outside the routes
            return await _database(request, exc)
        log.error("unhandled %s", type(exc).__name__, exc_info=exc)
        return _answer(
            request,
            500,
            error_body("internal_error", "Something went wrong; it has been logged."),
        )
