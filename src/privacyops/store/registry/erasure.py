"""Erasure by crypto-shredding: the subject's key destroyed first, then its rows."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from privacyops.errors import ProcessingRestricted
from privacyops.store.base import utcnow
from privacyops.store.registry.core import (
    CHUNK,
    RegistryCore,
    holds_table,
    identities_table,
    records_table,
    subjects_table,
)
from privacyops.store.registry.types import Subject

__all__ = ["ErasurePart"]


class ErasurePart(RegistryCore):
    """Erasure (part of :class:`Registry`)."""

    def shred_subject(
        self, subject: Subject, *, force: bool = False, session: Session | None = None
    ) -> bool:
        """Erase a subject: destroy its data key first, then delete its identities and records
        and mark it erased. Returns ``False`` when it was already erased.

        Raises:
            ProcessingRestricted: an active legal hold protects the subject (unless ``force``).
        """
        return self.shred_subjects([subject], force=force, session=session) > 0

    def shred_subjects(
        self,
        subjects: Sequence[Subject],
        *,
        force: bool = False,
        purge: bool = True,
        session: Session | None = None,
    ) -> int:
        """Erase many subjects set-based (see :meth:`shred_subject`); returns how many keys
        were destroyed. ``purge`` also wipes the deleted keys' bytes from storage now."""
        ids = [x.id for x in subjects]
        if not ids:
            return 0
        with self._session(session) as s:
            if not force:
                now = utcnow()
                for start in range(0, len(ids), CHUNK):
                    held = s.execute(
                        sa.select(holds_table.c.id).where(
                            holds_table.c.subject_id.in_(ids[start : start + CHUNK]),
                            holds_table.c.lifted_at.is_(None),
                            sa.or_(holds_table.c.until.is_(None), holds_table.c.until > now),
                        )
                    ).first()
                    if held is not None:
                        raise ProcessingRestricted(
                            "A legal hold keeps this data subject's data; lift it first."
                        )
            # The key goes first: from this moment every copy of the data is ciphertext only.
            destroyed = self.key_store.destroy([x.public_id for x in subjects], purge=purge)
            now = utcnow()
            for start in range(0, len(ids), CHUNK):
                chunk = ids[start : start + CHUNK]
                s.execute(
                    sa.delete(identities_table).where(identities_table.c.subject_id.in_(chunk))
                )
                s.execute(sa.delete(records_table).where(records_table.c.subject_id.in_(chunk)))
                s.execute(
                    sa.update(subjects_table)
                    .where(subjects_table.c.id.in_(chunk), subjects_table.c.erased_at.is_(None))
                    .values(erased_at=now)
                )
        return destroyed
