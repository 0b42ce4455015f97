"""A subject's personal-data records: added, read (decrypted), rectified, deleted."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from privacyops.errors import InvalidInput, NotFound, ProcessingRestricted
from privacyops.store.base import utcnow
from privacyops.store.crypto import seal
from privacyops.store.registry.core import (
    CHUNK,
    RegistryCore,
    decrypt_record,
    encode_payload,
    record_row,
    records_table,
    subjects_table,
)
from privacyops.store.registry.types import Record, RecordIn, Subject

__all__ = ["RecordsPart"]


class RecordsPart(RegistryCore):
    """Records (part of :class:`Registry`)."""

    def add_record(
        self, subject: Subject, record: RecordIn, *, session: Session | None = None
    ) -> int:
        """Add a record to an existing subject; returns its id.

        Raises:
            ProcessingRestricted: the subject was erased.
        """
        key = self._data_keys([subject.public_id]).get(subject.public_id)
        if key is None:
            raise ProcessingRestricted("This data subject was erased.")
        with self._session(session) as s:
            return int(
                s.execute(
                    sa.insert(records_table).returning(records_table.c.id),
                    [record_row(subject, key, record)],
                ).scalar_one()
            )

    # --- reading and updating records ------------------------------------------------------

    def records_for(self, subject: Subject, *, session: Session | None = None) -> list[Record]:
        """The subject's records, decrypted, oldest first (payload ``None`` when shredded)."""
        with self._session(session) as s:
            rows = s.execute(
                sa.select(records_table)
                .where(records_table.c.subject_id == subject.id)
                .order_by(records_table.c.collected_at, records_table.c.id)
            ).all()
        key = self._data_keys([subject.public_id]).get(subject.public_id)
        return [decrypt_record(row, subject.public_id, key) for row in rows]

    def get_record(self, record_id: int, *, session: Session | None = None) -> Record:
        """One record, decrypted.

        Raises:
            NotFound: no such record.
        """
        with self._session(session) as s:
            row = s.execute(
                sa.select(records_table, subjects_table.c.public_id)
                .join(subjects_table, subjects_table.c.id == records_table.c.subject_id)
                .where(records_table.c.id == record_id)
            ).first()
        if row is None:
            raise NotFound("No such record.")
        key = self._data_keys([row.public_id]).get(row.public_id)
        return decrypt_record(row, row.public_id, key)

    def update_record(
        self,
        record_id: int,
        *,
        payload: Mapping[str, Any] | None = None,
        session: Session | None = None,
        **facts: Any,
    ) -> Record:
        """Change a record (rectification, GDPR Art. 16, or a new clock event).

        Args:
            payload: replaces the whole payload when given.
            **facts: any of ``data_categories``, ``purposes``, ``legal_basis``,
                ``policy_version``, ``last_contact_at``, ``last_event_registration_at``,
                ``last_service_delivery_at``, ``source_system``.

        Raises:
            InvalidInput: an unknown fact; NotFound: no such record; ProcessingRestricted: the
            subject was erased.
        """
        allowed = {
            "data_categories",
            "purposes",
            "legal_basis",
            "policy_version",
            "last_contact_at",
            "last_event_registration_at",
            "last_service_delivery_at",
            "source_system",
        }
        unknown = sorted(set(facts) - allowed)
        if unknown:
            raise InvalidInput(
                f"Cannot update {', '.join(unknown)}.",
                details=[{"loc": [name], "msg": "not an updatable fact"} for name in unknown],
            )
        with self._session(session) as s:
            current = self.get_record(record_id, session=s)
            values: dict[str, Any] = dict(facts)
            if "data_categories" in values:
                values["data_categories"] = list(values["data_categories"])
            if "purposes" in values:
                values["purposes"] = list(values["purposes"])
            if payload is not None:
                public_id = current.subject_public_id
                key = self._data_keys([public_id]).get(public_id)
                if key is None:
                    raise ProcessingRestricted("This data subject was erased.")
                values["payload_sealed"] = seal(
                    key, encode_payload(payload), b"record:" + public_id.encode()
                )
            values["updated_at"] = utcnow()
            s.execute(
                sa.update(records_table).where(records_table.c.id == record_id).values(**values)
            )
            return self.get_record(record_id, session=s)

    def delete_records(self, record_ids: Iterable[int], *, session: Session | None = None) -> int:
        """Delete records by id (set-based); returns how many were deleted."""
        ids = list(record_ids)
        deleted = 0
        with self._session(session) as s:
            for start in range(0, len(ids), CHUNK):
                result = s.execute(
                    sa.delete(records_table).where(
                        records_table.c.id.in_(ids[start : start + CHUNK])
                    )
                )
                deleted += cast(sa.CursorResult[Any], result).rowcount
        return deleted
