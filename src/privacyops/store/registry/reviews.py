"""The identity review queue: submissions whose identifying identities pointed at more than one
known subject wait here, on a subject of their own, until staff decide.

Staff either keep the submission apart (it stays a subject of its own) or merge it into one of
the candidates: its records and identities move to that subject, sealed again with its key, and
the waiting subject is crypto-shredded. The registry writes no audit events: the caller appends
one in the same transaction (see :mod:`privacyops.store.registry`).
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from privacyops.errors import Conflict, InvalidInput, NotFound, ProcessingRestricted
from privacyops.store.base import utcnow
from privacyops.store.crypto import open_sealed, seal
from privacyops.store.registry.core import (
    identities_table,
    records_table,
    reviews_table,
    subjects_table,
)
from privacyops.store.registry.erasure import ErasurePart
from privacyops.store.registry.subjects import SubjectsPart
from privacyops.store.registry.types import IdentityReviewView

__all__ = ["ReviewsPart"]


def _view(row: Any) -> IdentityReviewView:
    matches = row.matches if not isinstance(row.matches, str) else json.loads(row.matches)
    return IdentityReviewView(
        id=row.id,
        subject_public_id=row.public_id,
        matches=list(matches),
        created_at=row.created_at,
        decided_at=row.decided_at,
        decided_by=row.decided_by,
        outcome=row.outcome,
        merged_into=row.merged_into,
    )


_SELECT = sa.select(reviews_table, subjects_table.c.public_id).join(
    subjects_table, subjects_table.c.id == reviews_table.c.subject_id
)


class ReviewsPart(SubjectsPart, ErasurePart):
    """The identity review queue (part of :class:`Registry`)."""

    def identity_reviews(
        self, *, pending: bool = True, session: Session | None = None
    ) -> list[IdentityReviewView]:
        """The reviews waiting for staff (``pending``), or every review, oldest first."""
        query = _SELECT.order_by(reviews_table.c.id)
        if pending:
            query = query.where(reviews_table.c.decided_at.is_(None))
        with self._session(session) as s:
            return [_view(row) for row in s.execute(query)]

    def identity_review(
        self, review_id: int, *, session: Session | None = None
    ) -> IdentityReviewView:
        """One review.

        Raises:
            NotFound: no such review.
        """
        with self._session(session) as s:
            row = s.execute(_SELECT.where(reviews_table.c.id == review_id)).first()
        if row is None:
            raise NotFound("No such identity review.")
        return _view(row)

    def decide_identity_review(
        self,
        review_id: int,
        *,
        merge_into: str | None,
        decided_by: str,
        session: Session | None = None,
    ) -> IdentityReviewView:
        """Decide a review: ``merge_into`` one of its candidates' public ids, or ``None`` to keep
        the submission's subject apart.

        Raises:
            NotFound: no such review; Conflict: already decided; InvalidInput: ``merge_into``
            is not one of the candidates; ProcessingRestricted: a subject involved was erased.
        """
        with self._session(session) as s:
            review = self.identity_review(review_id, session=s)
            if review.decided_at is not None:
                raise Conflict("This identity review was already decided.")
            candidates = [str(m["subject"]) for m in review.matches]
            if merge_into is not None:
                if merge_into not in candidates:
                    raise InvalidInput(
                        "Merge only into one of the review's candidates.",
                        details=[{"loc": ["merge_into"], "msg": "not a candidate"}],
                    )
                self._merge(s, review.subject_public_id, merge_into)
            s.execute(
                sa.update(reviews_table)
                .where(reviews_table.c.id == review_id)
                .values(
                    decided_at=utcnow(),
                    decided_by=decided_by,
                    outcome="merged" if merge_into else "separate",
                    merged_into=merge_into,
                )
            )
            return self.identity_review(review_id, session=s)

    def _merge(self, s: Session, source_ref: str, target_ref: str) -> None:
        """Move the source subject's records and identities to the target (sealed again with
        the target's key), then crypto-shred the source."""
        source = self.get_subject(source_ref, session=s)
        target = self.get_subject(target_ref, session=s)
        keys = self._data_keys([source.public_id, target.public_id])
        if source.public_id not in keys or target.public_id not in keys:
            raise ProcessingRestricted("A data subject of this review was erased.")
        old, new = keys[source.public_id], keys[target.public_id]
        old_aad, new_aad = source.public_id.encode(), target.public_id.encode()
        for row in s.execute(
            sa.select(records_table.c.id, records_table.c.payload_sealed).where(
                records_table.c.subject_id == source.id
            )
        ).all():
            sealed = row.payload_sealed
            if sealed is not None:
                plain = open_sealed(old, bytes(sealed), b"record:" + old_aad)
                sealed = seal(new, plain, b"record:" + new_aad)
            s.execute(
                sa.update(records_table)
                .where(records_table.c.id == row.id)
                .values(subject_id=target.id, payload_sealed=sealed, updated_at=utcnow())
            )
        target_has = {
            bytes(bi)
            for bi in s.execute(
                sa.select(identities_table.c.blind_index).where(
                    identities_table.c.subject_id == target.id
                )
            ).scalars()
        }
        for row in s.execute(
            sa.select(identities_table).where(identities_table.c.subject_id == source.id)
        ).all():
            if bytes(row.blind_index) in target_has:
                continue  # deleted with the source below
            plain = open_sealed(old, bytes(row.value_sealed), b"identity:" + old_aad)
            s.execute(
                sa.update(identities_table)
                .where(identities_table.c.id == row.id)
                .values(
                    subject_id=target.id,
                    value_sealed=seal(new, plain, b"identity:" + new_aad),
                )
            )
        self.shred_subjects([source], force=True, session=s)
