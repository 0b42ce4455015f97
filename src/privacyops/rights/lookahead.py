"""What the steps of one batch position will look up, fetched for the whole batch at once.

The engine runs the n-th step of up to 100 requests in one transaction (``engine._Position``).
Each step used to look up its own request's data: the subject by e-mail, the subject's records
and legal holds, an earlier step's result, the recipients notified, whether a message is already
queued. On PostgreSQL each of those is a round trip, and six of them per request were most of an
erasure's time. :class:`Lookahead` makes each of them one query for the batch, run the first
time a step asks, and keeps the answers for the rest of the position.

It also hands the steps what the external systems (SQL, HTTP) answered when the engine asked
them just before the transaction (``answer_of``).

Each answer is handed out once (a second look-up of the same key queries again, seeing what the
transaction changed since), and a subject shared by two requests of the batch is never fetched
ahead: their steps look it up themselves, each seeing what the other did.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from privacyops.connectors import ConnectorResult
from privacyops.errors import PrivacyOpsError
from privacyops.rights.models import OutboxMessage, RecipientNotice, RightsRequest
from privacyops.rights.ports import HoldView, RecordView
from privacyops.rights.service import RequestContext, RightsService

__all__ = ["Lookahead"]

K = TypeVar("K")
V = TypeVar("V")


class Lookahead:
    """Batch look-ups for the requests ``rows`` whose steps at this position are ``names``."""

    def __init__(
        self,
        service: RightsService,
        session: Session,
        rows: Mapping[int, RightsRequest],
        names: Mapping[int, str],
        results: Mapping[tuple[int, str], dict[str, Any] | None],
        answers: Mapping[tuple[int, str, str], ConnectorResult] | None = None,
    ) -> None:
        self.service, self.session = service, session
        self.rows, self.names = rows, names
        self._results = dict(results)
        self._answers = answers or {}
        self._contexts: dict[int, RequestContext] = {}
        self._fetched: dict[str, dict[Any, Any]] = {}
        shared = Counter(r.subject_ref for r in rows.values() if r.subject_ref is not None)
        #: subjects of exactly one request of the batch: only those are fetched ahead
        self._own_subjects = [ref for ref, n in shared.items() if n == 1]

    # --- plumbing ----------------------------------------------------------------------------

    def _take(self, kind: str, key: K, fetch: Callable[[], Mapping[K, V]]) -> tuple[bool, V | None]:
        """``(True, answer)`` for ``key`` from the batch fetch of ``kind`` (run on first use),
        once; ``(False, None)`` when it has none (or has handed it out already)."""
        if kind not in self._fetched:
            self._fetched[kind] = dict(fetch())
        table = self._fetched[kind]
        if key in table:
            return True, table.pop(key)
        return False, None

    def _ids_at(self, *steps: str) -> list[int]:
        return [rid for rid, name in self.names.items() if name in steps]

    def context(self, rid: int) -> RequestContext:
        """The request opened for work (its details decrypted once)."""
        if rid not in self._contexts:
            self._contexts[rid] = self.service.context(self.rows[rid])
        return self._contexts[rid]

    # --- the look-ups ------------------------------------------------------------------------

    def subject_by_email(self, email: str) -> str | None:
        """The living subject with this e-mail (``resolve``)."""

        def fetch() -> dict[str, str | None]:
            emails = Counter(
                self.context(rid).details.get("email") for rid in self._ids_at("resolve")
            )
            once = [e for e, n in emails.items() if isinstance(e, str) and n == 1]
            try:
                found = self.service.registry.find_subjects(self.session, "email", once)
            except PrivacyOpsError:  # a malformed address: each step meets its own error
                return {}
            return {e: found.get(e) for e in once}

        hit, subject = self._take("subject", email, fetch)
        if hit:
            return subject
        return self.service.registry.find_subject(self.session, "email", email)

    def record_facts(self, subject_ref: str) -> list[RecordView]:
        """The subject's records without their data (``erase``)."""
        registry = self.service.registry
        return self._of_subject(
            "facts", subject_ref, registry.record_facts_many, registry.record_facts
        )

    def active_holds(self, subject_ref: str) -> list[HoldView]:
        """The legal holds in force on the subject (``erase``)."""
        registry = self.service.registry
        return self._of_subject(
            "holds", subject_ref, registry.active_holds_many, registry.active_holds
        )

    def _of_subject(
        self,
        kind: str,
        subject_ref: str,
        many: Callable[[Session, list[str]], Mapping[str, list[V]]],
        one: Callable[[Session, str], list[V]],
    ) -> list[V]:
        hit, found = self._take(
            kind, subject_ref, lambda: many(self.session, self._subjects("erase"))
        )
        if hit and found is not None:
            return found
        return one(self.session, subject_ref)

    def _subjects(self, *steps: str) -> list[str]:
        own = set(self._own_subjects)
        refs = (self.rows[rid].subject_ref for rid in self._ids_at(*steps))
        return [ref for ref in refs if ref is not None and ref in own]

    def answer_of(self, rid: int, connector: str, action: str) -> ConnectorResult | None:
        """What an external system answered to ``action`` for the request, asked before this
        transaction (``None``: not asked ahead)."""
        return self._answers.get((rid, connector, action))

    def result(self, rid: int, step: str) -> dict[str, Any] | None:
        """What an earlier step of the request returned (``None`` if it has not run)."""
        return self._results.get((rid, step))

    def notices(self, request_ref: str) -> list[RecipientNotice]:
        """The Art. 19 notices recorded for the request, in order (``answer``)."""

        def fetch() -> dict[str, list[RecipientNotice]]:
            refs = [self.rows[rid].public_id for rid in self._ids_at("answer")]
            found: dict[str, list[RecipientNotice]] = {ref: [] for ref in refs}
            if refs:
                for notice in self.session.scalars(
                    sa.select(RecipientNotice)
                    .where(RecipientNotice.request_ref.in_(refs))
                    .order_by(RecipientNotice.id)
                ):
                    found[notice.request_ref].append(notice)
            return found

        hit, notices = self._take("notices", request_ref, fetch)
        if hit and notices is not None:
            return notices
        return list(
            self.session.scalars(
                sa.select(RecipientNotice)
                .where(RecipientNotice.request_ref == request_ref)
                .order_by(RecipientNotice.id)
            )
        )

    def queued(self, rid: int, purpose: str) -> bool | None:
        """Whether the request already has a message for ``purpose`` in the outbox; ``None``
        when not known ahead (the caller looks)."""

        def fetch() -> dict[tuple[int, str], bool]:
            ids = list(self.rows)
            have = {
                (request_id, kind)
                for request_id, kind in self.session.execute(
                    sa.select(OutboxMessage.request_id, OutboxMessage.purpose).where(
                        OutboxMessage.request_id.in_(ids)
                    )
                )
            }
            # "answer" is what every request's last step queues: known absent unless there
            known = dict.fromkeys(((i, "answer") for i in ids), False)
            known.update(dict.fromkeys(have, True))
            return known

        hit, queued = self._take("queued", (rid, purpose), fetch)
        return queued if hit else None
