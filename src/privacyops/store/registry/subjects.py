"""Finding data subjects by their identities, and intake: a submission joins its subject or
makes a new one."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from privacyops.errors import InvalidInput, NotFound, ProcessingRestricted
from privacyops.store.base import utcnow
from privacyops.store.crypto import open_sealed, seal
from privacyops.store.registry.core import (
    CHUNK,
    Prepared,
    RegistryCore,
    identities_table,
    insert_many,
    record_row,
    records_table,
    subject_of,
    subjects_table,
)
from privacyops.store.registry.types import IdentityIn, RecordIn, Subject, Submission

__all__ = ["SubjectsPart"]


class SubjectsPart(RegistryCore):
    """Subjects, their identities, and intake (part of :class:`Registry`)."""

    def find_subject(
        self, kind: str, value: str, *, session: Session | None = None
    ) -> Subject | None:
        """The subject with this identity, or ``None``.

        Raises:
            InvalidInput: unknown kind or malformed value.
        """
        index, _ = self._index(kind, value)
        query = (
            sa.select(subjects_table)
            .join(identities_table, identities_table.c.subject_id == subjects_table.c.id)
            .where(identities_table.c.kind == kind, identities_table.c.blind_index == index)
        )
        with self._session(session) as s:
            row = s.execute(query).first()
        return subject_of(row) if row is not None else None

    def find_subjects(
        self, kind: str, values: Sequence[str], *, session: Session | None = None
    ) -> dict[str, Subject]:
        """The subjects with these identities of one ``kind``, keyed by each value as given
        (a value nobody has is absent), looked up set-based (one query per 500 values).

        Raises:
            InvalidInput: unknown kind or a malformed value.
        """
        wanted: dict[bytes, list[str]] = {}
        for value in dict.fromkeys(values):
            wanted.setdefault(self._index(kind, value)[0], []).append(value)
        indexes = list(wanted)
        found: dict[str, Subject] = {}
        with self._session(session) as s:
            for start in range(0, len(indexes), CHUNK):
                rows = s.execute(
                    sa.select(subjects_table, identities_table.c.blind_index)
                    .join(identities_table, identities_table.c.subject_id == subjects_table.c.id)
                    .where(
                        identities_table.c.kind == kind,
                        identities_table.c.blind_index.in_(indexes[start : start + CHUNK]),
                    )
                )
                for row in rows:
                    for value in wanted[row.blind_index]:
                        found.setdefault(value, subject_of(row))
        return found

    def get_subject(self, public_id: str, *, session: Session | None = None) -> Subject:
        """The subject with this public id.

        Raises:
            NotFound: no such subject.
        """
        with self._session(session) as s:
            row = s.execute(
                sa.select(subjects_table).where(subjects_table.c.public_id == public_id)
            ).first()
        if row is None:
            raise NotFound("No such data subject.")
        return subject_of(row)

    def get_subjects(
        self, public_ids: Sequence[str], *, session: Session | None = None
    ) -> list[Subject]:
        """The subjects with these public ids, in the order given (duplicates once), looked up
        set-based (one query per 500 ids, not one per subject).

        Raises:
            NotFound: one of them does not exist.
        """
        wanted = list(dict.fromkeys(public_ids))
        found: dict[str, Subject] = {}
        with self._session(session) as s:
            for start in range(0, len(wanted), CHUNK):
                rows = s.execute(
                    sa.select(subjects_table).where(
                        subjects_table.c.public_id.in_(wanted[start : start + CHUNK])
                    )
                )
                found.update({row.public_id: subject_of(row) for row in rows})
        if len(found) != len(wanted):
            raise NotFound("No such data subject.")
        return [found[p] for p in wanted]

    def get_or_create_subject(
        self, identities: Sequence[IdentityIn], *, session: Session | None = None
    ) -> Subject:
        """The subject any of these identities belongs to, or a new one; identities the subject
        does not have yet are added to it."""
        created: list[str] = []
        try:
            with self._session(session) as s:
                subjects, _ = self._resolve(s, [self._prepare(identities, None)], created)
        except BaseException:
            self.key_store.destroy(created, purge=False)  # keys of subjects never written
            raise
        return subjects[0]

    def add_identity(
        self, subject: Subject, kind: str, value: str, *, session: Session | None = None
    ) -> None:
        """Add an identity to a subject (no-op when the subject already has it).

        Raises:
            InvalidInput: the identity belongs to another subject (without saying whose);
            ProcessingRestricted: the subject was erased.
        """
        index, normal = self._index(kind, value)
        key = self._data_keys([subject.public_id]).get(subject.public_id)
        if key is None:
            raise ProcessingRestricted("This data subject was erased.")
        with self._session(session) as s:
            owner = s.execute(
                sa.select(identities_table.c.subject_id).where(
                    identities_table.c.kind == kind, identities_table.c.blind_index == index
                )
            ).scalar()
            if owner == subject.id:
                return
            if owner is not None:
                raise InvalidInput(
                    f"This {kind} already identifies another data subject.",
                    details=[{"loc": [kind], "msg": "belongs to another data subject"}],
                )
            s.execute(
                sa.insert(identities_table).values(
                    subject_id=subject.id,
                    kind=kind,
                    blind_index=index,
                    value_sealed=seal(
                        key, normal.encode(), b"identity:" + subject.public_id.encode()
                    ),
                    created_at=utcnow(),
                )
            )

    def identities_of(
        self, subject: Subject, *, session: Session | None = None
    ) -> list[tuple[str, str]]:
        """The subject's identities, decrypted, as ``(kind, normalised value)`` pairs."""
        with self._session(session) as s:
            rows = s.execute(
                sa.select(identities_table.c.kind, identities_table.c.value_sealed)
                .where(identities_table.c.subject_id == subject.id)
                .order_by(identities_table.c.id)
            ).all()
        key = self._data_keys([subject.public_id]).get(subject.public_id)
        if key is None:
            return []
        aad = b"identity:" + subject.public_id.encode()
        return [(kind, open_sealed(key, bytes(sealed), aad).decode()) for kind, sealed in rows]

    # --- intake ------------------------------------------------------------------------------

    def _prepare(self, identities: Sequence[IdentityIn], record: RecordIn | None) -> Prepared:
        if not identities:
            raise InvalidInput(
                "A submission needs at least one identity (e-mail, phone, visitor id...).",
                details=[{"loc": ["identities"], "msg": "empty"}],
            )
        prepared = []
        for identity in identities:
            index, normal = self._index(identity.kind, identity.value)
            prepared.append((identity.kind, index, normal))
        return Prepared(prepared, record or RecordIn("", "", ""))

    def _resolve(
        self, s: Session, batch: Sequence[Prepared], created_keys: list[str]
    ) -> tuple[list[Subject], dict[str, bytes]]:
        """Find or create the subject of each prepared submission (set-based) and add the
        identities they lack; returns the subjects in order and their data keys."""
        indexes = list({bi for p in batch for _, bi, _ in p.identities})
        known: dict[bytes, Subject] = {}
        for start in range(0, len(indexes), CHUNK):
            rows = s.execute(
                sa.select(identities_table.c.blind_index, subjects_table)
                .join(subjects_table, subjects_table.c.id == identities_table.c.subject_id)
                .where(identities_table.c.blind_index.in_(indexes[start : start + CHUNK]))
            ).all()
            for row in rows:
                known[bytes(row.blind_index)] = subject_of(row)
        # Subjects to create: submissions none of whose identities is known, merged when they
        # share an identity within the batch (placeholders are negative numbers).
        owner: dict[bytes, Subject | int] = dict(known)
        assigned: list[Subject | int] = []
        placeholders = 0
        for p in batch:
            found: Subject | int | None = next(
                (owner[bi] for _, bi, _ in p.identities if bi in owner), None
            )
            if found is None:
                placeholders += 1
                found = -placeholders
            for _, bi, _ in p.identities:
                owner.setdefault(bi, found)
            assigned.append(found)
        new_keys = self._new_subject_keys(placeholders, created_keys) if placeholders else {}
        created: dict[int, Subject] = {}
        if placeholders:
            now = utcnow()
            new_ids = insert_many(
                s, subjects_table, [{"public_id": p, "created_at": now} for p in new_keys]
            )
            for n, (subject_id, public_id) in enumerate(zip(new_ids, new_keys, strict=True), 1):
                created[-n] = Subject(subject_id, public_id, now, None)
        subjects = [created[a] if isinstance(a, int) else a for a in assigned]
        keys = dict(new_keys)
        existing = {x.public_id for x in subjects} - keys.keys()
        keys.update(self._data_keys(existing))
        erased = existing - keys.keys()
        if erased:  # an identity still points at a subject whose key is gone
            raise ProcessingRestricted("A data subject in this batch was erased.")
        new_rows = []
        seen = set(known)
        now = utcnow()
        for p, subject in zip(batch, subjects, strict=True):
            aad = b"identity:" + subject.public_id.encode()
            for kind, bi, normal in p.identities:
                if bi in seen:
                    continue
                seen.add(bi)
                new_rows.append(
                    {
                        "subject_id": subject.id,
                        "kind": kind,
                        "blind_index": bi,
                        "value_sealed": seal(keys[subject.public_id], normal.encode(), aad),
                        "created_at": now,
                    }
                )
        if new_rows:
            insert_many(s, identities_table, new_rows)
        return subjects, keys

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

        Returns ``(subject, record id)`` per submission, in order. When a concurrent writer
        creates the same identity first, the batch is retried (up to three times) without its
        session; with a caller's ``session`` the conflict propagates.
        """
        batch = [self._prepare(x.identities, x.record) for x in submissions]
        if not batch:
            return []
        attempts = 1 if session is not None else 3
        for attempt in range(attempts):
            created: list[str] = []
            try:
                with self._session(session) as s:
                    return self._ingest(s, batch, created)
            except IntegrityError:
                self.key_store.destroy(created, purge=False)
                if attempt == attempts - 1:
                    raise
            except BaseException:
                self.key_store.destroy(created, purge=False)  # keys of subjects never written
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _ingest(
        self, s: Session, batch: Sequence[Prepared], created: list[str]
    ) -> list[tuple[Subject, int]]:
        subjects, keys = self._resolve(s, batch, created)
        rows = [
            record_row(subject, keys[subject.public_id], p.record)
            for p, subject in zip(batch, subjects, strict=True)
        ]
        ids = insert_many(s, records_table, rows)
        return list(zip(subjects, ids, strict=True))
