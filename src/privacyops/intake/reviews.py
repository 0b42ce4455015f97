"""Identity reviews, as staff decide them: a submission whose identifying identities pointed at
more than one data subject (the e-mail says one person, the customer id another) waits on a
subject of its own until staff merge it into one of them or keep it apart. Each decision is
audited in the same transaction (docs/registry.md)."""

from __future__ import annotations

from privacyops.audit import AuditLog
from privacyops.audit import actions as audit_actions
from privacyops.store import Database
from privacyops.store.registry import IdentityReviewView, Registry

__all__ = ["decide_identity_review", "pending_identity_reviews"]


def pending_identity_reviews(db: Database) -> list[IdentityReviewView]:
    """The reviews waiting for staff, oldest first."""
    return Registry(db).identity_reviews()


def decide_identity_review(
    db: Database, review_id: int, *, merge_into: str | None, actor: str
) -> IdentityReviewView:
    """Merge the held submission into the candidate ``merge_into`` (a subject's public id), or
    keep it apart (``None``); audited.

    Raises:
        NotFound, Conflict, InvalidInput, ProcessingRestricted: see
        :meth:`Registry.decide_identity_review`.
    """
    with db.session() as session:
        review = Registry(db).decide_identity_review(
            review_id, merge_into=merge_into, decided_by=actor, session=session
        )
        AuditLog(db).append(
            audit_actions.IDENTITY_DECIDE,
            actor=actor,
            subject_ref=merge_into or review.subject_public_id,
            reason="identity review decided by staff: "
            + ("merged into a candidate" if merge_into else "kept apart"),
            details={
                "review_id": review.id,
                "outcome": review.outcome,
                "held_subject": review.subject_public_id,
            },
            session=session,
        )
    return review
