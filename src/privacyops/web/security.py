"""Protections every response gets: security headers and a body-size cap (rate limits:
:mod:`privacyops.ratelimit`).

:class:`SecurityMiddleware` is pure ASGI (it wraps the whole app, errors included):

- ``Content-Security-Policy`` (same-origin scripts and styles only; no inline script),
  ``X-Frame-Options: DENY``, ``Referrer-Policy: same-origin``, ``X-Content-Type-Options:
  nosniff``, ``Permissions-Policy``, and ``Strict-Transport-Security`` when served over https;
- bodies larger than ``settings.max_body_bytes`` are refused with 413 (by ``Content-Length``
  at once, or while a chunked body streams in);
- the anonymous ``privacyops_visitor`` cookie that binds public forms' CSRF tokens is set when
  a page issued one (see :func:`privacyops.web.auth.issue_csrf`).
"""

from __future__ import annotations

import asyncio
import json
from http.cookies import SimpleCookie
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from privacyops.errors import PayloadTooLarge, RequestTimeout
from privacyops.web.errors import error_body

__all__ = ["CSP", "SecurityMiddleware", "security_headers"]

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; "
    "base-uri 'none'; object-src 'none'"
)
# The OpenAPI explorer at /api/docs: Swagger UI served locally (swagger-ui-bundle) and one
# inline bootstrap.
_DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; "
    "style-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
VISITOR_MAX_AGE = 24 * 3600


class SecurityMiddleware:
    """Security headers, body-size cap and the visitor cookie, for every HTTP response."""

    def __init__(
        self, app: ASGIApp, *, max_body_bytes: int, https: bool, body_seconds: float = 10.0
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.https = https
        self.body_seconds = body_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body_bytes):
            await self.too_large(send)
            return
        https = self.https or scope.get("scheme") == "https"
        path: str = scope.get("path", "")
        csp = _DOCS_CSP if path == "/api/docs" else CSP
        received = 0
        deadline = asyncio.get_running_loop().time() + self.body_seconds

        body_done = False

        async def limited_receive() -> Message:
            nonlocal received, body_done
            if body_done:  # later calls wait for a disconnect while answering: no deadline
                return await receive()
            try:  # a slow body (slowloris) may not hold the request past its deadline
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                raise RequestTimeout("The request body did not arrive in time.") from None
            body_done = message["type"] != "http.request" or not message.get("more_body", False)
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise PayloadTooLarge("The request body is too large.")
            return message

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                extra = security_headers(csp, https=https)
                visitor = scope.get("state", {}).get("new_visitor")
                if visitor:
                    extra.append((b"set-cookie", _visitor_cookie(visitor, https).encode()))
                message["headers"] = list(message.get("headers", [])) + extra
            await send(message)

        await self.app(scope, limited_receive, send_with_headers)

    @staticmethod
    async def too_large(send: Send) -> None:
        body = json.dumps(
            error_body("payload_too_large", "The request body is too large.")
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"content-security-policy", CSP.encode()),
                    (b"x-frame-options", b"DENY"),
                    (b"x-content-type-options", b"nosniff"),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def security_headers(csp: str = CSP, *, https: bool) -> list[tuple[bytes, bytes]]:
    """The headers :class:`SecurityMiddleware` adds to every response (a new list each call)."""
    extra = [
        (b"content-security-policy", csp.encode()),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"same-origin"),
        (b"x-content-type-options", b"nosniff"),
        (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
        (b"cross-origin-opener-policy", b"same-origin"),
    ]
    if https:
        extra.append((b"strict-transport-security", b"max-age=31536000"))
    return extra


def _visitor_cookie(value: str, secure: bool) -> str:
    cookie: SimpleCookie = SimpleCookie()
    cookie["privacyops_visitor"] = value
    morsel = cookie["privacyops_visitor"]
    morsel["path"] = "/"
    morsel["httponly"] = True
    morsel["samesite"] = "Lax"
    morsel["max-age"] = VISITOR_MAX_AGE
    if secure:
        morsel["secure"] = True
    return morsel.OutputString()


def client_address(scope_or_request: Any) -> str:
    """The caller's address as the server saw it (no proxy header is trusted)."""
    client = getattr(scope_or_request, "client", None)
    return client.host if client is not None else "unknown"
