"""Identity resolution at intake: which data subject a submission belongs to.

The rules (docs/registry.md):

1. A submission joins a known subject only through an *identifying* identity (an e-mail
   address, a customer id): never through a corroborating one alone (a phone line, a name, a
   company), which many people may share.
2. When its identifying identities point at more than one known subject (the e-mail says one
   person, the customer id another), nothing is merged: the record goes to a subject of its
   own and an identity review waits for staff (:mod:`.reviews`).
3. Otherwise it joins the one subject found, or makes a new one; the identities the subject
   lacks are added to it (an identifying one only when no one else holds it).

Submissions in one batch are resolved in order, as if one by one, set-based.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from privacyops.errors import InvalidInput, ProcessingRestricted
from privacyops.identities import identifies
from privacyops.store.base import utcnow
from privacyops.store.crypto import seal
from privacyops.store.registry.core import (
    CHUNK,
    Prepared,
    RegistryCore,
    identities_table,
    insert_many,
    record_row,
    records_table,
    reviews_table,
    subject_of,
    subjects_table,
)
from privacyops.store.registry.types import IdentityIn, RecordIn, Subject, Submission

__all__ = ["ResolutionPart"]

# A subject of the batch: one already known, or a placeholder (a negative number) for one to
# create.
_Who = Subject | int


class ResolutionPart(RegistryCore):
    """Intake: submissions resolved to their subjects (part of :class:`Registry`)."""

    def get_or_create_subject(
        self, identities: Sequence[IdentityIn], *, session: Session | None = None
    ) -> Subject:
        """The subject these identities identify, or a new one; identities the subject does not
        have yet are added to it (see the module's rules)."""
        created: list[str] = []
        try:
            with self._session(session) as s:
                subjects, _ = self._resolve(s, [self._prepare(identities, None)], created)
        except BaseException:
            self.key_store.destroy(created, purge=False)  # keys of subjects never written
            raise
        return subjects[0]

    def ingest(
        self, submission: Submission, *, session: Session | None = None
    ) -> tuple[Subject, int]:
        """Store one submission: find or create its subject, add new identities, add the
        record. Returns the subject and the new record's id."""
        return self.ingest_many([submission], session=session)[0]

    def ingest_many(
        self, submissions: Sequence[Submission], *, session: Session | None = None
    ) -> list[tuple[Subject, int]]:
        """Store many submissions in one transaction, set-based (the fast path for imports).

        Returns ``(subject, record id)`` per submission, in order; a subject with a
        ``review_id`` holds a submission whose identities conflict (see the module's rules).
        When a concurrent writer creates the same identity first, the batch is retried (up to
        three times) without its session; with a caller's ``session`` the conflict propagates.
        """
        batch = [self._prepare(x.identities, x.record) for x in submissions]
        if not batch:
            return []
        attempts = 1 if session is not None else 3
        for attempt in range(attempts):
            created: list[str] = []
            try:
                with self._session(session) as s:
                    subjects, keys = self._resolve(s, batch, created)
                    rows = [
                        record_row(subject, keys[subject.public_id], p.record)
                        for p, subject in zip(batch, subjects, strict=True)
                    ]
                    ids = insert_many(s, records_table, rows)
                    return list(zip(subjects, ids, strict=True))
            except IntegrityError:
                self.key_store.destroy(created, purge=False)
                if attempt == attempts - 1:
                    raise
            except BaseException:
                self.key_store.destroy(created, purge=False)  # keys of subjects never written
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _prepare(self, identities: Sequence[IdentityIn], record: RecordIn | None) -> Prepared:
        if not identities:
            raise InvalidInput(
                "A submission needs at least one identity (e-mail, phone, visitor id...).",
                details=[{"loc": ["identities"], "msg": "empty"}],
            )
        prepared = []
        for identity in identities:
            index, normal = self._index(identity.kind, identity.value)
            prepared.append(
                (identity.kind, index, normal, identifies(identity.kind, identity.identifies))
            )
        return Prepared(prepared, record or RecordIn("", "", ""))

    def _resolve(
        self, s: Session, batch: Sequence[Prepared], created_keys: list[str]
    ) -> tuple[list[Subject], dict[str, bytes]]:
        """Find or create the subject of each prepared submission (set-based), add the
        identities they lack and open a review for each conflict; returns the subjects in
        order and their data keys."""
        # What the database holds for these identities: who each identifying one belongs to,
        # and every (subject, identity) pair, identifying or not.
        indexes = list({bi for p in batch for _, bi, _, _ in p.identities})
        owner: dict[bytes, _Who] = {}
        held: set[tuple[int, bytes]] = set()
        for start in range(0, len(indexes), CHUNK):
            rows = s.execute(
                sa.select(
                    identities_table.c.blind_index, identities_table.c.identifies, subjects_table
                )
                .join(subjects_table, subjects_table.c.id == identities_table.c.subject_id)
                .where(identities_table.c.blind_index.in_(indexes[start : start + CHUNK]))
            ).all()
            for row in rows:
                held.add((row.id, bytes(row.blind_index)))
                if row.identifies:
                    owner[bytes(row.blind_index)] = subject_of(row)
        known = set(owner)
        # Each submission in order: its identifying matches decide (placeholders for subjects
        # to create are negative numbers).
        assigned: list[_Who] = []
        conflicts: dict[int, dict[_Who, list[str]]] = {}
        placeholders = 0
        for n, p in enumerate(batch):
            matches: dict[_Who, list[str]] = {}
            for kind, bi, _, identifying in p.identities:
                if identifying and bi in owner:
                    kinds = matches.setdefault(owner[bi], [])
                    if kind not in kinds:
                        kinds.append(kind)
            if len(matches) == 1:
                found = next(iter(matches))
            else:
                placeholders += 1
                found = -placeholders
                if matches:
                    conflicts[n] = matches
            for _, bi, _, identifying in p.identities:
                if identifying:
                    owner.setdefault(bi, found)
            assigned.append(found)
        new_keys = self._new_subject_keys(s, placeholders, created_keys) if placeholders else {}
        created: dict[int, Subject] = {}
        now = utcnow()
        if placeholders:
            new_ids = insert_many(
                s, subjects_table, [{"public_id": p, "created_at": now} for p in new_keys]
            )
            for n, (subject_id, public_id) in enumerate(zip(new_ids, new_keys, strict=True), 1):
                created[-n] = Subject(subject_id, public_id, now, None)

        def subject(who: _Who) -> Subject:
            return created[who] if isinstance(who, int) else who

        subjects = [subject(a) for a in assigned]
        keys = dict(new_keys)
        existing = {x.public_id for x in subjects} - keys.keys()
        keys.update(self._data_keys(existing, s))
        if existing - keys.keys():  # an identity still points at a subject whose key is gone
            raise ProcessingRestricted("A data subject in this batch was erased.")
        new_rows = []
        for p, who in zip(batch, subjects, strict=True):
            aad = b"identity:" + who.public_id.encode()
            for kind, bi, normal, identifying in p.identities:
                if (who.id, bi) in held:
                    continue
                if identifying and (bi in known or subject(owner[bi]) != who):
                    continue  # someone else's (a conflict), or already stored
                held.add((who.id, bi))
                new_rows.append(
                    {
                        "subject_id": who.id,
                        "kind": kind,
                        "blind_index": bi,
                        "value_sealed": seal(keys[who.public_id], normal.encode(), aad),
                        "identifies": identifying,
                        "created_at": now,
                    }
                )
        if new_rows:
            insert_many(s, identities_table, new_rows)
        if conflicts:
            review_ids = insert_many(
                s,
                reviews_table,
                [
                    {
                        "subject_id": subjects[n].id,
                        "matches": [
                            {"subject": subject(w).public_id, "kinds": kinds}
                            for w, kinds in matches.items()
                        ],
                        "created_at": now,
                    }
                    for n, matches in conflicts.items()
                ],
            )
            for n, review_id in zip(conflicts, review_ids, strict=True):
                subjects[n] = replace(subjects[n], review_id=review_id)
        return subjects, keys
