"""The consent service: one object per application holding the banner, the signing key, the
record writer and the rate limiter, built from the settings and the policy in force."""

from __future__ import annotations

import threading
from contextlib import nullcontext
from functools import cached_property
from typing import Any

from sqlalchemy.orm import Session

from privacyops.consent.banner import Banner, build_banner
from privacyops.consent.check import Decision, check_use
from privacyops.consent.gpc import well_known_document
from privacyops.consent.marketing import (
    confirm_opt_in,
    marketing_history,
    request_opt_in,
    withdraw_opt_in,
)
from privacyops.consent.receipts import build_receipt
from privacyops.consent.records import (
    ChoiceIn,
    RequestContext,
    StoredRecord,
    current_state,
    history,
    origin_of,
    prepare_record,
    truncate_ip,
)
from privacyops.consent.signing import SigningKey, load_signing_key
from privacyops.consent.stats import DayRate, consent_rates
from privacyops.consent.writer import ConsentWriter
from privacyops.errors import NotFound
from privacyops.policy import PolicyBook, load_configured_policy
from privacyops.ratelimit import RateLimiter, shared_counts
from privacyops.settings import Settings
from privacyops.store import Database, Registry, open_database

__all__ = ["ConsentService"]


class ConsentService:
    """Consent for one application: what the banner shows, what was chosen, what it allows.

    Args:
        settings: the settings in force.
        book: the policy book (default: the configured one, see
            :func:`privacyops.policy.load_configured_policy`).
        db: the database (default: opened from ``settings`` on first use).
    """

    def __init__(
        self, settings: Settings, book: PolicyBook | None = None, db: Database | None = None
    ) -> None:
        self.settings = settings
        self.book = book or load_configured_policy(settings)
        self._db = db
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"ConsentService(policy={self.book.current.version.id!r})"

    @property
    def db(self) -> Database:
        """The database records are written to."""
        if self._db is None:
            with self._lock:
                if self._db is None:
                    self._db = open_database(self.settings)
        return self._db

    @cached_property
    def banner(self) -> Banner:
        """The banner of the policy version in force."""
        countries = [e.country for m in self.book.versions for e in m.entities]
        return build_banner(self.book.current, self.settings, countries=countries)

    @cached_property
    def signing_key(self) -> SigningKey:
        """The receipt-signing key (created in data_dir on first use)."""
        with self._lock:
            return load_signing_key(self.settings)

    @cached_property
    def allowed_origins(self) -> frozenset[str]:
        """Origins that may call the public consent API: ``site_origins`` and the service's own."""
        found = {origin_of(o) for o in [*self.settings.site_origins, self.settings.base_url]}
        return frozenset(o for o in found if o)

    @cached_property
    def limiter(self) -> RateLimiter:
        """Counts the callers of the public consent API (in Redis when scaled out)."""
        return RateLimiter(shared_counts(self.settings.celery_broker_url))

    def check_rate(self, client: str) -> None:
        """Count one choice from ``client`` (``consent_rate_limit`` are accepted a minute).

        Raises:
            RateLimited: over the limit.
        """
        self.limiter.check(f"consent:{client}", self.settings.consent_rate_limit)

    @cached_property
    def writer(self) -> ConsentWriter:
        """The group-commit writer of consent records."""
        return ConsentWriter(self.db)

    def gpc_document(self) -> dict[str, Any]:
        """``/.well-known/gpc.json``."""
        return well_known_document(self.book.current.version.effective_from)

    # --- recording ------------------------------------------------------------------------

    def prepare(self, choice: ChoiceIn, context: RequestContext) -> dict[str, Any]:
        """Validate a choice and build its row (raises before anything is stored)."""
        if not context.allowed_origins:
            context = RequestContext(
                ip=context.ip,
                user_agent=context.user_agent,
                gpc_header=context.gpc_header,
                allowed_origins=self.allowed_origins,
                source=context.source,
            )
        return prepare_record(choice, self.banner, context)

    def record(self, choice: ChoiceIn, context: RequestContext) -> StoredRecord:
        """Validate and durably store a choice; returns once it is committed."""
        return self.writer.write(self.prepare(choice, context))

    async def record_async(self, choice: ChoiceIn, context: RequestContext) -> StoredRecord:
        """:meth:`record` for an event loop: waits for the group commit without blocking it."""
        return await self.writer.submit_async(self.prepare(choice, context))

    # --- reading --------------------------------------------------------------------------

    def state(self, visitor_id: str) -> dict[str, Any]:
        """The visitor's current choice and whether the banner must ask again."""
        with self.db.session() as session:
            return current_state(session, visitor_id, self.banner)

    def history(
        self, *, visitor_id: str | None = None, subject_id: str | None = None
    ) -> list[dict[str, Any]]:
        """Every record of a visitor or data subject (and the subject's visitors), oldest first."""
        with self.db.session() as session:
            visitors = self._visitors_of(session, subject_id) if subject_id else []
            return history(
                session, visitor_id=visitor_id, subject_id=subject_id, visitor_ids=visitors
            )

    def receipt(
        self,
        *,
        visitor_id: str | None = None,
        subject_id: str | None = None,
        session: Session | None = None,
    ) -> dict[str, Any]:
        """The signed receipt of a visitor's or data subject's consent history; read in
        ``session`` when given (a caller inside a write transaction must pass it: a second
        transaction there is a nested write), else in a read session of its own.

        Raises:
            NotFound: nothing is recorded for them.
        """
        reading = nullcontext(session) if session is not None else self.db.read_session()
        with reading as s:
            visitors = self._visitors_of(s, subject_id) if subject_id else []
            records = history(s, visitor_id=visitor_id, subject_id=subject_id, visitor_ids=visitors)
            marketing = marketing_history(s, subject_id) if subject_id else []
        principal = f"subject:{subject_id}" if subject_id else f"visitor:{visitor_id}"
        return build_receipt(
            records,
            manifest=self.book.current,
            banner=self.banner,
            key=self.signing_key,
            principal=principal,
            marketing=marketing,
        )

    def _visitors_of(self, session: Session, subject_id: str) -> list[str]:
        """The visitor ids the registry links to a data subject (its ``visitor_id`` identities)."""
        registry = Registry(self.db)
        try:
            subject = registry.get_subject(subject_id, session=session)
        except NotFound:
            return []
        return [v for k, v in registry.identities_of(subject, session=session) if k == "visitor_id"]

    def stats(self, *, days: int = 30) -> list[DayRate]:
        """Opt-in and opt-out rates per category per day (what the dashboard charts)."""
        with self.db.session() as session:
            return consent_rates(session, days=days)

    def check(
        self,
        *,
        purpose: str | None = None,
        vendor: str | None = None,
        visitor_id: str | None = None,
        subject_id: str | None = None,
        email: str | None = None,
    ) -> Decision:
        """May this person's data be used for ``purpose`` / by ``vendor``? With the reason."""
        with self.db.session() as session:
            return check_use(
                session,
                manifest=self.book.current,
                banner=self.banner,
                registry=Registry(self.db),
                purpose=purpose,
                vendor=vendor,
                visitor_id=visitor_id,
                subject_id=subject_id,
                email=email,
            )

    def request_marketing(
        self,
        email: str,
        *,
        purpose_id: str | None = None,
        language: str = "en",
        ip: str | None = None,
        user_agent: str | None = None,
        visitor_id: str | None = None,
    ) -> None:
        """Start a double opt-in to marketing e-mail (the confirmation link is sent).

        With ``visitor_id`` the registry links the banner's visitor to the data subject, so the
        subject's receipt and the check endpoint see the visitor's banner choices too.
        """
        request_opt_in(
            self.db,
            self.settings,
            self.book.current,
            email,
            purpose_id=purpose_id,
            language=language if language in self.banner.languages else "en",
            ip_truncated=truncate_ip(ip),
            user_agent=user_agent,
            policy_url=self.banner.policy_url,
            visitor_id=visitor_id,
        )

    def confirm_marketing(self, token: str) -> dict[str, Any]:
        """Follow a confirmation link."""
        return confirm_opt_in(self.db, token)

    def withdraw_marketing(self, token: str) -> dict[str, Any]:
        """Follow a withdrawal link."""
        return withdraw_opt_in(self.db, token)

    def close(self) -> None:
        """Commit queued records and stop the writer."""
        if "writer" in self.__dict__:
            self.writer.close()
