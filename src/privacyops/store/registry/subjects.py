"""Finding data subjects by their identities, and the identities a subject has.

An identifying identity (an e-mail address, a customer id) belongs to one subject and finds it;
a corroborating one (a phone, a name) may be shared by several subjects and finds a subject
only when exactly one holds it (see docs/registry.md).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from privacyops.errors import InvalidInput, NotFound, ProcessingRestricted
from privacyops.identities import identifies as default_identifies
from privacyops.store.base import utcnow
from privacyops.store.crypto import open_sealed, seal
from privacyops.store.registry.core import (
    CHUNK,
    RegistryCore,
    identities_table,
    subject_of,
    subjects_table,
)
from privacyops.store.registry.types import Subject

__all__ = ["SubjectsPart"]


def _pick(rows: Sequence[Any]) -> Subject | None:
    """The subject these identity rows find: the holder of an identifying row, else the one
    subject holding a corroborating row (several holders find no one)."""
    for row in rows:
        if row.identifies:
            return subject_of(row)
    holders = {row.id for row in rows}
    return subject_of(rows[0]) if len(holders) == 1 else None


class SubjectsPart(RegistryCore):
    """Subjects and their identities (part of :class:`Registry`)."""

    def find_subject(
        self, kind: str, value: str, *, session: Session | None = None
    ) -> Subject | None:
        """The subject this identity finds, or ``None``: the one it identifies, or, for a
        corroborating identity (a phone), the one subject holding it; when several people share
        it, no one.

        Raises:
            InvalidInput: unknown kind or malformed value.
        """
        index, _ = self._index(kind, value)
        query = (
            sa.select(subjects_table, identities_table.c.identifies)
            .join(identities_table, identities_table.c.subject_id == subjects_table.c.id)
            .where(identities_table.c.kind == kind, identities_table.c.blind_index == index)
            .order_by(identities_table.c.identifies.desc(), identities_table.c.id)
            .limit(2)
        )
        with self._session(session) as s:
            rows = s.execute(query).all()
        return _pick(rows) if rows else None

    def find_subjects(
        self, kind: str, values: Sequence[str], *, session: Session | None = None
    ) -> dict[str, Subject]:
        """:meth:`find_subject` for many values of one ``kind``, keyed by each value as given
        (a value that finds no one is absent), looked up set-based (one query per 500 values).

        Raises:
            InvalidInput: unknown kind or a malformed value.
        """
        wanted: dict[bytes, list[str]] = {}
        for value in dict.fromkeys(values):
            wanted.setdefault(self._index(kind, value)[0], []).append(value)
        indexes = list(wanted)
        by_index: dict[bytes, list[Any]] = defaultdict(list)
        with self._session(session) as s:
            for start in range(0, len(indexes), CHUNK):
                result = s.execute(
                    sa.select(
                        subjects_table,
                        identities_table.c.blind_index,
                        identities_table.c.identifies,
                    )
                    .join(identities_table, identities_table.c.subject_id == subjects_table.c.id)
                    .where(
                        identities_table.c.kind == kind,
                        identities_table.c.blind_index.in_(indexes[start : start + CHUNK]),
                    )
                    .order_by(identities_table.c.id)
                )
                for row in result:
                    by_index[bytes(row.blind_index)].append(row)
        found: dict[str, Subject] = {}
        for index, rows in by_index.items():
            subject = _pick(rows)
            if subject is not None:
                for value in wanted[index]:
                    found[value] = subject
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

    def add_identity(
        self,
        subject: Subject,
        kind: str,
        value: str,
        *,
        identifies: bool | None = None,
        session: Session | None = None,
    ) -> None:
        """Add an identity to a subject (no-op when the subject already has it). ``identifies``
        as in :class:`IdentityIn`.

        Raises:
            InvalidInput: an identifying identity that identifies another subject (without
            saying whose); ProcessingRestricted: the subject was erased.
        """
        index, normal = self._index(kind, value)
        role = default_identifies(kind, identifies)
        key = self._data_keys([subject.public_id]).get(subject.public_id)
        if key is None:
            raise ProcessingRestricted("This data subject was erased.")
        with self._session(session) as s:
            holders = s.execute(
                sa.select(identities_table.c.subject_id, identities_table.c.identifies).where(
                    identities_table.c.kind == kind, identities_table.c.blind_index == index
                )
            ).all()
            if any(h.subject_id == subject.id for h in holders):
                return
            if role and any(h.identifies for h in holders):
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
                    identifies=role,
                    created_at=utcnow(),
                )
            )

    def holds_identity(
        self, subject: Subject, kind: str, value: str, *, session: Session | None = None
    ) -> bool:
        """Whether the subject has this identity (identifying or corroborating): the check a
        second factor such as a phone number needs, where :meth:`find_subject` finds no one
        for a line several people share.

        Raises:
            InvalidInput: unknown kind or malformed value.
        """
        index, _ = self._index(kind, value)
        with self._session(session) as s:
            row = s.execute(
                sa.select(identities_table.c.id).where(
                    identities_table.c.subject_id == subject.id,
                    identities_table.c.kind == kind,
                    identities_table.c.blind_index == index,
                )
            ).first()
        return row is not None

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
