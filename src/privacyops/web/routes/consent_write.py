"""The write of a consent choice, ``POST /api/v1/consent``, in its two shapes.

:class:`ConsentFastPath` answers it before the application's middleware stack (every page view
can call it); the routed :func:`privacyops.web.routes.consent.record_consent` describes it in
the OpenAPI document. Both run :func:`accept_choice`, the one place of its checks and its write.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from types import SimpleNamespace
from typing import Any

import orjson
from fastapi import FastAPI, Request
from pydantic import ValidationError
from starlette.types import Receive, Scope, Send

from privacyops.consent.records import ChoiceIn, RequestContext
from privacyops.consent.service import ConsentService
from privacyops.errors import (
    InvalidChoice,
    InvalidInput,
    PayloadTooLarge,
    PermissionDenied,
    PrivacyOpsError,
    RateLimited,
)
from privacyops.web import metrics
from privacyops.web.deps import app_database, get_policy
from privacyops.web.errors import error_body
from privacyops.web.security import SecurityMiddleware, security_headers

__all__ = ["ConsentFastPath", "accept_choice", "capped_body", "consent_service"]

_log = logging.getLogger(__name__)


def consent_service(request: Request) -> ConsentService:
    """The application's consent service, built on first use."""
    state = request.app.state
    service: ConsentService | None = getattr(state, "consent", None)
    if service is None:
        service = ConsentService(
            state.settings, book=get_policy(request), db=app_database(request.app)
        )
        state.consent = service
    return service


async def capped_body(request: Request, limit: int) -> bytes:
    """The request body, refused (413) past ``limit`` bytes before it is all read."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"The body is larger than {limit} bytes.")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise PayloadTooLarge(f"The body is larger than {limit} bytes.")
    return bytes(body)


def _validation_details(exc: ValidationError) -> list[dict[str, Any]]:
    # Never echo the rejected value: it may be personal data.
    return [{"loc": [str(p) for p in e["loc"]], "msg": e["msg"]} for e in exc.errors()]


async def accept_choice(
    service: ConsentService,
    *,
    origin: str | None,
    host: str,
    media: str | None,
    user_agent: str | None,
    gpc: bool,
    read_body: Callable[[int], Awaitable[bytes]],
) -> tuple[dict[str, Any], dict[str, str]]:
    """The checks and the write of ``POST /api/v1/consent``, in their order, for both shapes of
    the endpoint (:class:`ConsentFastPath` and the routed :func:`record_consent`); returns the
    JSON answer and its CORS headers once the record and its audit event are committed.

    ``read_body(limit)`` reads the body, refusing it past ``limit`` bytes.

    Raises:
        PermissionDenied: a missing or foreign ``Origin`` (403).
        RateLimited: over ``consent_rate_limit`` a minute from ``host`` (429).
        PayloadTooLarge: a body over ``consent_max_body_bytes`` (413).
        InvalidInput: not ``application/json`` (400).
        InvalidChoice: not a valid choice (422).
        PrivacyOpsError: a stale banner or policy version (409), as the service decides.
    """
    if origin is None:
        raise PermissionDenied("The consent API answers the site's pages only (Origin missing).")
    if origin.lower().rstrip("/") not in service.allowed_origins:
        raise PermissionDenied("This origin may not call the consent API.")
    service.check_rate(host)
    body = await read_body(service.settings.consent_max_body_bytes)
    if media is None or media.split(";")[0].strip().lower() != "application/json":
        raise InvalidInput("Send the choice as application/json.")
    try:
        choice = ChoiceIn.model_validate_json(body)
    except ValidationError as exc:
        raise InvalidChoice("The choice is not valid.", details=_validation_details(exc)) from None
    context = RequestContext(
        ip=host, user_agent=user_agent, gpc_header=gpc, allowed_origins=service.allowed_origins
    )
    stored = await service.record_async(choice, context)
    answer = {
        "record_id": stored.record_id,
        "created_at": stored.created_at.isoformat().replace("+00:00", "Z"),
        "expires_at": stored.expires_at.isoformat().replace("+00:00", "Z"),
        "previous_record_id": stored.previous_record_id,
    }
    cors = {
        "Vary": "Origin",
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Max-Age": "600",
    }
    return answer, cors


class ConsentFastPath:
    """A lean ASGI handler for ``POST /api/v1/consent``, the one public endpoint every page view
    can call; the application (:func:`privacyops.web.app.create_app`) hands it that request
    before FastAPI's middleware stack and router.

    It does what that stack would do for this route and nothing else: the security headers
    and global body cap of :class:`~privacyops.web.security.SecurityMiddleware`, the request
    metrics of :class:`~privacyops.web.metrics.MetricsMiddleware`, and :func:`accept_choice`,
    the checks, errors and write that the routed :func:`record_consent` (registered for the
    OpenAPI description) runs too: a foreign or missing ``Origin`` 403, over the rate limit
    429, over the body cap 413, not JSON 400, invalid 422/409, and 201 only once the record
    and its audit event are committed. Framework work per request (route matching, Request
    and Response objects, header dictionaries, the middleware closures) cost more CPU than
    validating and storing the choice.

    Args:
        app: the FastAPI application (its state holds the settings, policy and database).
    """

    #: What the metrics middleware reads to label the request (``scope["route"].path``).
    route = SimpleNamespace(path="/api/v1/consent", name="record_consent")
    path = "/api/v1/consent"

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        settings = app.state.settings
        self._max_body = int(settings.max_body_bytes)
        self._https = settings.base_url.startswith("https://")
        self._service: ConsentService | None = None
        self._seconds = metrics.REQUEST_SECONDS.labels("POST", self.route.path)
        self._counts: dict[int, Any] = {}

    def service(self, scope: Scope, receive: Receive) -> ConsentService:
        """The application's consent service (shared with the routed endpoints)."""
        if self._service is None:
            self._service = consent_service(Request(scope, receive))
        return self._service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        scope["app"] = self.app
        scope["route"] = self.route
        status = 500
        try:
            status = await self._answer(scope, receive, send)
        finally:
            counter = self._counts.get(status)
            if counter is None:
                counter = metrics.REQUESTS.labels("POST", self.route.path, str(status))
                self._counts[status] = counter
            counter.inc()
            self._seconds.observe(time.perf_counter() - started)

    async def _answer(self, scope: Scope, receive: Receive, send: Send) -> int:
        origin = media = agent = length = None
        gpc = False
        for name, value in scope["headers"]:
            if name == b"origin":
                origin = value if origin is None else origin
            elif name == b"content-type":
                media = value if media is None else media
            elif name == b"user-agent":
                agent = value if agent is None else agent
            elif name == b"content-length":
                length = value if length is None else length
            elif name == b"sec-gpc" and not gpc:
                gpc = value.strip() == b"1"
        if length is not None and (not length.isdigit() or int(length) > self._max_body):
            await SecurityMiddleware.too_large(send)
            return 413
        headers = security_headers(https=self._https or scope.get("scheme") == "https")
        client = scope.get("client")
        try:
            answer, cors = await accept_choice(
                self.service(scope, receive),
                origin=origin.decode("latin-1") if origin is not None else None,
                host=client[0] if client else "unknown",
                media=media.decode("latin-1") if media is not None else None,
                user_agent=agent.decode("latin-1") if agent is not None else None,
                gpc=gpc,
                read_body=lambda limit: self._body(receive, limit, length),
            )
        except PrivacyOpsError as exc:
            if isinstance(exc, RateLimited):
                headers.append((b"retry-after", str(exc.retry_after).encode()))
            await _send_json(send, exc.status, exc.to_dict(), headers)
            return exc.status
        except Exception as exc:  # the same answer as the app's handler of the unexpected
            _log.error("unhandled %s", type(exc).__name__, exc_info=exc)
            body_500 = error_body("internal_error", "Something went wrong; it has been logged.")
            await _send_json(send, 500, body_500, headers)
            return 500
        headers += [(k.lower().encode(), v.encode("latin-1")) for k, v in cors.items()]
        await _send_json(send, 201, answer, headers)
        return 201

    async def _body(self, receive: Receive, limit: int, declared: bytes | None) -> bytes:
        """The request body, refused (413) past ``limit`` (or the global cap) before it is all
        read."""
        if declared is not None and int(declared) > limit:
            raise PayloadTooLarge(f"The body is larger than {limit} bytes.")
        body = b""
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                raise InvalidInput("The request body was not received.")
            chunk: bytes = message.get("body", b"")
            body += chunk
            if len(body) > self._max_body:
                raise PayloadTooLarge("The request body is too large.")
            if len(body) > limit:
                raise PayloadTooLarge(f"The body is larger than {limit} bytes.")
            if not message.get("more_body", False):
                return body


async def _send_json(
    send: Send, status: int, content: dict[str, Any], headers: list[tuple[bytes, bytes]]
) -> None:
    body = orjson.dumps(content)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-length", str(len(body)).encode()),
                (b"content-type", b"application/json"),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
