"""Consent over HTTP: the banner's script, style and config, GPC, and the consent API.

Public (called from the company's website, CORS limited to ``Settings.site_origins``):

- ``GET /consent/banner.js``, ``GET /consent/banner.css``: the banner.
- ``GET /api/v1/consent/config``: what the banner shows (categories, vendors, texts).
- ``GET /.well-known/gpc.json``: Global Privacy Control support (W3C GPC §3.5).
- ``GET /api/v1/consent/receipt-key``: the public key that signs consent receipts.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from privacyops.consent.banner import asset
from privacyops.consent.gpc import gpc_signal
from privacyops.consent.service import ConsentService
from privacyops.errors import PermissionDenied

__all__ = ["consent_service", "router"]

router = APIRouter(tags=["consent"])

_CORS_HEADERS = "Content-Type"
_CORS_METHODS = "GET, POST, OPTIONS"


def consent_service(request: Request) -> ConsentService:
    """The application's consent service, built on first use."""
    state = request.app.state
    service: ConsentService | None = getattr(state, "consent", None)
    if service is None:
        service = ConsentService(state.settings)
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
