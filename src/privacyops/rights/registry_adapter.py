"""The store's :class:`~privacyops.store.registry.Registry` seen through the rights interface
(:class:`privacyops.rights.ports.SubjectRegistry`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from privacyops.rights.ports import HoldView, RecordView
from privacyops.store import utcnow
from privacyops.store.models import DataSubject, LegalHold, PersonalDataRecord
from privacyops.store.registry import Registry, Subject

__all__ = ["StoreRegistry"]

#: Subjects per set-based query (bound parameters stay well under every database's limit).
_CHUNK = 500


class StoreRegistry:
    """Adapts :class:`Registry` (which takes :class:`Subject` objects) to public ids."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    def __repr__(self) -> str:
        return f"StoreRegistry({self.registry!r})"

    def _subject(self, session: Session, subject_ref: str) -> Subject:
        return self.registry.get_subject(subject_ref, session=session)

    def find_subject(self, session: Session, kind: str, value: str) -> str | None:
        found = self.registry.find_subject(kind, value, session=session)
        if found is None or found.erased_at is not None:
            return None
        return found.public_id

    def find_subjects(self, session: Session, kind: str, values: Sequence[str]) -> dict[str, str]:
        found = self.registry.find_subjects(kind, values, session=session)
        return {v: s.public_id for v, s in found.items() if s.erased_at is None}

    def holds_identity(self, session: Session, subject_ref: str, kind: str, value: str) -> bool:
        subject = self._subject(session, subject_ref)
        return self.registry.holds_identity(subject, kind, value, session=session)

    def records_for(self, session: Session, subject_ref: str) -> list[RecordView]:
        subject = self._subject(session, subject_ref)
        return [
            RecordView(
                id=r.id,
                channel=r.channel,
                data_categories=r.data_categories,
                purposes=r.purposes,
                legal_basis=r.legal_basis,
                policy_version=r.policy_version,
                collected_at=r.collected_at,
                source_system=r.source_system,
                data=r.payload or {},
                clocks={
                    "last_contact": r.last_contact_at,
                    "last_event_registration": r.last_event_registration_at,
                    "last_service_delivery": r.last_service_delivery_at,
                },
            )
            for r in self.registry.records_for(subject, session=session)
        ]

    def record_facts(self, session: Session, subject_ref: str) -> list[RecordView]:
        return self.record_facts_many(session, [subject_ref])[subject_ref]

    def record_facts_many(
        self, session: Session, subject_refs: Sequence[str]
    ) -> dict[str, list[RecordView]]:
        facts: dict[str, list[RecordView]] = {ref: [] for ref in subject_refs}
        refs = list(facts)
        for start in range(0, len(refs), _CHUNK):
            rows = session.execute(
                sa.select(DataSubject.public_id, PersonalDataRecord)
                .join(DataSubject, DataSubject.id == PersonalDataRecord.subject_id)
                .where(DataSubject.public_id.in_(refs[start : start + _CHUNK]))
                .order_by(PersonalDataRecord.id)
            )
            for ref, r in rows:
                facts[ref].append(
                    RecordView(
                        id=r.id,
                        channel=r.channel,
                        data_categories=list(r.data_categories),
                        purposes=list(r.purposes),
                        legal_basis=r.legal_basis,
                        policy_version=r.policy_version,
                        collected_at=r.collected_at,
                        source_system=r.source_system,
                        last_service_delivery_at=r.last_service_delivery_at,
                    )
                )
        return facts

    def update_record(
        self, session: Session, subject_ref: str, record_id: int, changes: Mapping[str, Any]
    ) -> None:
        current = self.registry.get_record(record_id, session=session)
        if current.subject_public_id != subject_ref:
            return  # never touch another person's record
        payload = dict(current.payload or {})
        payload.update(changes)
        self.registry.update_record(record_id, payload=payload, session=session)

    def restrict(self, session: Session, subject_ref: str, ground: str, note: str | None) -> int:
        return self.registry.restrict(
            self._subject(session, subject_ref), ground, note=note, session=session
        )

    def lift_restriction(self, session: Session, subject_ref: str, restriction_id: int) -> None:
        self.registry.lift_restriction(restriction_id, session=session)

    def active_holds(self, session: Session, subject_ref: str) -> list[HoldView]:
        return self.active_holds_many(session, [subject_ref])[subject_ref]

    def active_holds_many(
        self, session: Session, subject_refs: Sequence[str]
    ) -> dict[str, list[HoldView]]:
        now = utcnow()
        holds: dict[str, list[HoldView]] = {ref: [] for ref in subject_refs}
        refs = list(holds)
        for start in range(0, len(refs), _CHUNK):
            rows = session.execute(
                sa.select(DataSubject.public_id, LegalHold.id, LegalHold.reason)
                .join(DataSubject, DataSubject.id == LegalHold.subject_id)
                .where(
                    DataSubject.public_id.in_(refs[start : start + _CHUNK]),
                    LegalHold.lifted_at.is_(None),
                    sa.or_(LegalHold.until.is_(None), LegalHold.until > now),
                )
                .order_by(LegalHold.id)
            )
            for ref, hold_id, reason in rows:
                holds[ref].append(HoldView(hold_id, reason))
        return holds

    def suppress_email(self, session: Session, email: str, reason: str) -> None:
        self.registry.suppress(email, reason=reason, session=session)

    def delete_records(self, session: Session, subject_ref: str, record_ids: Sequence[int]) -> int:
        # only this subject's records, whatever ids the caller passes
        owned = list(
            session.scalars(
                sa.select(PersonalDataRecord.id)
                .join(DataSubject, DataSubject.id == PersonalDataRecord.subject_id)
                .where(DataSubject.public_id == subject_ref, PersonalDataRecord.id.in_(record_ids))
            )
        )
        return self.registry.delete_records(owned, session=session)

    def keep_records(
        self,
        session: Session,
        subject_ref: str,
        keeps: Mapping[int, tuple[datetime, str]],
        note: str | None,
    ) -> int | None:
        subject = self._subject(session, subject_ref)
        return self.registry.keep_records(subject, keeps, note=note, session=session)

    def shred_subjects(self, session: Session, subject_refs: Sequence[str]) -> int:
        subjects = self.registry.get_subjects(subject_refs, session=session)
        return self.registry.shred_subjects(subjects, session=session)
