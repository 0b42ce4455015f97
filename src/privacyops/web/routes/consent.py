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
import re
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from privacyops.consent.banner import asset, demo_asset
from privacyops.consent.gpc import gpc_signal
from privacyops.consent.service import ConsentService
from privacyops.errors import (
    InvalidInput,
    NotFound,
    PermissionDenied,
    VerificationFailed,
)
from privacyops.web.auth import require_scope
from privacyops.web.routes.consent_write import (
    ConsentFastPath,
    accept_choice,
    capped_body,
    consent_service,
)

# ConsentFastPath and consent_service live in consent_write; importable from here too
__all__ = ["ConsentFastPath", "consent_service", "router"]

router = APIRouter(tags=["consent"])

_CORS_HEADERS = "Content-Type, PO-Visitor-Id"
VISITOR_HEADER = "po-visitor-id"
_VISITOR = re.compile(r"^[A-Za-z0-9_-]{16,56}$")
_CORS_METHODS = "GET, POST, OPTIONS"


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
        read_body=lambda limit: capped_body(request, limit),
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
    body = await capped_body(request, 2048)
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
