"""Data-subject requests over HTTP.

Public (the person; answers never reveal whether someone is in the data):

- ``POST /api/v1/rights/requests``: submit; answers the request reference and a bearer token.
- ``POST /api/v1/rights/requests/{request_id}/verify``: the one-time code (``X-Request-Token``).
- ``POST /api/v1/rights/requests/{request_id}/resend``: a new code.
- ``GET /api/v1/rights/requests/{request_id}``: status and legal clock (``X-Request-Token``).
- ``GET /api/v1/rights/requests/{request_id}/recipients``: whom the change was told (Art. 19).
- ``GET /api/v1/rights/exports/{token}``: a page with a download button (spends nothing, so a
  mail scanner's prefetch or a second click leaves the link working).
- ``POST /api/v1/rights/exports/{token}``: the export, once, before the link expires.
- ``GET /api/v1/rights/authorities/{country}``: the supervisory authority for a country.

Staff (``requests:read`` / ``requests:write`` scope: API token or staff session):

- ``GET /api/v1/rights/staff/requests[?state=]``, ``GET /api/v1/rights/staff/requests/{id}``
- ``POST /api/v1/rights/staff/requests/{id}/extend|refuse|decide|approve|lift-restriction``
- ``GET /api/v1/rights/staff/requests/{id}/recipients``,
  ``POST /api/v1/rights/staff/requests/{id}/recipients/{recipient_id}`` (Art. 19 decisions)
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Header, Request, Response
from pydantic import BaseModel, Field

from privacyops.accounts import Principal
from privacyops.errors import Conflict, VerificationFailed
from privacyops.jobs.dispatch import dispatch_request
from privacyops.rights.authorities import authority_for
from privacyops.rights.downloads import export_waiting, open_export
from privacyops.rights.factory import build_service
from privacyops.rights.service import RightsService
from privacyops.rights.verification import BAD_CODE
from privacyops.rights.workflow import RequestState
from privacyops.web.auth import require_scope
from privacyops.web.deps import app_database
from privacyops.web.pages import render
from privacyops.web.params import RowId
from privacyops.web.security import client_address

__all__ = ["rights_service", "router"]

router = APIRouter(prefix="/api/v1/rights", tags=["rights"])


def rights_service(request: Request) -> RightsService:
    """The application's rights service, built on first use."""
    state = request.app.state
    service: RightsService | None = getattr(state, "rights", None)
    if service is None:
        service = build_service(state.settings, db=app_database(request.app))
        state.rights = service
    return service


class SubmitBody(BaseModel):
    """A new request."""

    type: str = Field(max_length=32, description="access, rectification, erasure, ...")
    email: str = Field(max_length=320, description="Where the one-time code goes.")
    phone: str | None = Field(default=None, max_length=32, description="Second-factor phone.")
    details: dict[str, Any] = Field(
        default_factory=dict,
        description="changes {category: value}; ground; objection; country; note.",
    )


class CodeBody(BaseModel):
    code: str = Field(max_length=64, description="The code, or the question's option id.")
    factor: Literal["email", "second", "question"] = "email"


class ResendBody(BaseModel):
    factor: Literal["email", "second"] = "email"


class ReasonBody(BaseModel):
    reason: str = Field(min_length=1, max_length=4000)


class DecideBody(BaseModel):
    task: Literal["identity_document", "balancing", "excessive"]
    decision: str = Field(max_length=16)
    reason: str = Field(min_length=1, max_length=4000)


TOKEN = Header(..., alias="X-Request-Token", max_length=100, description="From the submission.")


@router.post("/requests", status_code=202)
def submit(
    body: SubmitBody, request: Request, service: RightsService = Depends(rights_service)
) -> dict[str, str]:
    """Register a request; a one-time code goes to the e-mail address given."""
    receipt = service.submit(
        body.type,
        body.email,
        phone=body.phone,
        details=body.details,
        client=client_address(request),
    )
    return receipt.as_dict()


@router.post("/requests/{request_id}/verify")
def verify(
    request_id: str,
    body: CodeBody,
    request: Request,
    token: str = TOKEN,
    service: RightsService = Depends(rights_service),
) -> dict[str, Any]:
    """Confirm the request with a one-time code (the e-mail's, then the second factor's), or
    answer the identity question (``factor: question``, ``code``: the option's id; the options
    are in the status's ``question``)."""
    if body.factor == "question":
        status = service.answer_question(
            request_id, token, body.code, client=client_address(request)
        )
    else:
        status = service.verify(
            request_id, token, body.code, factor=body.factor, client=client_address(request)
        )
    if status.get("state") == RequestState.VERIFIED.value:
        dispatch_request(service.settings, service.db, request_id)
    return status


@router.post("/requests/{request_id}/resend")
def resend(
    request_id: str,
    body: ResendBody,
    request: Request,
    token: str = TOKEN,
    service: RightsService = Depends(rights_service),
) -> dict[str, Any]:
    """Send a new code (a few per request)."""
    return service.resend(request_id, token, factor=body.factor, client=client_address(request))


@router.get("/requests/{request_id}")
def status(
    request_id: str,
    request: Request,
    token: str = TOKEN,
    service: RightsService = Depends(rights_service),
) -> dict[str, Any]:
    """Where the request stands, its legal clock, and the outcome once answered."""
    return service.status(request_id, token, client=client_address(request))


@router.get("/requests/{request_id}/recipients")
def recipients(
    request_id: str,
    request: Request,
    token: str = TOKEN,
    service: RightsService = Depends(rights_service),
) -> list[dict[str, Any]]:
    """The recipients told of the rectification, erasure or restriction, and how (GDPR
    Art. 19, second sentence); empty until the request has reached them."""
    return service.recipients_for_person(request_id, token, client=client_address(request))


@router.get("/exports/{token}", response_class=Response)
def download_page(
    token: str, request: Request, service: RightsService = Depends(rights_service)
) -> Response:
    """A page with a button that downloads the export; looking at it spends nothing."""
    filename = export_waiting(service, token, client=client_address(request))
    if filename is None and "text/html" not in request.headers.get("accept", ""):
        raise VerificationFailed(BAD_CODE)  # an API client gets the one JSON error shape
    response = render(
        request,
        "privacy/download.html",
        {"filename": filename, "action": request.url.path},
        status_code=200 if filename is not None else 410,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/exports/{token}", response_class=Response)
def download(
    token: str, request: Request, service: RightsService = Depends(rights_service)
) -> Response:
    """The export this one-time link opens; a second use or an expired link is refused."""
    filename, media, content = open_export(service, token, client=client_address(request))
    return Response(
        content,
        media_type=media,
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/authorities/{country}")
def authority(country: str) -> dict[str, str | None]:
    """The supervisory authority of an EEA country (GDPR Art. 77)."""
    return authority_for(country).as_dict()


# --- staff -------------------------------------------------------------------------------

READ = Depends(require_scope("requests:read"))
WRITE = Depends(require_scope("requests:write"))


def _actor(who: Principal) -> str:
    return f"staff:{who.user_id}" if who.user_id is not None else f"token:{who.email}"[:128]


@router.get("/staff/requests")
def staff_list(
    state: str | None = None,
    who: Principal = READ,
    service: RightsService = Depends(rights_service),
) -> list[dict[str, Any]]:
    """Requests, the nearest deadline first, with their open tasks."""
    return service.list_requests(state=state)


@router.get("/staff/requests/{request_id}")
def staff_show(
    request_id: str, who: Principal = READ, service: RightsService = Depends(rights_service)
) -> dict[str, Any]:
    """One request for staff."""
    return service.show(request_id)


@router.post("/staff/requests/{request_id}/extend")
def staff_extend(
    request_id: str,
    body: ReasonBody,
    who: Principal = WRITE,
    service: RightsService = Depends(rights_service),
) -> dict[str, Any]:
    """Extend by two months; the reason is sent to the person (Art. 12(3))."""
    return service.extend(request_id, body.reason, actor=_actor(who))


@router.post("/staff/requests/{request_id}/refuse")
def staff_refuse(
    request_id: str,
    body: ReasonBody,
    who: Principal = WRITE,
    service: RightsService = Depends(rights_service),
) -> dict[str, Any]:
    """Refuse with reasons; the person is told them and the remedies (Art. 12(4))."""
    return service.refuse(request_id, body.reason, actor=_actor(who))


@router.post("/staff/requests/{request_id}/decide")
def staff_decide(
    request_id: str,
    body: DecideBody,
    who: Principal = WRITE,
    service: RightsService = Depends(rights_service),
) -> dict[str, Any]:
    """Record a decision on an open task (document review, balancing test, fee/refusal)."""
    status = service.decide(request_id, body.task, body.decision, body.reason, actor=_actor(who))
    dispatch_request(service.settings, service.db, request_id)
    return status


class RecipientBody(BaseModel):
    decision: Literal["other_route", "impossible", "disproportionate"]
    note: str = Field(min_length=1, max_length=2000, description="How it was told, or why not.")


@router.get("/staff/requests/{request_id}/recipients")
def staff_recipients(
    request_id: str, who: Principal = READ, service: RightsService = Depends(rights_service)
) -> list[dict[str, Any]]:
    """The request's recipients and where each notice stands (Art. 19)."""
    return service.staff_recipients(request_id)


@router.post("/staff/requests/{request_id}/recipients/{recipient_id}")
def staff_decide_recipient(
    request_id: str,
    recipient_id: str,
    body: RecipientBody,
    who: Principal = WRITE,
    service: RightsService = Depends(rights_service),
) -> dict[str, Any]:
    """Record the Art. 19 decision on a recipient with no address: told another way (how),
    impossible or disproportionate (why). The request is answered once none is left."""
    return service.decide_recipient(
        request_id, recipient_id[:128], body.decision, body.note, actor=_actor(who)
    )


class LiftBody(BaseModel):
    restriction: RowId
    reason: str = Field(min_length=1, max_length=4000)


@router.post("/staff/requests/{request_id}/lift-restriction")
def staff_lift_restriction(
    request_id: str,
    body: LiftBody,
    who: Principal = WRITE,
    service: RightsService = Depends(rights_service),
) -> dict[str, Any]:
    """Lift a restriction made for the request; the person is told first (Art. 18(3))."""
    return service.lift_restriction(request_id, body.restriction, body.reason, actor=_actor(who))


@router.post("/staff/requests/{request_id}/approve")
def staff_approve(
    request_id: str,
    body: ReasonBody,
    who: Principal = WRITE,
    service: RightsService = Depends(rights_service),
) -> dict[str, Any]:
    """Approve what the request waits for: accept the identity document, or proceed with a
    request flagged as repeated."""
    view = service.show(request_id)
    open_tasks = [t["kind"] for t in view["tasks"] if t["decision"] is None]
    for kind, decision in (("identity_document", "accept"), ("excessive", "proceed")):
        if kind in open_tasks:
            status = service.decide(request_id, kind, decision, body.reason, actor=_actor(who))
            dispatch_request(service.settings, service.db, request_id)
            return status
    raise Conflict("Nothing on this request waits for approval.")
