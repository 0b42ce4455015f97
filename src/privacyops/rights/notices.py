"""Recipient notifications (GDPR Art. 19).

After a rectification, erasure or restriction, every recipient and processor that holds the
person's data is told, unless that proves impossible or involves disproportionate effort. A
notice goes by e-mail (SMTP) or by a webhook signed with HMAC-SHA256, carries an
acknowledgement link, and is tracked in ``recipient_notices`` until acknowledged; unanswered
notices are sent again every ``notice_reminder_days``. ``notices_for_request`` lists who was
notified, which the person may ask to be told (Art. 19, last sentence).

Webhook signature: header ``X-PrivacyOps-Signature: t=<unix time>,v1=<hex>`` where ``<hex>``
is HMAC-SHA256 over ``"<t>.<raw body>"`` with ``PRIVACYOPS_NOTICE_WEBHOOK_SECRET``; a receiver
recomputes it and refuses old ``t`` values. An answer ``{"acknowledged": true}`` acknowledges at
once; otherwise the receiver may POST the ``ack_url`` later.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import httpx
import sqlalchemy as sa
from sqlalchemy.orm import Session

from privacyops.audit import AuditLog
from privacyops.connectors.base import Identities, normalise_identities
from privacyops.errors import ConfigurationError, DependencyUnavailable, InvalidInput, NotFound
from privacyops.mail import send_mail
from privacyops.policy.schema import Manifest
from privacyops.rights.models import RecipientNotice
from privacyops.settings import Settings
from privacyops.store import Database, utcnow

__all__ = [
    "NoticeStatus",
    "NoticeTarget",
    "acknowledge_notice",
    "contacts_from_connectors",
    "holders_from_channels",
    "notices_for_request",
    "notify_recipients",
    "record_notices",
    "remind_notices",
    "sign_webhook",
    "targets_from_manifest",
]

NoticeAction = Literal["rectification", "erasure", "restriction"]
ACK_PATH = "/api/v1/notices/ack/"


@dataclass(frozen=True)
class NoticeTarget:
    """Who to notify and how (e-mail, webhook, or both: the webhook wins)."""

    id: str
    name: str
    email: str | None = None
    webhook: str | None = None


@dataclass(frozen=True)
class NoticeStatus:
    """What the DPO and the person may see of one notice."""

    id: int
    recipient_id: str
    recipient: str
    channel: str
    action: str
    status: str
    sent_at: datetime | None
    acknowledged_at: datetime | None
    reminders: int

    @classmethod
    def of(cls, row: RecipientNotice) -> NoticeStatus:
        return cls(
            row.id,
            row.recipient_id,
            row.recipient_name,
            row.channel,
            row.action,
            row.status,
            row.sent_at,
            row.acknowledged_at,
            row.reminders,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "recipient_id": self.recipient_id,
            "recipient": self.recipient,
            "channel": self.channel,
            "action": self.action,
            "status": self.status,
            "sent_at": self.sent_at.isoformat() if self.sent_at else None,
            "acknowledged_at": self.acknowledged_at.isoformat() if self.acknowledged_at else None,
        }


def targets_from_manifest(
    manifest: Manifest, holder_ids: Iterable[str], contacts: Mapping[str, str] | None = None
) -> tuple[list[NoticeTarget], list[str]]:
    """Notice targets for the recipients/processors (manifest ids) holding the person's data.

    A recipient gives its ``notify_webhook``/``notify_email``; a processor gives the address in
    ``contacts`` (e.g. the ``to`` of its e-mail connector file). Returns the targets and the
    ids that have no way to be reached (the DPO must handle those by hand).
    """
    contacts = contacts or {}
    recipients = {r.id: r for r in manifest.recipients}
    processors = {p.id: p for p in manifest.processors}
    targets: list[NoticeTarget] = []
    unreachable: list[str] = []
    for hid in dict.fromkeys(holder_ids):
        if hid in recipients:
            r = recipients[hid]
            email = r.notify_email or contacts.get(hid)
            webhook = str(r.notify_webhook) if r.notify_webhook else None
            name = r.name
        elif hid in processors:
            email, webhook, name = contacts.get(hid), None, processors[hid].name
        else:
            raise InvalidInput(f"{hid} is neither a recipient nor a processor of the policy.")
        if email or webhook:
            targets.append(NoticeTarget(hid, name, email=email, webhook=webhook))
        else:
            unreachable.append(hid)
    return targets, unreachable


def holders_from_channels(manifest: Manifest, channel_ids: Iterable[str]) -> list[str]:
    """The processors and recipients the policy says receive data from these channels (the
    channels the person's records came from), in policy order, without duplicates."""
    wanted = set(channel_ids)
    out: list[str] = []
    for channel in manifest.channels:
        if channel.id in wanted:
            out.extend(channel.processors)
            out.extend(channel.recipients)
    return list(dict.fromkeys(out))


def contacts_from_connectors(connectors: Iterable[object]) -> dict[str, str]:
    """Processor id → privacy address, from the ``email`` connector files that name both."""
    out: dict[str, str] = {}
    for connector in connectors:
        spec = getattr(connector, "spec", None)
        processor, to = getattr(spec, "processor", None), getattr(spec, "to", None)
        if processor and to:
            out[str(processor)] = str(to)
    return out


def sign_webhook(secret: bytes, body: bytes, timestamp: int | None = None) -> str:
    """The ``X-PrivacyOps-Signature`` header value for ``body``."""
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret, f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


_WHAT = {
    "rectification": "rectified",
    "erasure": "erased",
    "restriction": "restricted (GDPR Art. 18: store only, no other processing)",
}


class _Sender:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        transport: httpx.BaseTransport | None,
        changes: Mapping[str, str] | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.transport = transport
        #: a rectification's corrected values: the recipient needs them to do the same
        self.changes = dict(changes or {})

    def ack_url(self, row: RecipientNotice) -> str:
        return self.settings.base_url.rstrip("/") + ACK_PATH + row.ack_token

    def deliver(self, row: RecipientNotice, ids: dict[str, list[str]], *, reminder: bool) -> None:
        """Send once; update ``row`` (status, attempts, last_error)."""
        row.attempts += 1
        try:
            acknowledged = (
                self._webhook(row, ids, reminder)
                if row.channel == "webhook"
                else self._email(row, ids, reminder)
            )
        except DependencyUnavailable as exc:
            row.last_error = exc.message[:200]
            return
        now = utcnow()
        row.last_error = None
        if reminder:
            row.reminders += 1
            row.last_reminder_at = now
        if row.sent_at is None:
            row.sent_at = now
        row.status = "acknowledged" if acknowledged else "sent"
        if acknowledged:
            row.acknowledged_at = now

    def _email(self, row: RecipientNotice, ids: dict[str, list[str]], reminder: bool) -> bool:
        lines = [
            "Hello,",
            "",
            ("Reminder: " if reminder else "")
            + f"following a data-subject request (reference {row.request_ref}), the personal "
            f"data of the person identified below was {_WHAT[row.action]} by us. As a "
            "recipient of that data, please do the same with your copy (GDPR Art. 19).",
            "",
        ]
        lines += (
            [f"  {k}: {v}" for k, vs in sorted(ids.items()) for v in vs]
            if ids
            else ["  (identities as given in our first notice)"]
        )
        if self.changes and row.action == "rectification":
            lines += ["", "The corrected values:"]
            lines += [f"  {field}: {value}" for field, value in sorted(self.changes.items())]
        lines += [
            "",
            "Please confirm by opening this link:",
            f"  {self.ack_url(row)}",
            "",
            self.settings.mail_from,
        ]
        subject = f"[{row.request_ref}] Notice of {row.action} (GDPR Art. 19)"
        send_mail(
            self.settings,
            row.target,
            ("Reminder: " if reminder else "") + subject,
            "\n".join(lines),
        )
        return False

    def _webhook(self, row: RecipientNotice, ids: dict[str, list[str]], reminder: bool) -> bool:
        secret = self.settings.notice_webhook_secret
        if secret is None:
            raise ConfigurationError("PRIVACYOPS_NOTICE_WEBHOOK_SECRET is needed to sign webhooks.")
        payload = {
            "type": "privacyops.recipient_notice",
            "notice_id": row.id,
            "request": row.request_ref,
            "action": row.action,
            "identities": ids,
            **({"changes": self.changes} if self.changes and row.action == "rectification" else {}),
            "reminder": reminder,
            "ack_url": self.ack_url(row),
            "sent_at": utcnow().isoformat(),
        }
        body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
        headers = {
            "Content-Type": "application/json",
            "X-PrivacyOps-Signature": sign_webhook(secret.get_secret_value().encode(), body),
        }
        last = "no answer"
        for attempt in range(self.settings.connector_retries + 1):
            try:
                with httpx.Client(
                    timeout=self.settings.connector_timeout_seconds, transport=self.transport
                ) as client:
                    response = client.post(row.target, content=body, headers=headers)
                if 200 <= response.status_code < 300:
                    try:
                        answer = response.json()
                    except ValueError:
                        return False
                    return isinstance(answer, dict) and answer.get("acknowledged") is True
                last = f"webhook answered {response.status_code}"
                if response.status_code < 500 and response.status_code != 429:
                    break
            except httpx.TransportError:
                last = "webhook did not answer"
            time.sleep(min(0.2 * 2**attempt, 5.0))
        raise DependencyUnavailable(last)


def _notice_row(
    session: Session,
    action: NoticeAction,
    request_ref: str,
    target: NoticeTarget,
    subject_ref: str | None,
) -> RecipientNotice:
    """The notice of (request, recipient, action), created ``pending`` when new."""
    row = session.scalar(
        sa.select(RecipientNotice).where(
            RecipientNotice.request_ref == request_ref,
            RecipientNotice.recipient_id == target.id,
            RecipientNotice.action == action,
        )
    )
    if row is None:
        row = RecipientNotice(
            request_ref=request_ref,
            subject_ref=subject_ref,
            action=action,
            recipient_id=target.id,
            recipient_name=target.name,
            channel="webhook" if target.webhook else "email",
            target=target.webhook or target.email or "",
            ack_token=secrets.token_urlsafe(32),
            status="pending",
            attempts=0,
            reminders=0,
        )
        session.add(row)
        session.flush()
    return row


def record_notices(
    session: Session,
    *,
    action: NoticeAction,
    request_ref: str,
    targets: Iterable[NoticeTarget],
    subject_ref: str | None = None,
) -> list[NoticeStatus]:
    """Record (once) the notices of a request as ``pending`` in the caller's transaction,
    without sending: the rights engine records them with the step that decides them and
    sends them with :func:`notify_recipients` after the commit (a crash in between leaves
    them pending, and :func:`remind_notices` sends them)."""
    if action not in _WHAT:
        raise InvalidInput(
            f"Art. 19 notices follow rectification, erasure or restriction, not {action}."
        )
    return [
        NoticeStatus.of(_notice_row(session, action, request_ref, t, subject_ref)) for t in targets
    ]


def notify_recipients(
    db: Database,
    settings: Settings,
    *,
    action: NoticeAction,
    request_ref: str,
    identities: Identities,
    targets: Iterable[NoticeTarget],
    subject_ref: str | None = None,
    transport: httpx.BaseTransport | None = None,
    changes: Mapping[str, str] | None = None,
) -> list[NoticeStatus]:
    """Send one notice per target (once per request, recipient and action: calling again only
    retries those not yet delivered). Returns the state of each. ``changes``: a
    rectification's corrected values, told to each recipient so it can correct its copy."""
    if action not in _WHAT:
        raise InvalidInput(
            f"Art. 19 notices follow rectification, erasure or restriction, not {action}."
        )
    ids = normalise_identities(identities)
    sender = _Sender(db, settings, transport, changes)
    out: list[NoticeStatus] = []
    log = AuditLog(db)
    for target in targets:
        with db.session() as session:
            row = _notice_row(session, action, request_ref, target, subject_ref)
            if row.status == "pending":
                sender.deliver(row, ids, reminder=False)
                log.append(
                    "notice.sent" if row.status != "pending" else "notice.failed",
                    actor="connectors:notices",
                    subject_ref=row.subject_ref,
                    details={
                        "notice": row.id,
                        "recipient": row.recipient_id,
                        "action": action,
                        "channel": row.channel,
                        "request": request_ref,
                    },
                    session=session,
                )
            session.flush()
            out.append(NoticeStatus.of(row))
    return out


def acknowledge_notice(db: Database, token: str) -> NoticeStatus:
    """Record a recipient's acknowledgement (its link or a webhook callback).

    Raises:
        NotFound: the token matches no notice.
    """
    if not token or len(token) > 64:
        raise NotFound("No such notice.")
    with db.session() as session:
        row = session.scalar(sa.select(RecipientNotice).where(RecipientNotice.ack_token == token))
        if row is None:
            raise NotFound("No such notice.")
        if row.status != "acknowledged":
            row.status = "acknowledged"
            row.acknowledged_at = utcnow()
            AuditLog(db).append(
                "notice.acknowledged",
                actor=f"recipient:{row.recipient_id}",
                subject_ref=row.subject_ref,
                details={"notice": row.id, "request": row.request_ref},
                session=session,
            )
        session.flush()
        return NoticeStatus.of(row)


def remind_notices(
    db: Database,
    settings: Settings,
    *,
    now: datetime | None = None,
    identities_for: Callable[[str], Identities] | None = None,
    transport: httpx.BaseTransport | None = None,
) -> int:
    """Send again every notice not acknowledged ``notice_reminder_days`` after it (or its last
    reminder) went, and retry undelivered ones. ``identities_for(request_ref)`` may supply the
    identities again; without it the reminder quotes only the reference. Returns how many
    went."""
    now = now or utcnow()
    due = now - timedelta(days=settings.notice_reminder_days)
    sender = _Sender(db, settings, transport)
    sent = 0
    with db.session() as session:
        rows = list(
            session.scalars(
                sa.select(RecipientNotice)
                .where(RecipientNotice.status.in_(["pending", "sent"]))
                .order_by(RecipientNotice.id)
            )
        )
        for row in rows:
            last = row.last_reminder_at or row.sent_at
            if row.status == "sent" and last is not None and last > due:
                continue
            ids = normalise_identities(identities_for(row.request_ref)) if identities_for else {}
            was_pending = row.status == "pending"
            sender.deliver(row, ids, reminder=not was_pending)
            if row.status != "pending":
                sent += 1
                AuditLog(db).append(
                    "notice.sent" if was_pending else "notice.reminded",
                    actor="connectors:notices",
                    subject_ref=row.subject_ref,
                    details={
                        "notice": row.id,
                        "recipient": row.recipient_id,
                        "request": row.request_ref,
                    },
                    session=session,
                )
    return sent


def notices_for_request(db: Database, request_ref: str) -> list[NoticeStatus]:
    """Every notice of a request: whom we told, how, and whether they confirmed."""
    with db.session() as session:
        rows = session.scalars(
            sa.select(RecipientNotice)
            .where(RecipientNotice.request_ref == request_ref)
            .order_by(RecipientNotice.id)
        )
        return [NoticeStatus.of(r) for r in rows]
