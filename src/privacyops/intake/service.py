"""The intake service: one entry point for every channel, the spam quarantine and the age gate.

A submission goes through, in order: the manifest check (:func:`validate_submission`: declared
categories only, valid values, the age gate), the spam gate (:mod:`privacyops.intake.spam`),
and then, in one transaction, the registry (subject found or created by its identities, the
record sealed with the subject's key) and the audit log (``record.collect``, and
``consent.change`` when marketing consent was given). A submission the spam gate matches is
sealed into the quarantine instead and waits for a person (policy §8).

Example::

    service = IntakeService(db, Registry(db), AuditLog(db), default_policy_book())
    result = service.submit("web_form", {"name": "Ann", "email": "ann@example.com"})
    result.subject_ref      # the data subject's pseudonymous id
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from privacyops.audit import AuditLog, NewEvent
from privacyops.audit import actions as audit_actions
from privacyops.errors import (
    InvalidTransition,
    NotFound,
    PrivacyOpsError,
    UndeclaredData,
)
from privacyops.intake.group import GroupCommit
from privacyops.intake.importer import (
    ImportSummary,
    Refusal,
    Row,
    guess_format,
    header_of,
    read_rows,
)
from privacyops.intake.models import QuarantineItem
from privacyops.intake.spam import SpamFilter, add_block, load_filter
from privacyops.intake.submission import (
    CONTROL_FIELDS,
    CheckedSubmission,
    validate_submission,
)
from privacyops.policy.schema import PolicyBook
from privacyops.settings import Settings, get_settings
from privacyops.store import Database, new_key, open_sealed, seal, utcnow
from privacyops.store.registry import IdentityIn, RecordIn, Registry, Subject, Submission

__all__ = ["IntakeResult", "IntakeService"]

# Fields of a payload that the quarantine does not keep: the age gate has already used them.
_NOT_KEPT = frozenset({"age", "birth_date"})


@dataclass(frozen=True)
class IntakeResult:
    """What became of one accepted submission.

    ``status`` is ``"stored"`` (a record exists: ``subject_ref``, ``record_id``) or
    ``"quarantined"`` (held for review: ``quarantine_id``).
    """

    status: Literal["stored", "quarantined"]
    channel: str
    policy_version: str
    categories: list[str]
    purposes: list[str]
    legal_basis: str
    subject_ref: str | None = None
    record_id: int | None = None
    quarantine_id: str | None = None
    marketing_consent: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "channel": self.channel,
            "policy_version": self.policy_version,
            "categories": self.categories,
            "purposes": self.purposes,
            "legal_basis": self.legal_basis,
            "subject_ref": self.subject_ref,
            "record_id": self.record_id,
            "quarantine_id": self.quarantine_id,
            "marketing_consent": self.marketing_consent,
        }


@dataclass
class _Item:
    """A checked submission on its way to the database."""

    checked: CheckedSubmission
    payload: dict[str, Any]
    client_ip: str | None = None
    staff: bool = True
    line: int | None = None
    reasons: list[str] = field(default_factory=list)


def _texts(checked: CheckedSubmission) -> list[str]:
    out: list[str] = []
    for value in checked.data.values():
        if isinstance(value, str):
            out.append(value)
        elif isinstance(value, list):
            out.extend(v for v in value if isinstance(v, str))
    return out


def _error_text(exc: PrivacyOpsError) -> str:
    parts = [exc.message]
    for item in exc.details:
        loc = ".".join(str(p) for p in item.get("loc", []))
        parts.append(f"{loc}: {item.get('msg', '')}")
    return "; ".join(parts)


class IntakeService:
    """Intake for every channel of the policy.

    Args:
        db: the database.
        registry: the personal-data registry of ``db``.
        audit: the audit log of ``db``.
        policy: the policy book; each submission is checked against the version in force.
        settings: caps and options (default: the process settings).
    """

    def __init__(
        self,
        db: Database,
        registry: Registry,
        audit: AuditLog,
        policy: PolicyBook,
        *,
        settings: Settings | None = None,
    ) -> None:
        self.db = db
        self.registry = registry
        self.audit = audit
        self.policy = policy
        self.settings = settings or get_settings()

    def __repr__(self) -> str:
        return f"IntakeService({self.db!r}, policy={self.policy.current.version.id!r})"

    # --- checking ----------------------------------------------------------------------

    def check(
        self,
        channel: str,
        payload: Any,
        *,
        staff: bool = True,
        now: dt.datetime | None = None,
    ) -> CheckedSubmission:
        """Check a payload without storing anything (see :func:`validate_submission`)."""
        return validate_submission(
            self.policy,
            channel,
            payload,
            staff=staff,
            now=now,
            max_bytes=self.settings.intake_max_payload_bytes,
            phone_region=self.settings.intake_phone_region,
        )

    # --- submitting --------------------------------------------------------------------

    def submit(
        self,
        channel: str,
        payload: Any,
        *,
        actor: str = "system",
        staff: bool = True,
        client_ip: str | None = None,
        now: dt.datetime | None = None,
        group: GroupCommit[Any, IntakeResult] | None = None,
    ) -> IntakeResult:
        """Check and store one submission in one transaction.

        Args:
            channel: a channel id of the manifest (``web_form``, ``chatbot``, ``contact``,
                ``customer``, ``event``…).
            payload: the submission, a JSON object (see :mod:`privacyops.intake.submission`).
            actor: who hands it in, for the audit log (``"web:web_form"``, ``"staff:ann"``).
            staff: False for public channels: they may not set timestamps or the source.
            client_ip: the sender's address, matched against blocked IP ranges.
            now: the time of receipt (default now).
            group: write it in the transaction of other submissions that wait meanwhile
                (:mod:`privacyops.intake.group`); still answered only once committed.

        Raises:
            NotFound: unknown channel. UndeclaredData: a field the channel does not declare.
            AgeGateRefused: an age under the policy's limit (nothing is stored).
            PayloadTooLarge, InvalidInput: malformed submissions.
        """
        checked = self.check(channel, payload, staff=staff, now=now)
        item = _Item(checked, dict(payload), client_ip=client_ip, staff=staff)
        if group is not None:  # one transaction with the submissions waiting meanwhile
            return group.submit(actor, item, lambda items: self._write(items, actor=actor))
        return self._write([item], actor=actor)[0]

    def submit_many(
        self,
        channel: str,
        payloads: Sequence[Any],
        *,
        actor: str = "system",
        staff: bool = True,
        now: dt.datetime | None = None,
    ) -> list[IntakeResult | PrivacyOpsError]:
        """Check many submissions and store the valid ones in one transaction (the fast path).

        Returns, per payload in order, its :class:`IntakeResult` or the error that refused it.
        """
        out: list[IntakeResult | PrivacyOpsError | None] = []
        items: list[_Item] = []
        slots: list[int] = []
        for payload in payloads:
            try:
                checked = self.check(channel, payload, staff=staff, now=now)
            except PrivacyOpsError as exc:
                out.append(exc)
                continue
            slots.append(len(out))
            out.append(None)
            items.append(_Item(checked, dict(payload), staff=staff))
        for slot, result in zip(slots, self._write(items, actor=actor), strict=True):
            out[slot] = result
        return [r for r in out if r is not None]

    def _write(self, items: Sequence[_Item], *, actor: str) -> list[IntakeResult]:
        if not items:
            return []
        with self.db.session() as session:
            spam = load_filter(session, self.db.keyring)
            return self._write_in(session, spam, items, actor=actor)

    def _write_in(
        self, session: Session, spam: SpamFilter, items: Sequence[_Item], *, actor: str
    ) -> list[IntakeResult]:
        for item in items:
            item.reasons = spam.match(item.checked.identities, _texts(item.checked), item.client_ip)
        clean = [i for i in items if not i.reasons]
        stored = self.registry.ingest_many(
            [self._registry_submission(i.checked) for i in clean], session=session
        )
        events: list[NewEvent] = []
        by_item: dict[int, IntakeResult] = {}
        for item, (subject, record_id) in zip(clean, stored, strict=True):
            events.extend(self._collect_events(item.checked, subject.public_id, record_id, actor))
            events.extend(_review_events(subject, actor))
            by_item[id(item)] = self._result(item.checked, subject.public_id, record_id)
        for item in items:
            if item.reasons:
                qid = self._quarantine(session, item)
                events.append(
                    NewEvent(
                        "intake.quarantine",
                        actor=actor,
                        reason="spam gate (policy §8): held for manual review",
                        details={
                            "quarantine_id": qid,
                            "channel": item.checked.channel,
                            "matched": item.reasons,
                        },
                    )
                )
                by_item[id(item)] = IntakeResult(
                    "quarantined",
                    item.checked.channel,
                    item.checked.policy_version,
                    item.checked.categories,
                    item.checked.purposes,
                    item.checked.legal_basis,
                    quarantine_id=qid,
                    marketing_consent=item.checked.marketing_consent,
                )
        self.audit.append_many(events, session=session)
        return [by_item[id(i)] for i in items]

    @staticmethod
    def _registry_submission(checked: CheckedSubmission) -> Submission:
        return Submission(
            identities=[
                IdentityIn(kind, value, checked.identity_roles.get(kind))
                for kind, value in checked.identities
            ],
            record=RecordIn(
                channel=checked.channel,
                legal_basis=checked.legal_basis,
                policy_version=checked.policy_version,
                data_categories=checked.categories,
                purposes=checked.purposes,
                payload=checked.stored_payload(),
                collected_at=checked.collected_at,
                last_contact_at=checked.last_contact_at,
                last_event_registration_at=checked.last_event_registration_at,
                last_service_delivery_at=checked.last_service_delivery_at,
                source_system=checked.source_system,
            ),
        )

    @staticmethod
    def _collect_events(
        checked: CheckedSubmission, subject_ref: str, record_id: int, actor: str
    ) -> list[NewEvent]:
        events = [
            NewEvent(
                "record.collect",
                actor=actor,
                subject_ref=subject_ref,
                reason=f"channel {checked.channel}, policy {checked.policy_version}, "
                f"basis {checked.legal_basis}",
                details={
                    "record_id": record_id,
                    "channel": checked.channel,
                    "categories": checked.categories,
                    "purposes": checked.purposes,
                    "legal_basis": checked.legal_basis,
                    "policy_version": checked.policy_version,
                },
            )
        ]
        if checked.marketing_consent:
            events.append(
                NewEvent(
                    "consent.change",
                    actor=actor,
                    subject_ref=subject_ref,
                    reason="marketing consent given with the submission (GDPR Art. 6(1)(a), 7)",
                    details={
                        "given": True,
                        "purposes": checked.marketing_purposes,
                        "channel": checked.channel,
                        "record_id": record_id,
                        "policy_version": checked.policy_version,
                    },
                )
            )
        return events

    @staticmethod
    def _result(checked: CheckedSubmission, subject_ref: str, record_id: int) -> IntakeResult:
        return IntakeResult(
            "stored",
            checked.channel,
            checked.policy_version,
            checked.categories,
            checked.purposes,
            checked.legal_basis,
            subject_ref=subject_ref,
            record_id=record_id,
            marketing_consent=checked.marketing_consent,
        )

    # --- the quarantine ------------------------------------------------------------------

    def _quarantine(self, session: Session, item: _Item) -> str:
        public_id = secrets.token_hex(16)
        key = new_key()
        kept = {k: v for k, v in item.payload.items() if k not in _NOT_KEPT}
        sealed = seal(
            key,
            json.dumps(
                {
                    "payload": kept,
                    "client_ip": item.client_ip,
                    "staff": item.staff,
                    "received_at": item.checked.collected_at.isoformat(),
                },
                default=str,
            ).encode(),
            b"quarantine:" + public_id.encode(),
        )
        session.add(
            QuarantineItem(
                public_id=public_id,
                channel=item.checked.channel,
                policy_version=item.checked.policy_version,
                reasons=item.reasons,
                status="pending",
                received_at=utcnow(),
                key_wrapped=self.db.keyring.wrap(f"quarantine:{public_id}", key),
                payload_sealed=sealed,
            )
        )
        return public_id

    def _open(self, item: QuarantineItem) -> dict[str, Any]:
        if item.key_wrapped is None or item.payload_sealed is None:
            raise InvalidTransition(f"Quarantined submission {item.public_id} was decided.")
        key = self.db.keyring.unwrap(f"quarantine:{item.public_id}", item.key_wrapped)
        data: dict[str, Any] = json.loads(
            open_sealed(key, item.payload_sealed, b"quarantine:" + item.public_id.encode())
        )
        return data

    def _pending(self, session: Session, quarantine_id: str) -> QuarantineItem:
        query = sa.select(QuarantineItem).where(QuarantineItem.public_id == quarantine_id)
        if self.db.dialect == "postgresql":
            query = query.with_for_update()
        item = session.scalar(query)
        if item is None:
            raise NotFound(f"No quarantined submission {quarantine_id[:40]}.")
        if item.status != "pending":
            raise InvalidTransition(
                f"Quarantined submission {item.public_id} was already {item.status}."
            )
        return item

    def quarantined(self, status: str | None = "pending", limit: int = 200) -> list[dict[str, Any]]:
        """Quarantined submissions (newest first), without their content."""
        query = sa.select(QuarantineItem).order_by(QuarantineItem.id.desc()).limit(limit)
        if status is not None:
            query = query.where(QuarantineItem.status == status)
        with self.db.session() as session:
            return [
                {
                    "id": q.public_id,
                    "channel": q.channel,
                    "policy_version": q.policy_version,
                    "status": q.status,
                    "matched": list(q.reasons),
                    "received_at": q.received_at.isoformat(),
                    "decided_at": q.decided_at.isoformat() if q.decided_at else None,
                    "decided_by": q.decided_by,
                    "subject_ref": q.subject_ref,
                }
                for q in session.scalars(query)
            ]

    def show_quarantined(self, quarantine_id: str, *, actor: str) -> dict[str, Any]:
        """A pending submission's content, for the reviewer (the reading is audited).

        Raises:
            NotFound: no such item. InvalidTransition: it was already decided (its content is
            gone).
        """
        with self.db.session() as session:
            item = self._pending(session, quarantine_id)
            content = self._open(item)
            self.audit.append(
                "intake.quarantine.read",
                actor=actor,
                reason="manual spam review (policy §8)",
                details={"quarantine_id": item.public_id},
                session=session,
            )
        return {
            "id": item.public_id,
            "channel": item.channel,
            "matched": list(item.reasons),
            "payload": content["payload"],
            "client_ip": content.get("client_ip"),
            "received_at": content.get("received_at"),
        }

    def release(self, quarantine_id: str, *, actor: str, note: str | None = None) -> IntakeResult:
        """Judge a quarantined submission legitimate: store it as a normal submission.

        It is checked again against the policy as it was received; the spam gate is skipped.

        Raises:
            NotFound, InvalidTransition: no such pending item. InvalidInput and its subclasses:
            the content no longer passes the policy check (reject it instead).
        """
        with self.db.session() as session:
            item = self._pending(session, quarantine_id)
            content = self._open(item)
            received = dt.datetime.fromisoformat(content["received_at"])
            checked = self.check(
                item.channel, content["payload"], staff=bool(content["staff"]), now=received
            )
            [(subject, record_id)] = self.registry.ingest_many(
                [self._registry_submission(checked)], session=session
            )
            self._decide(item, "released", actor, note)
            item.subject_ref = subject.public_id
            events = [
                NewEvent(
                    "intake.release",
                    actor=actor,
                    subject_ref=subject.public_id,
                    reason="manual spam review (policy §8): legitimate",
                    details={"quarantine_id": item.public_id, "record_id": record_id},
                ),
                *self._collect_events(checked, subject.public_id, record_id, actor),
                *_review_events(subject, actor),
            ]
            self.audit.append_many(events, session=session)
        return self._result(checked, subject.public_id, record_id)

    def reject(
        self,
        quarantine_id: str,
        *,
        actor: str,
        note: str | None = None,
        block_sender: bool = False,
    ) -> list[int]:
        """Judge a quarantined submission spam: discard its content (payload and key deleted).

        Args:
            block_sender: also add the sender's e-mail address and accounts (Skype, LinkedIn,
                phone) to the blocklist, in the same transaction.

        Returns:
            The ids of blocklist entries added.
        """
        with self.db.session() as session:
            item = self._pending(session, quarantine_id)
            blocks: list[int] = []
            if block_sender:
                content = self._open(item)
                received = dt.datetime.fromisoformat(content["received_at"])
                checked = self.check(item.channel, content["payload"], staff=True, now=received)
                for kind, value in checked.identities:
                    if kind == "name_company":
                        continue
                    block_kind = "email" if kind == "email" else "account"
                    block = add_block(
                        session,
                        self.audit,
                        self.db.keyring,
                        block_kind,
                        value,
                        actor=actor,
                        note=f"rejected quarantined submission {item.public_id}",
                    )
                    blocks.append(block.id)
            self._decide(item, "rejected", actor, note)
            self.audit.append(
                "intake.reject",
                actor=actor,
                reason="manual spam review (policy §8): spam; content discarded",
                details={"quarantine_id": item.public_id, "blocked": blocks},
                session=session,
            )
        return blocks

    @staticmethod
    def _decide(item: QuarantineItem, status: str, actor: str, note: str | None) -> None:
        item.status = status
        item.key_wrapped = None
        item.payload_sealed = None
        item.decided_at = utcnow()
        item.decided_by = actor
        item.decision_note = note.strip()[:300] if note and note.strip() else None

    # --- the age gate, after the fact ---------------------------------------------------

    def mark_under_age(self, subject_ref: str, *, actor: str, note: str | None = None) -> bool:
        """A data subject turned out to be under the policy's age limit: erase their data.

        Policy §12: "If we become aware that an individual under 16 has provided us with
        personal information, we will take measures to delete such information" (GDPR Art. 8,
        17(1)(f)). The finding is audited first, in its own transaction, so the need to erase
        stays on record even when a legal hold stops the erasure; then the subject is
        crypto-shredded through the registry (key destroyed, identities and records deleted).

        Returns:
            True when the subject was erased now, False when it had been erased already.

        Raises:
            NotFound: no such subject. ProcessingRestricted: a legal hold keeps the data (the
            finding is still recorded).
        """
        subject = self.registry.get_subject(subject_ref)
        limit = self.policy.current.age_limit
        self.audit.append(
            "subject.under_age",
            actor=actor,
            subject_ref=subject.public_id,
            reason=f"found to be under {limit} (policy §12, GDPR Art. 8); erasure started",
            details={"note": note.strip()[:300]} if note and note.strip() else {},
        )
        with self.db.session() as session:
            erased = self.registry.shred_subject(subject, session=session)
            self.audit.append(
                "subject.erase",
                actor=actor,
                subject_ref=subject.public_id,
                reason=f"under the age limit of {limit} (policy §12, GDPR Art. 17(1)(f))",
                details={"crypto_shredded": erased},
                session=session,
            )
        return erased

    # --- bulk import ---------------------------------------------------------------------

    def import_rows(
        self,
        channel: str,
        rows: Iterable[Row],
        *,
        actor: str = "import",
        source_system: str | None = None,
        batch_size: int | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> ImportSummary:
        """Import rows with their original timestamps, one transaction per batch.

        Refused rows (malformed, undeclared fields, invalid values, under age) are listed in
        the summary with their line and reason; they do not stop the import. When a batch
        cannot be written, the import stops there and the summary says which lines landed.
        """
        size = batch_size or self.settings.intake_batch_size
        summary = ImportSummary(channel=channel)
        batch: list[_Item] = []
        now = dt.datetime.now(dt.UTC)

        def flush() -> bool:
            if not batch:
                return True
            try:
                results = self._write(batch, actor=actor)
            except Exception as exc:  # the batch rolled back as a whole; say where we stopped
                summary.failed_at = batch[0].line
                summary.error = (
                    _error_text(exc) if isinstance(exc, PrivacyOpsError) else type(exc).__name__
                )
                return False
            for item, result in zip(batch, results, strict=True):
                target = (
                    summary.stored_lines if result.status == "stored" else summary.quarantined_lines
                )
                target.append(item.line or 0)
            if progress is not None:
                progress(summary.rows)
            batch.clear()
            return True

        for row in rows:
            summary.rows += 1
            if row.payload is None:
                summary.refused.append(Refusal(row.line, "malformed_row", row.error or "malformed"))
                continue
            payload = row.payload
            if source_system and not payload.get("source_system"):
                payload = {**payload, "source_system": source_system}
            try:
                checked = self.check(channel, payload, staff=True, now=now)
            except PrivacyOpsError as exc:
                summary.refused.append(Refusal(row.line, exc.code, _error_text(exc)))
                continue
            batch.append(_Item(checked, payload, staff=True, line=row.line))
            if len(batch) >= size and not flush():
                return summary
        flush()
        return summary

    def import_file(
        self,
        path: Path,
        channel: str,
        *,
        fmt: str | None = None,
        actor: str = "import",
        batch_size: int | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> ImportSummary:
        """Import a CSV or JSON Lines file (see :meth:`import_rows`).

        A CSV header naming a column the channel does not declare refuses the whole file
        before anything is written.

        Raises:
            InvalidInput: unknown format, unreadable file or header. NotFound: unknown channel.
            UndeclaredData: a CSV column the channel does not declare.
        """
        fmt = guess_format(path, fmt)
        manifest = self.policy.current
        try:
            declared = set(manifest.channel(channel).categories)
        except KeyError:
            raise NotFound(f"No channel '{channel[:64]}' in the policy.") from None
        header = header_of(path, fmt)
        if header is not None:
            extra = [h for h in header if h not in declared and h not in CONTROL_FIELDS]
            if extra:
                raise UndeclaredData(
                    "Column "
                    + ", ".join(f"'{h[:64]}'" for h in extra)
                    + f" is not declared for channel '{channel}'; nothing was imported "
                    "(data minimisation, GDPR Art. 5(1)(c)).",
                    details=[
                        {"loc": [h[:64]], "msg": "not declared for this channel"} for h in extra
                    ],
                )
        return self.import_rows(
            channel,
            read_rows(path, fmt),
            actor=actor,
            source_system=f"import:{path.name}"[:128],
            batch_size=batch_size,
            progress=progress,
        )


def _review_events(subject: Subject, actor: str) -> list[NewEvent]:
    """The audit event of an identity conflict: the submission's identifying identities pointed
    at more than one data subject, so it waits for staff on a subject of its own."""
    if subject.review_id is None:
        return []
    return [
        NewEvent(
            audit_actions.IDENTITY_REVIEW,
            actor=actor,
            subject_ref=subject.public_id,
            reason="identifying identities point at more than one data subject: "
            "not merged, held for staff review (GDPR Art. 5(1)(d))",
            details={"review_id": subject.review_id},
        )
    ]
