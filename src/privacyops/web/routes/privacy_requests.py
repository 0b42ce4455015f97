"""Privacy-center pages to make and follow a data-subject request.

``GET /privacy/requests/new`` (the form for any right the policy offers),
``POST /privacy/requests`` (submit; a one-time code goes to the e-mail address),
``GET /privacy/requests/{request_id}`` (status, legal clock, the next step),
``POST /privacy/requests/{request_id}/open`` (follow a request with its key from another
browser), ``POST /privacy/requests/{request_id}/verify`` (the one-time code),
``POST /privacy/requests/{request_id}/resend`` (a new code),
``POST /privacy/requests/{request_id}/answer`` (the identity question, rights/idcheck.py),
``POST /privacy/requests/{request_id}/document`` (an identity document, only when staff
review one; multipart, rights/documents.py). The export itself is downloaded from the link in
the e-mail (``/api/v1/rights/exports/{token}``).

The request's key (the bearer token of :mod:`privacyops.rights`) is kept in an HttpOnly,
SameSite=Strict cookie scoped to ``/privacy/requests/``, never in a URL.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from privacyops.errors import InvalidInput, PrivacyOpsError, RateLimited, VerificationFailed
from privacyops.jobs.dispatch import dispatch_request
from privacyops.policy.restriction import RestrictionGround
from privacyops.policy.schema import PolicyBook
from privacyops.rights.erasure import ErasureGround
from privacyops.rights.service import RightsService
from privacyops.rights.workflow import (
    OBJECTION_KINDS,
    RESTRICTION_GROUNDS,
    RequestState,
    RequestType,
)
from privacyops.settings import Settings
from privacyops.web.auth import check_csrf, cookie_secure
from privacyops.web.deps import get_policy, get_settings_dep
from privacyops.web.forms import FORM_EXPIRED, FormValues, read_form
from privacyops.web.pages import render
from privacyops.web.routes.rights import rights_service
from privacyops.web.security import client_address

router = APIRouter(tags=["privacy center"], include_in_schema=False)

KEY_COOKIE = "privacyops_request"
_KEY_PATH = "/privacy/requests/"


def _offered(book: PolicyBook) -> list[dict[str, str]]:
    """The rights the policy offers that the service can act on, in the policy's words."""
    kinds = {t.value for t in RequestType}
    return [
        {"kind": r.kind.value, "title": r.title, "description": r.description or ""}
        for r in book.current.rights.offered
        if r.kind.value in kinds
    ]


def _form_context(
    book: PolicyBook, values: dict[str, str], errors: dict[str, str]
) -> dict[str, Any]:
    return {
        "offered": _offered(book),
        "categories": [(c.id, c.name) for c in book.current.data_categories],
        "grounds": RESTRICTION_GROUNDS,
        "objections": OBJECTION_KINDS,
        "values": values,
        "errors": errors,
    }


@router.get("/privacy/requests/new")
def new_request(
    request: Request, type: str = "access", book: PolicyBook = Depends(get_policy)
) -> Response:
    """The request form (``?type=`` preselects a right)."""
    return render(request, "privacy/request_new.html", _form_context(book, {"type": type[:32]}, {}))


@router.post("/privacy/requests")
async def submit_request(
    request: Request,
    book: PolicyBook = Depends(get_policy),
    settings: Settings = Depends(get_settings_dep),
    service: RightsService = Depends(rights_service),
) -> Response:
    """Check every field, then register the request (all or nothing) and send the code."""
    form = await read_form(request)
    v = FormValues(form)
    kinds = [o["kind"] for o in _offered(book)]
    kind = v.choice("type", kinds, label="The right you want to use")
    email = v.text("email", label="E-mail address", required=True, max_len=254)
    if email and "@" not in email:
        v.errors["email"] = "E-mail address: give a valid address, like name@example.com."
    phone = v.text("phone", label="Phone number", max_len=32)
    note = v.text("note", label="Anything we should know", max_len=2000)
    details: dict[str, Any] = {}
    if note:
        details["note"] = note
    if kind == "rectification":
        category = v.choice(
            "category", [c.id for c in book.current.data_categories], label="What to correct"
        )
        value = v.text("correction", label="The correct value", required=True, max_len=2000)
        if category and value:
            details["changes"] = {category: value}
    elif kind == "erasure":
        grounds = [g.value for g in ErasureGround]
        details["ground"] = (
            v.choice("erasure_ground", grounds, label="The ground", required=False)
            or ErasureGround.NO_LONGER_NECESSARY.value
        )
    elif kind == "restriction":
        grounds = [g.value for g in RestrictionGround.requestable()]
        details["ground"] = v.choice("ground", grounds, label="The ground")
    elif kind == "objection":
        details["objection"] = v.choice(
            "objection", list(OBJECTION_KINDS), label="What you object to"
        )
    elif kind == "complaint":
        country = v.text("country", label="Country", max_len=2).upper()
        if country:
            details["country"] = country
    if not v.checkbox("confirm"):
        v.errors["confirm"] = "Confirm that the request is about your own data."

    def again(status: int, message: str | None = None) -> Response:
        if message:
            v.errors["form"] = message
        return render(
            request,
            "privacy/request_new.html",
            _form_context(book, v.kept(), v.errors),
            status_code=status,
        )

    limiter = request.app.state.rate_limiter
    wait = limiter.hit(
        f"privacy-form:{client_address(request)}", settings.public_form_posts_per_minute
    )
    if wait is not None:
        response = again(429, f"Too many requests from your connection; wait {wait} seconds.")
        response.headers["Retry-After"] = str(wait)
        return response
    if not check_csrf(request, form, None):
        return again(400, FORM_EXPIRED)
    if v.errors:
        return again(422, "Please correct the fields marked below; nothing was sent yet.")
    try:
        receipt = await run_in_threadpool(
            service.submit,
            kind,
            email,
            phone=phone or None,
            details=details,
            client=client_address(request),
            channel="web",
        )
    except RateLimited as exc:
        return again(429, exc.message)
    except InvalidInput as exc:
        for item in exc.details:
            loc = [str(p) for p in item.get("loc", [])]
            field = (
                {"changes": "correction", "details": "note"}.get(loc[0], loc[0]) if loc else "form"
            )
            v.errors[field] = f"{exc.message} ({item.get('msg', '')})"
        return again(422, exc.message)
    response = RedirectResponse(f"/privacy/requests/{receipt.request_id}", status_code=303)
    _set_key(request, response, receipt.request_id, receipt.token)
    return response


def _set_key(request: Request, response: Response, request_id: str, token: str) -> None:
    response.set_cookie(
        KEY_COOKIE,
        f"{request_id}.{token}",
        max_age=90 * 24 * 3600,
        httponly=True,
        samesite="strict",
        secure=cookie_secure(request),
        path=_KEY_PATH,
    )


def _key(request: Request, request_id: str) -> str | None:
    raw = request.cookies.get(KEY_COOKIE, "")
    rid, _, token = raw.partition(".")
    return token if rid == request_id and token else None


def _status_page(
    request: Request,
    service: RightsService,
    request_id: str,
    *,
    errors: dict[str, str] | None = None,
    messages: list[dict[str, str]] | None = None,
    status_code: int = 200,
) -> Response:
    token = _key(request, request_id)
    view = None
    recipients: list[dict[str, Any]] = []
    if token is not None:
        try:
            view = service.status(request_id, token, client=client_address(request))
            # Art. 19, second sentence: whom the change was told
            recipients = service.recipients_for_person(
                request_id, token, client=client_address(request)
            )
        except (VerificationFailed, RateLimited) as exc:
            errors = {**(errors or {}), "form": exc.message}
            status_code = exc.status
    today = datetime.now(UTC).date()
    days_left = None
    if view is not None and view["clock"].get("deadline"):
        deadline = datetime.fromisoformat(str(view["clock"]["deadline"])).date()
        days_left = (deadline - today).days
    return render(
        request,
        "privacy/request_status.html",
        {
            "request_id": request_id,
            "view": view,
            "recipients": recipients,
            "token": token,
            "days_left": days_left,
            "errors": errors or {},
            "messages": messages or [],
        },
        status_code=status_code,
    )


@router.get("/privacy/requests/{request_id}")
def request_status(
    request_id: str, request: Request, service: RightsService = Depends(rights_service)
) -> Response:
    """Where a request stands, its deadline, and what the person can do next."""
    return _status_page(request, service, request_id[:40])


@router.post("/privacy/requests/{request_id}/open")
async def open_request(
    request_id: str, request: Request, service: RightsService = Depends(rights_service)
) -> Response:
    """Follow a request from another browser with its key."""
    form = await read_form(request)
    v = FormValues(form, secret_fields=("key",))
    key = v.text("key", label="The request's key", required=True, max_len=100)
    if not check_csrf(request, form, None):
        v.errors["form"] = FORM_EXPIRED
    if v.errors:
        return _status_page(request, service, request_id[:40], errors=v.errors, status_code=422)
    try:
        await run_in_threadpool(service.status, request_id, key, client=client_address(request))
    except (VerificationFailed, RateLimited) as exc:
        return _status_page(
            request, service, request_id[:40], errors={"key": exc.message}, status_code=exc.status
        )
    response = RedirectResponse(f"/privacy/requests/{request_id}", status_code=303)
    _set_key(request, response, request_id, key)
    return response


@router.post("/privacy/requests/{request_id}/verify")
async def verify_request(
    request_id: str, request: Request, service: RightsService = Depends(rights_service)
) -> Response:
    """Check the one-time code from the e-mail (or the phone)."""
    form = await read_form(request)
    v = FormValues(form)
    code = v.text("code", label="The code", required=True, max_len=12).replace(" ", "")
    factor = v.choice("factor", ["email", "phone"], label="Where the code came", required=False)
    factor = factor or "email"
    token = _key(request, request_id)
    if not check_csrf(request, form, None):
        v.errors["form"] = FORM_EXPIRED
    if token is None:
        v.errors["form"] = "Open the request with its key first."
    if v.errors or token is None:
        return _status_page(request, service, request_id[:40], errors=v.errors, status_code=422)
    try:
        status = await run_in_threadpool(
            service.verify, request_id, token, code, factor=factor, client=client_address(request)
        )
    except PrivacyOpsError as exc:
        return _status_page(
            request, service, request_id, errors={"code": exc.message}, status_code=exc.status
        )
    if status.get("state") == RequestState.VERIFIED.value:
        await run_in_threadpool(dispatch_request, service.settings, service.db, request_id)
    return _status_page(
        request,
        service,
        request_id,
        messages=[{"kind": "ok", "text": "Thank you: the code is right."}],
    )


@router.post("/privacy/requests/{request_id}/resend")
async def resend_code(
    request_id: str, request: Request, service: RightsService = Depends(rights_service)
) -> Response:
    """Send a new code."""
    form = await read_form(request)
    token = _key(request, request_id)
    if not check_csrf(request, form, None) or token is None:
        return _status_page(
            request, service, request_id[:40], errors={"form": FORM_EXPIRED}, status_code=400
        )
    factor = "phone" if form.get("factor") == "phone" else "email"
    try:
        await run_in_threadpool(
            service.resend, request_id, token, factor=factor, client=client_address(request)
        )
    except PrivacyOpsError as exc:
        return _status_page(
            request, service, request_id, errors={"form": exc.message}, status_code=exc.status
        )
    return _status_page(
        request, service, request_id, messages=[{"kind": "ok", "text": "A new code is on its way."}]
    )


@router.post("/privacy/requests/{request_id}/answer")
async def answer_question(
    request_id: str, request: Request, service: RightsService = Depends(rights_service)
) -> Response:
    """The answer to the identity question (the second check when no phone is held)."""
    form = await read_form(request)
    v = FormValues(form)
    answer = v.text("answer", label="Your answer", required=True, max_len=64)
    token = _key(request, request_id)
    if not check_csrf(request, form, None):
        v.errors["form"] = FORM_EXPIRED
    if token is None:
        v.errors["form"] = "Open the request with its key first."
    if v.errors or token is None:
        return _status_page(request, service, request_id[:40], errors=v.errors, status_code=422)
    try:
        status = await run_in_threadpool(
            service.answer_question, request_id, token, answer, client=client_address(request)
        )
    except PrivacyOpsError as exc:
        return _status_page(
            request, service, request_id, errors={"form": exc.message}, status_code=exc.status
        )
    if status.get("state") == RequestState.VERIFIED.value:
        await run_in_threadpool(dispatch_request, service.settings, service.db, request_id)
    return _status_page(request, service, request_id)


@router.post("/privacy/requests/{request_id}/document")
async def upload_document(
    request_id: str, request: Request, service: RightsService = Depends(rights_service)
) -> Response:
    """An identity document for staff review (PDF, JPEG or PNG; sealed; deleted once decided)."""
    limit = service.settings.identity_document_max_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + 64_000:  # refused before it is read
        return _status_page(
            request,
            service,
            request_id[:40],
            errors={"document": f"The file is larger than {limit // 1_000_000} MB."},
            status_code=413,
        )
    form = await request.form(max_files=1, max_fields=5)
    upload = form.get("document")
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    token = _key(request, request_id)
    errors: dict[str, str] = {}
    if not check_csrf(request, fields, None):
        errors["form"] = FORM_EXPIRED
    if token is None:
        errors["form"] = "Open the request with its key first."
    content = b""
    if upload is None or isinstance(upload, str):
        errors["document"] = "Choose a file."
    else:
        content = await upload.read(limit + 1)
        await upload.close()
    await form.close()
    if errors or token is None:
        return _status_page(request, service, request_id[:40], errors=errors, status_code=422)
    try:
        await run_in_threadpool(
            service.upload_document, request_id, token, content, client=client_address(request)
        )
    except PrivacyOpsError as exc:
        return _status_page(
            request, service, request_id, errors={"document": exc.message}, status_code=exc.status
        )
    return _status_page(
        request,
        service,
        request_id,
        messages=[{"kind": "ok", "text": "Thank you: our staff will look at your document."}],
    )
