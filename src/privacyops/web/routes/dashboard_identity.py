"""Dashboard: the identity document a person uploaded for staff review.

``GET /dashboard/requests/{request_id}/document``: the file, for staff who decide the
``identity_document`` task; each opening is an audit event (``rights.document.read``), and
the file is deleted once the task is decided (rights/documents.py).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from privacyops.accounts import Principal
from privacyops.rights.service import RightsService
from privacyops.web.auth import STAFF_WRITE, require_staff
from privacyops.web.routes.rights import rights_service

router = APIRouter(tags=["dashboard"], include_in_schema=False)


@router.get("/dashboard/requests/{request_id}/document")
async def identity_document(
    request_id: str,
    service: RightsService = Depends(rights_service),
    who: Principal = Depends(require_staff(*STAFF_WRITE)),
) -> Response:
    """Open the uploaded identity document (audited)."""
    name, media, content = await run_in_threadpool(
        service.read_document, request_id[:40], actor=who.actor
    )
    return Response(
        content,
        media_type=media,
        headers={
            "Content-Disposition": f'inline; filename="{name}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )
