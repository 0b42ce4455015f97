"""The DPO's desk on one request: who handles it, and staff's internal comments.

Both are audited in the same transaction as the act. A comment's text may name people, so it
is sealed with the request's key and never written to the audit log (which records that a
comment was added, by whom, and its length).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa

from privacyops.errors import InvalidInput, NotFound
from privacyops.freetext import text_problem
from privacyops.rights.models import RequestComment, RightsRequest

if TYPE_CHECKING:
    from privacyops.rights.service import RightsService

__all__ = ["MAX_COMMENT", "Comment", "add_comment", "assign", "comments"]

MAX_COMMENT = 4000


@dataclass(frozen=True)
class Comment:
    """One internal comment, opened."""

    author: str
    text: str
    created_at: datetime


def _row(session: sa.orm.Session, request_id: str) -> RightsRequest:
    row = session.scalar(sa.select(RightsRequest).where(RightsRequest.public_id == request_id))
    if row is None:
        raise NotFound("No request has that reference.")
    return row


def assign(service: RightsService, request_id: str, assignee: str | None, *, actor: str) -> None:
    """Give the request to ``assignee`` (a staff user's e-mail, checked by the caller), or to no
    one (``None``); audited."""
    with service.write_session() as session:
        row = _row(session, request_id)
        previous = row.assignee
        row.assignee = assignee
        service.record(
            session,
            "rights.request.assigned",
            row,
            actor=actor,
            assignee=assignee,
            previous=previous,
        )


def add_comment(service: RightsService, request_id: str, text: str, *, actor: str) -> None:
    """Add an internal comment (sealed with the request's key); audited without its text.

    Raises:
        InvalidInput: empty, too long, or holding control characters.
        NotFound: no such request.
        Conflict: the request's details were purged (its key is gone).
    """
    text = text.strip()
    problem = "Write a comment." if not text else None
    if text and text_problem(text):
        problem = "The comment contains characters that cannot be stored."
    elif len(text) > MAX_COMMENT:
        problem = f"A comment has at most {MAX_COMMENT:,} characters."
    if problem is not None:
        raise InvalidInput(problem, details=[{"loc": ["comment"], "msg": problem}])
    with service.write_session() as session:
        row = _row(session, request_id)
        session.add(
            RequestComment(
                request_id=row.id,
                author=actor,
                body_sealed=service.seal_for(row, {"text": text}),
            )
        )
        service.record(session, "rights.request.commented", row, actor=actor, characters=len(text))


def comments(service: RightsService, request_id: str) -> list[Comment]:
    """The request's comments, oldest first (empty once its key is purged)."""
    with service.db.read_session() as session:
        row = _row(session, request_id)
        if row.wrapped_key is None:
            return []
        found = session.scalars(
            sa.select(RequestComment)
            .where(RequestComment.request_id == row.id)
            .order_by(RequestComment.id)
        )
        return [
            Comment(c.author, str(service.open_for(row, c.body_sealed)["text"]), c.created_at)
            for c in found
        ]
