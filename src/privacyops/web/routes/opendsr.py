"""OpenDSR v2: controllers send access, portability and erasure requests to us as their
processor (``privacyops.processor.opendsr`` holds the logic; see docs/connectors.md).

- ``GET /opendsr/v2/discovery``: what we support (public).
- ``GET /opendsr/v2/certificate``: the X.509 certificate that verifies our signatures (public).
- ``POST /opendsr/v2/requests``: a new request (token scope ``requests:write``); 201.
- ``GET /opendsr/v2/requests/{id}``: its status (``requests:read``).
- ``DELETE /opendsr/v2/requests/{id}``: cancel it while pending (``requests:write``); 202.
- ``GET /opendsr/v2/requests/{id}/results``: what the connected systems returned for a
  completed access or portability request (``requests:read``).

Every answer is signed: ``X-OpenDSR-Signature`` (base64 RSA-SHA256 of the body under the
processor's key, or HMAC-SHA256 under ``PRIVACYOPS_OPENDSR_SECRET`` when set) and
``X-OpenDSR-Processor-Domain``. Status callbacks go to the
request's ``status_callback_urls`` on every change.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Request, Response

from privacyops.accounts import Principal
from privacyops.connectors import Connector, load_connectors
from privacyops.errors import InvalidInput
from privacyops.processor.opendsr import (
    cancel_request,
    discovery,
    processor_domain,
    processor_identity,
    request_results,
    request_status,
    sign,
    submit_request,
)
from privacyops.store import Database
from privacyops.web.auth import require_scope
from privacyops.web.deps import get_db

__all__ = ["app_connectors", "router"]

router = APIRouter(prefix="/opendsr/v2", tags=["opendsr"])


def app_connectors(request: Request) -> list[Connector]:
    """The connectors of ``PRIVACYOPS_CONNECTORS_DIR``, loaded once per app."""
    state = request.app.state
    found: list[Connector] | None = getattr(state, "connectors", None)
    if found is None:
        found = load_connectors(state.settings, get_db(request))
        state.connectors = found
    return found


def _signed(request: Request, body: dict[str, Any], status: int = 200) -> Response:
    settings = request.app.state.settings
    raw = json.dumps(body, sort_keys=True).encode()
    return Response(
        content=raw,
        status_code=status,
        media_type="application/json",
        headers={
            "X-OpenDSR-Processor-Domain": processor_domain(settings),
            "X-OpenDSR-Signature": sign(settings, raw),
        },
    )


@router.get("/discovery")
def get_discovery(request: Request) -> Response:
    """The identity types/formats and request types we accept."""
    return _signed(request, discovery(request.app.state.settings, app_connectors(request)))


@router.get("/certificate")
def get_certificate(request: Request) -> Response:
    """The X.509 certificate (PEM) that verifies our ``X-OpenDSR-Signature`` headers."""
    settings = request.app.state.settings
    return Response(
        content=processor_identity(settings).certificate_pem,
        media_type="application/x-pem-file",
    )


@router.post("/requests", status_code=201)
async def post_request(
    request: Request,
    who: Principal = Depends(require_scope("requests:write")),
    db: Database = Depends(get_db),
) -> Response:
    """Receive a request; it waits as ``pending`` until the runner takes it."""
    try:
        payload = await request.json()
    except ValueError:
        raise InvalidInput("The body must be JSON.") from None
    body = submit_request(db, request.app.state.settings, payload, controller_id=who.email)
    return _signed(request, body, 201)


@router.get("/requests/{subject_request_id}")
def get_request(
    subject_request_id: str,
    request: Request,
    who: Principal = Depends(require_scope("requests:read")),
    db: Database = Depends(get_db),
) -> Response:
    """The status of one of the caller's requests."""
    settings = request.app.state.settings
    return _signed(
        request, request_status(db, settings, subject_request_id, controller_id=who.email)
    )


@router.delete("/requests/{subject_request_id}", status_code=202)
def delete_request(
    subject_request_id: str,
    request: Request,
    who: Principal = Depends(require_scope("requests:write")),
    db: Database = Depends(get_db),
) -> Response:
    """Cancel a pending request."""
    settings = request.app.state.settings
    body = cancel_request(db, settings, subject_request_id, controller_id=who.email)
    return _signed(request, body, 202)


@router.get("/requests/{subject_request_id}/results")
def get_results(
    subject_request_id: str,
    request: Request,
    who: Principal = Depends(require_scope("requests:read")),
    db: Database = Depends(get_db),
) -> Response:
    """The results of a completed access or portability request."""
    return _signed(request, request_results(db, subject_request_id, controller_id=who.email))
