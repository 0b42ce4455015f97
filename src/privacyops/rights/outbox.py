"""The outbox: every message to a person is written in the transaction of the act that
decides it, and sent after the commit (a crash in between loses nothing; a message that
fails stays queued and is tried again). Messages are sealed with the request's key."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Session

from privacyops.rights.identity import Message
from privacyops.rights.models import OutboxMessage, RightsRequest
from privacyops.store import utcnow

if TYPE_CHECKING:
    from privacyops.rights.service import RightsService

__all__ = ["deliver_outbox", "queue_message"]

log = logging.getLogger(__name__)


def queue_message(
    service: RightsService,
    session: Session,
    row: RightsRequest,
    purpose: str,
    channel: str,
    message: Message,
    *,
    queued: bool | None = None,
) -> None:
    """Write a message to the outbox once per (request, purpose); ``queued`` is whether it
    is there already, when the caller knows (else this looks)."""
    if queued is None:
        queued = (
            session.scalar(
                sa.select(OutboxMessage.id).where(
                    OutboxMessage.request_id == row.id, OutboxMessage.purpose == purpose
                )
            )
            is not None
        )
    if queued:
        return
    sealed = service.seal_for(
        row, {"to": message.to, "subject": message.subject, "body": message.body}
    )
    session.add(OutboxMessage(request_id=row.id, purpose=purpose, channel=channel, sealed=sealed))


def deliver_outbox(
    service: RightsService, *, request_id: int | None = None, limit: int = 100
) -> int:
    """Send queued messages; returns how many went out. A message that fails stays queued
    (its attempts counted) and is tried again by the engine."""
    sent = 0
    with service.write_session() as session:
        # claim a batch: only one process sends a given message (SQLite: the write lock
        # is held; PostgreSQL: rows another sender holds are skipped)
        query = (
            sa.select(OutboxMessage, RightsRequest)
            .join(RightsRequest, RightsRequest.id == OutboxMessage.request_id)
            .where(OutboxMessage.sent_at.is_(None), OutboxMessage.attempts < 10)
            .order_by(OutboxMessage.id)
            .limit(limit)
            .with_for_update(of=OutboxMessage, skip_locked=True)
        )
        if request_id is not None:
            query = query.where(OutboxMessage.request_id == request_id)
        pending = [(m, r) for m, r in session.execute(query)]
        if pending:
            session.execute(
                sa.update(OutboxMessage)
                .where(OutboxMessage.id.in_([m.id for m, _ in pending]))
                .values(sent_at=utcnow(), attempts=OutboxMessage.attempts + 1)
                .execution_options(synchronize_session=False)
            )
    failed: list[int] = []
    for message, row in pending:
        body = service.open_for(row, message.sealed)
        out = Message(body["to"], body["subject"], body["body"])
        try:
            (service.phone if message.channel == "phone" else service.email).send(out)
            sent += 1
        except Exception as exc:  # the peer is down: release the claim, retry later
            # privacyops.mail logs the server's outage once; per message only when debugging
            log.debug("outbox message %s not sent: %s", message.id, type(exc).__name__)
            failed.append(message.id)
    if failed:
        with service.write_session() as session:
            session.execute(
                sa.update(OutboxMessage)
                .where(OutboxMessage.id.in_(failed))
                .values(sent_at=None)
                .execution_options(synchronize_session=False)
            )
    return sent
