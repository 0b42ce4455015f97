"""The privacy center: public pages for the people whose data is held.

``GET /privacy`` (the policy in force, rendered from the manifest, with every version listed),
``GET /privacy/versions/{version_id}`` (an earlier or later version),
``GET /privacy/changes`` (what changed between consecutive versions, from the manifest diff),
``GET /privacy/consent`` (cookie preferences: the consent banner's reopen control),
``GET /privacy/complaints`` (where to complain: the DPO and the supervisory authority).
The request pages are in :mod:`privacyops.web.routes.privacy_requests`.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup

from privacyops.errors import InvalidInput, NotFound
from privacyops.policy.diff import diff_manifests
from privacyops.policy.render import render_policy
from privacyops.policy.schema import Manifest, PolicyBook
from privacyops.rights.authorities import EEA_COUNTRIES, all_authorities, answer_complaint
from privacyops.web.deps import get_policy
from privacyops.web.pages import render

router = APIRouter(tags=["privacy center"], include_in_schema=False)

_BODY = re.compile(r"<body[^>]*>(.*)</body>", re.S | re.I)


_RENDERED: dict[int, tuple[Manifest, Markup]] = {}


def _policy_body(manifest: Manifest) -> Markup:
    """The rendered policy's body (the renderer autoescapes every manifest value), cached per
    loaded version."""
    cached = _RENDERED.get(id(manifest))
    if cached is not None and cached[0] is manifest:
        return cached[1]
    html = render_policy(manifest, fmt="html")
    match = _BODY.search(html)
    body = Markup(match.group(1) if match else html)  # noqa: S704 -- autoescaped by render_policy
    if len(_RENDERED) > 64:
        _RENDERED.clear()
    _RENDERED[id(manifest)] = (manifest, body)
    return body


def _versions(book: PolicyBook) -> list[dict[str, Any]]:
    current = book.current.version.id
    return [
        {
            "id": m.version.id,
            "label": m.version.label,
            "effective_from": m.version.effective_from,
            "current": m.version.id == current,
        }
        for m in reversed(book.versions)
    ]


@router.get("/", include_in_schema=False)
def home() -> Response:
    """The site's root: the privacy center."""
    return RedirectResponse("/privacy", status_code=307)


@router.get("/privacy")
def policy_page(request: Request, book: PolicyBook = Depends(get_policy)) -> Response:
    """The policy in force."""
    return _policy(request, book, book.current)


@router.get("/privacy/versions/{version_id}")
def version_page(
    version_id: str, request: Request, book: PolicyBook = Depends(get_policy)
) -> Response:
    """One version of the policy."""
    try:
        manifest = book.get(version_id)
    except KeyError:
        raise NotFound("There is no policy version with this name.") from None
    return _policy(request, book, manifest)


def _policy(request: Request, book: PolicyBook, manifest: Manifest) -> Response:
    return render(
        request,
        "privacy/policy.html",
        {
            "manifest": manifest,
            "body": _policy_body(manifest),
            "versions": _versions(book),
            "shown": manifest.version.id,
            "is_current": manifest.version.id == book.current.version.id,
        },
    )


@router.get("/privacy/changes")
def changes_page(request: Request, book: PolicyBook = Depends(get_policy)) -> Response:
    """What changed from each version to the next (newest first)."""
    diffs = [
        diff_manifests(old, new) for old, new in zip(book.versions, book.versions[1:], strict=False)
    ]
    return render(
        request,
        "privacy/changes.html",
        {"diffs": list(reversed(diffs)), "versions": _versions(book)},
    )


@router.get("/privacy/consent")
def consent_page(request: Request, book: PolicyBook = Depends(get_policy)) -> Response:
    """Cookie preferences: the banner, reopened on demand."""
    trackers = [p for p in book.current.processors if p.tracker is not None]
    return render(request, "privacy/consent.html", {"trackers": trackers})


@router.get("/privacy/complaints")
def complaints_page(
    request: Request, country: str = "", book: PolicyBook = Depends(get_policy)
) -> Response:
    """Where to complain (GDPR Art. 77): the DPO first, then a supervisory authority."""
    manifest = book.current
    person = country.strip().upper()[:2] if country else None
    error = None
    try:
        complaint = answer_complaint(person, manifest.contact_point.country)
    except InvalidInput:
        complaint = None
        error = "We could not find the authority for this country."
    return render(
        request,
        "privacy/complaints.html",
        {
            "manifest": manifest,
            "complaint": complaint,
            "error": error,
            "country": person or "",
            "authorities": sorted(all_authorities().values(), key=lambda a: a.name_en),
            "eea": sorted(EEA_COUNTRIES),
        },
    )
