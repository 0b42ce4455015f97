"""Identity documents for staff review, only when the identity is genuinely in doubt
(GDPR Art. 12(6); rights/idcheck.py decides when).

The person uploads one file on the request's page: a PDF, JPEG or PNG (recognised by its
first bytes, not by its name), at most ``identity_document_max_bytes``. It is sealed with the
request's key (so it is unreadable without the master key and gone with the request), each
reading by staff is an audit event, and it is deleted as soon as staff decide the
``identity_document`` task, whatever the decision (Art. 5(1)(c), 5(1)(e)).
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, object_session

from privacyops.errors import Conflict, InvalidInput, NotFound
from privacyops.rights.models import IdentityDocument, RightsRequest, StaffTask
from privacyops.rights.verification import counted_request
from privacyops.rights.workflow import RequestState, TaskKind
from privacyops.store import utcnow

if TYPE_CHECKING:
    from privacyops.rights.service import RightsService

__all__ = [
    "MEDIA_TYPES",
    "document_state",
    "forget_document",
    "read_document",
    "sniff",
    "upload_document",
]

#: What a file's first bytes say it is, and the only types taken.
MEDIA_TYPES: dict[bytes, str] = {
    b"%PDF-": "application/pdf",
    b"\xff\xd8\xff": "image/jpeg",
    b"\x89PNG\r\n\x1a\n": "image/png",
}
_SUFFIX = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}


def sniff(content: bytes) -> str | None:
    """The media type of ``content`` by its first bytes (``None``: not one we take)."""
    for magic, media in MEDIA_TYPES.items():
        if content.startswith(magic):
            return media
    return None


def _open_task(session: Session, row: RightsRequest) -> StaffTask | None:
    return session.scalar(
        sa.select(StaffTask).where(
            StaffTask.request_id == row.id,
            StaffTask.kind == TaskKind.IDENTITY_DOCUMENT.value,
            StaffTask.decision.is_(None),
        )
    )


def document_state(row: RightsRequest) -> dict[str, Any] | None:
    """For the person's view: whether a document is wanted and whether one arrived
    (``None`` when no document review is open)."""
    session = object_session(row)
    if session is None or row.state != RequestState.AWAITING_REVIEW.value:
        return None
    if _open_task(session, row) is None:
        return None
    have = session.scalar(
        sa.select(IdentityDocument.uploaded_at).where(IdentityDocument.request_id == row.id)
    )
    return {"received": have is not None}


def upload_document(
    service: RightsService,
    request_id: str,
    token: str,
    content: bytes,
    *,
    client: str = "local",
) -> dict[str, Any]:
    """Take the person's identity document for the open review (replacing an earlier one).

    Raises:
        VerificationFailed: unknown request or wrong key. Conflict: no review waits for a
        document. InvalidInput: empty, too large, or not a PDF, JPEG or PNG (nothing kept).
    """
    limit = service.settings.identity_document_max_bytes
    media = sniff(content)
    problem = None
    if not content:
        problem = "The file is empty."
    elif len(content) > limit:
        problem = f"The file is larger than {limit // 1_000_000} MB."
    elif media is None:
        problem = "Send a PDF, JPEG or PNG file."
    now = utcnow()
    with counted_request(service, request_id, token, client=client) as (session, row):
        if row.state != RequestState.AWAITING_REVIEW.value or _open_task(session, row) is None:
            raise Conflict("This request does not wait for an identity document.")
        if problem is not None or media is None:
            raise InvalidInput(problem or "", details=[{"loc": ["document"], "msg": problem}])
        sealed = service.seal_for(
            row, {"media_type": media, "content": base64.b64encode(content).decode()}
        )
        doc = session.scalar(
            sa.select(IdentityDocument).where(IdentityDocument.request_id == row.id)
        )
        if doc is None:
            doc = IdentityDocument(request_id=row.id, media_type=media, size=0, sealed=b"")
            session.add(doc)
        doc.media_type, doc.size, doc.sealed, doc.uploaded_at = media, len(content), sealed, now
        service.record(
            session,
            "rights.document.uploaded",
            row,
            actor="subject",
            media=media,
            size=len(content),
        )
        return service.view(row)


def read_document(service: RightsService, request_id: str, *, actor: str) -> tuple[str, str, bytes]:
    """The uploaded document for staff: ``(filename, media type, content)``; each reading is
    an audit event.

    Raises:
        NotFound: no such request, or no document (none uploaded, or already deleted).
    """
    with service.write_session() as session:
        row = session.scalar(sa.select(RightsRequest).where(RightsRequest.public_id == request_id))
        doc = (
            session.scalar(sa.select(IdentityDocument).where(IdentityDocument.request_id == row.id))
            if row is not None
            else None
        )
        if row is None or doc is None:
            raise NotFound("This request has no identity document.")
        opened = service.open_for(row, doc.sealed)
        service.record(session, "rights.document.read", row, actor=actor, media=doc.media_type)
        name = f"identity-{row.public_id}.{_SUFFIX.get(doc.media_type, 'bin')}"
        return name, doc.media_type, base64.b64decode(opened["content"])


def forget_document(
    service: RightsService, session: Session, row: RightsRequest, *, actor: str
) -> None:
    """Delete the request's document (staff decided the review), recording that it went."""
    deleted = session.execute(
        sa.delete(IdentityDocument)
        .where(IdentityDocument.request_id == row.id)
        .execution_options(synchronize_session=False)
    )
    if getattr(deleted, "rowcount", 0):
        service.record(session, "rights.document.deleted", row, actor=actor)
