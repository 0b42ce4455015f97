"""Consent over HTTP: the banner's script, style and config, GPC, and the consent API.

Public (called from the company's website, CORS limited to ``Settings.site_origins``):

- ``GET /consent/banner.js``, ``GET /consent/banner.css``: the banner.
- ``GET /api/v1/consent/config``: what the banner shows (categories, vendors, texts).
- ``GET /.well-known/gpc.json``: Global Privacy Control support (W3C GPC §3.5).
- ``GET /api/v1/consent/receipt-key``: the public key that signs consent receipts.
- ``POST /api/v1/consent``: record a choice (rate limited per address, body capped, strictly
  validated; nothing is stored when anything is wrong).
- ``GET /api/v1/consent/state``: a visitor's current choice (``PO-Visitor-Id`` header: the id
  stays out of URLs and logs).
"""

from __future__ import annotations

import html
import logging
import re
import time
from collections.abc import Awaitable, Callable
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs

import orjson
from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.types import Receive, Scope, Send

from privacyops.consent.banner import asset, demo_asset
from privacyops.consent.gpc import gpc_signal
from privacyops.consent.records import ChoiceIn, RequestContext
from privacyops.consent.service import ConsentService
from privacyops.errors import (
    InvalidChoice,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    PrivacyOpsError,
    RateLimited,
    VerificationFailed,
)
from privacyops.web import metrics
from privacyops.web.auth import require_scope
from privacyops.web.deps import app_database, get_policy
from privacyops.web.errors import error_body
from privacyops.web.security import SecurityMiddleware, security_headers

__all__ = ["ConsentFastPath", "consent_service", "router"]

router = APIRouter(tags=["consent"])
_log = logging.getLogger(__name__)

_CORS_HEADERS = "Content-Type, PO-Visitor-Id"
VISITOR_HEADER = "po-visitor-id"
_VISITOR = re.compile(r"^[A-Za-z0-9_-]{16,56}$")
_CORS_METHODS = "GET, POST, OPTIONS"


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


def _cors(request: Request, service: ConsentService, response: Response) -> None:
    """Allow the calling origin when it is one of the site's; refuse a foreign one (403).

    A request without ``Origin`` is a same-origin GET or a non-browser client: no CORS headers.
    """
    origin = request.headers.get("origin")
    response.headers["Vary"] = "Origin"
    if origin is None:
        return
    if origin.lower().rstrip("/") not in service.allowed_origins:
        raise PermissionDenied("This origin may not call the consent API.")
    response.headers["Access-Control-Allow-Origin"] = origin
    response.headers["Access-Control-Max-Age"] = "600"


def _cors_headers(response: Response) -> dict[str, str]:
    """The CORS headers :func:`_cors` put on a scratch response, to copy onto the real one."""
    return {
        k: v
        for k, v in response.headers.items()
        if k.lower().startswith("access-control-") or k.lower() == "vary"
    }


@router.get("/consent/banner.js", include_in_schema=False)
def banner_js(request: Request) -> Response:
    """The banner script (plain JavaScript)."""
    return _asset(request, "banner.js", "text/javascript; charset=utf-8")


@router.get("/consent/banner.css", include_in_schema=False)
def banner_css(request: Request) -> Response:
    """The banner style sheet."""
    return _asset(request, "banner.css", "text/css; charset=utf-8")


def _asset(request: Request, name: str, media_type: str) -> Response:
    service = consent_service(request)
    etag = f'"{service.banner.banner_version}"'
    headers = {"Cache-Control": "public, max-age=300", "ETag": etag}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(asset(name), media_type=media_type, headers=headers)


_DEMO_FILES = {
    "": ("index.html", "text/html; charset=utf-8"),
    "analytics.js": ("analytics.js", "text/javascript; charset=utf-8"),
    "widget.html": ("widget.html", "text/html; charset=utf-8"),
}
# A transparent 1x1 GIF: stands for an advertising pixel.
_PIXEL = bytes.fromhex(
    "47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b"
)


@router.get("/consent/demo", include_in_schema=False)
@router.get("/consent/demo/{name}", include_in_schema=False)
def demo(name: str = "") -> Response:
    """A page with blocked tags to try the banner on (and the browser tests' page)."""
    if name == "pixel.gif":
        return Response(_PIXEL, media_type="image/gif", headers={"Cache-Control": "no-store"})
    found = _DEMO_FILES.get(name)
    if found is None:
        raise NotFound("No such demo file.")
    return Response(
        demo_asset(found[0]), media_type=found[1], headers={"Cache-Control": "no-store"}
    )


@router.options("/api/v1/consent", include_in_schema=False)
@router.options("/api/v1/consent/config", include_in_schema=False)
@router.options("/api/v1/consent/state", include_in_schema=False)
def preflight(request: Request) -> Response:
    """CORS preflight: only the site's origins get an allowing answer."""
    service = consent_service(request)
    response = Response(status_code=204)
    _cors(request, service, response)
    response.headers["Access-Control-Allow-Methods"] = _CORS_METHODS
    response.headers["Access-Control-Allow-Headers"] = _CORS_HEADERS
    return response


@router.get("/api/v1/consent/config")
def banner_config(request: Request, lang: str | None = None) -> JSONResponse:
    """What the banner shows in the best language for ``lang`` / Accept-Language.

    ``gpc`` is true when the request carried ``Sec-GPC: 1``.
    """
    service = consent_service(request)
    banner = service.banner
    language = banner.choose_language(
        lang[:35] if lang else None, request.headers.get("accept-language")
    )
    endpoint = str(request.base_url).rstrip("/") + "/api/v1/consent"
    body = banner.config(language, gpc=gpc_signal(request.headers), endpoint=endpoint)
    response = JSONResponse(body, headers={"Cache-Control": "no-store"})
    _cors(request, service, response)
    response.headers["Vary"] = "Origin, Sec-GPC, Accept-Language"
    return response


@router.get("/.well-known/gpc.json", tags=["consent"])
def gpc_json(request: Request) -> JSONResponse:
    """Global Privacy Control support resource (W3C GPC §3.5)."""
    service = consent_service(request)
    return JSONResponse(service.gpc_document(), headers={"Cache-Control": "public, max-age=3600"})


@router.get("/api/v1/consent/receipt-key")
def receipt_key(request: Request) -> dict[str, str]:
    """The public Ed25519 key that signs consent receipts (base64url of the raw 32 bytes)."""
    key = consent_service(request).signing_key
    return {"alg": "Ed25519", "key_id": key.id, "public_key": key.public_b64}


async def _capped_body(request: Request, limit: int) -> bytes:
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


@router.post("/api/v1/consent", name="record_consent", status_code=201)
async def record_consent(request: Request) -> JSONResponse:
    """Record a visitor's choice; answers once it is durably stored.

    Refused, with nothing stored: a foreign or missing ``Origin`` (403), more than
    ``consent_rate_limit`` calls a minute from one address (429), a body over
    ``consent_max_body_bytes`` (413), anything but JSON (400), an unknown category or vendor
    or a contradiction (422), a stale banner or policy version (409).

    The application answers this path with :class:`ConsentFastPath` before its middleware and
    router; this routed handler describes it in the OpenAPI document and runs the same
    :func:`accept_choice` (a test compares the two).
    """
    answer, cors = await accept_choice(
        consent_service(request),
        origin=request.headers.get("origin"),
        host=request.client.host if request.client else "unknown",
        media=request.headers.get("content-type"),
        user_agent=request.headers.get("user-agent"),
        gpc=gpc_signal(request.headers),
        read_body=lambda limit: _capped_body(request, limit),
    )
    return JSONResponse(answer, status_code=201, headers=cors)


@router.get("/api/v1/consent/state")
def consent_state(request: Request) -> JSONResponse:
    """A visitor's current choice, and whether the banner must ask again (and why).

    The visitor id travels in the ``PO-Visitor-Id`` header, not in the URL.
    """
    service = consent_service(request)
    response = JSONResponse({})
    _cors(request, service, response)
    visitor = request.headers.get(VISITOR_HEADER, "")
    if not _VISITOR.match(visitor):
        raise InvalidInput(
            "Send the visitor id in the PO-Visitor-Id header.",
            details=[{"loc": ["header", "PO-Visitor-Id"], "msg": "16-56 of A-Z a-z 0-9 _ -"}],
        )
    return JSONResponse(
        service.state(visitor),
        headers={**_cors_headers(response), "Cache-Control": "no-store"},
    )


# --- proof, statistics and the back-end check (staff or API token) ---------------------------


class CheckIn(BaseModel):
    """``POST /api/v1/consent/check``: who (one of the three) and what (purpose and/or vendor).

    In the body, not the URL: an e-mail address must not end up in access logs.
    """

    model_config = ConfigDict(extra="forbid")

    purpose: str | None = Field(default=None, max_length=80)
    vendor: str | None = Field(default=None, max_length=80)
    visitor_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{16,56}$")
    subject_id: str | None = Field(default=None, max_length=64)
    email: str | None = Field(default=None, max_length=320)


class ReceiptIn(BaseModel):
    """``POST /api/v1/consent/receipt``: whose history to sign."""

    model_config = ConfigDict(extra="forbid")

    visitor_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{16,56}$")
    subject_id: str | None = Field(default=None, max_length=64)


@router.post("/api/v1/consent/check", dependencies=[Depends(require_scope("consent:read"))])
def check_use(body: CheckIn, request: Request) -> dict[str, Any]:
    """May this person's data be used for purpose P / by vendor V? Allow or deny, with the
    reason and the rule (erasure, restriction, suppression, banner consent, opt-in, legal
    basis) that decided."""
    decision = consent_service(request).check(**body.model_dump())
    return decision.to_dict()


@router.get("/api/v1/consent/stats", dependencies=[Depends(require_scope("consent:read"))])
def consent_stats(request: Request, days: int = 30) -> dict[str, Any]:
    """Opt-in and opt-out rates per category per day (UTC), oldest first."""
    if not 1 <= days <= 400:
        raise InvalidInput("days must be between 1 and 400.")
    rates = consent_service(request).stats(days=days)
    return {"days": days, "rates": [r.to_dict() for r in rates]}


@router.post("/api/v1/consent/receipt", dependencies=[Depends(require_scope("consent:read"))])
def staff_receipt(body: ReceiptIn, request: Request) -> JSONResponse:
    """A visitor's or data subject's consent history as a signed receipt."""
    if bool(body.visitor_id) == bool(body.subject_id):
        raise InvalidInput("Name exactly one of visitor_id and subject_id.")
    receipt = consent_service(request).receipt(
        visitor_id=body.visitor_id, subject_id=body.subject_id
    )
    return JSONResponse(receipt, headers={"Cache-Control": "no-store"})


@router.get("/api/v1/consent/receipt")
def visitor_receipt(request: Request) -> JSONResponse:
    """The calling visitor's own signed receipt (``PO-Visitor-Id`` header)."""
    service = consent_service(request)
    response = JSONResponse({})
    _cors(request, service, response)
    visitor = request.headers.get(VISITOR_HEADER, "")
    if not _VISITOR.match(visitor):
        raise InvalidInput("Send the visitor id in the PO-Visitor-Id header.")
    receipt = service.receipt(visitor_id=visitor)
    return JSONResponse(
        receipt,
        headers={
            **_cors_headers(response),
            "Cache-Control": "no-store",
            "Content-Disposition": 'attachment; filename="consent-receipt.json"',
        },
    )


# --- marketing e-mail: double opt-in ----------------------------------------------------------


class MarketingIn(BaseModel):
    """``POST /api/v1/consent/marketing``: ask for marketing e-mail."""

    model_config = ConfigDict(extra="forbid")

    email: str = Field(max_length=320)
    purpose: str | None = Field(default=None, max_length=80)
    language: str = Field(default="en", max_length=16)
    visitor_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{16,56}$")


@router.post("/api/v1/consent/marketing", status_code=202)
def request_marketing(body: MarketingIn, request: Request) -> JSONResponse:
    """Start a double opt-in: a confirmation link goes to the address. The answer is the same
    for every address (it reveals nothing about who is known)."""
    service = consent_service(request)
    response = JSONResponse({})
    if request.headers.get("origin") is not None:
        _cors(request, service, response)
    client = request.client.host if request.client else "unknown"
    service.check_rate(f"marketing:{client}")
    service.request_marketing(
        body.email,
        purpose_id=body.purpose,
        language=body.language,
        ip=client,
        user_agent=request.headers.get("user-agent"),
        visitor_id=body.visitor_id,
    )
    return JSONResponse(
        {"status": "pending", "message": "Check your inbox to confirm."},
        status_code=202,
        headers=_cors_headers(response),
    )


_LINK_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title>
</head><body><main><h1>{title}</h1><p>{text}</p>{form}</main></body></html>"""


def _link_page(title: str, text: str, form: str = "", status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        _LINK_PAGE.format(title=html.escape(title), text=html.escape(text), form=form),
        status_code=status,
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


def _link_form(action: str, token: str, label: str) -> str:
    return (
        f'<form method="post" action="{html.escape(action)}">'
        f'<input type="hidden" name="token" value="{html.escape(token)}">'
        f'<button type="submit">{html.escape(label)}</button></form>'
    )


# GET only shows a button: mail scanners that open links must not confirm or withdraw.
@router.get("/api/v1/consent/marketing/confirm", include_in_schema=False)
def confirm_page(token: str = "") -> HTMLResponse:
    """The page a confirmation link opens."""
    return _link_page(
        "Confirm e-mail updates",
        "Press the button to confirm that you want to receive these e-mails.",
        _link_form("/api/v1/consent/marketing/confirm", token[:100], "Confirm"),
    )


@router.get("/api/v1/consent/marketing/withdraw", include_in_schema=False)
def withdraw_page(token: str = "") -> HTMLResponse:
    """The page a withdrawal link opens."""
    return _link_page(
        "Stop e-mail updates",
        "Press the button to withdraw your consent to these e-mails.",
        _link_form("/api/v1/consent/marketing/withdraw", token[:100], "Withdraw"),
    )


async def _form_token(request: Request) -> str:
    body = await _capped_body(request, 2048)
    token = parse_qs(body.decode("utf-8", "replace")).get("token", [""])[0]
    if not token or len(token) > 100:
        raise VerificationFailed("This link is not valid.")
    return token


@router.post("/api/v1/consent/marketing/confirm", include_in_schema=False)
async def confirm_marketing(request: Request) -> HTMLResponse:
    """Confirm a marketing consent (the button of the confirmation page)."""
    token = await _form_token(request)
    service = consent_service(request)
    await run_in_threadpool(service.confirm_marketing, token)
    return _link_page("Confirmed", "Thank you: your consent to these e-mails is recorded.")


@router.post("/api/v1/consent/marketing/withdraw", include_in_schema=False)
async def withdraw_marketing(request: Request) -> HTMLResponse:
    """Withdraw a marketing consent (the button of the withdrawal page)."""
    token = await _form_token(request)
    service = consent_service(request)
    await run_in_threadpool(service.withdraw_marketing, token)
    return _link_page("Withdrawn", "Your consent is withdrawn: no more of these e-mails.")


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
