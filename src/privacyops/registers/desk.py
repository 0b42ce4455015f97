"""The breach register as the CLI, the JSON API and the dashboard use it: one object holding
the database, the manifest in force, the settings (for mail) and the lead supervisory authority
(looked up by the caller from ``rights.authorities``, a layer above this package)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from privacyops.mail import Message, send_mail
from privacyops.policy.schema import Manifest
from privacyops.registers.affected import Affected, affected_identities, affected_people
from privacyops.registers.breaches import BreachRegister, BreachView
from privacyops.registers.clock import time_left
from privacyops.registers.letters import LetterReport, letter_for, letter_status, send_letters
from privacyops.registers.notification import authority_notification
from privacyops.settings import Settings
from privacyops.store import Database
from privacyops.store.base import utcnow

__all__ = ["BreachDesk", "countdown"]


def countdown(breach: BreachView, now: datetime | None = None) -> dict[str, Any]:
    """What is left of the 72 hours, for a countdown: seconds, and hours and minutes."""
    left = time_left(breach.aware_at, now or utcnow())
    seconds = int(left.total_seconds())
    due = breach.risk is None or breach.risk["decision"] != "none"
    return {
        "seconds_left": seconds,
        "hours": abs(seconds) // 3600,
        "minutes": abs(seconds) % 3600 // 60,
        "overdue": seconds < 0 and due and breach.authority_notified_at is None,
        "notified": breach.authority_notified_at is not None,
        "due": due,
    }


class BreachDesk:
    """Register, affected counts, drafts and letters of the breach register."""

    def __init__(
        self,
        db: Database,
        manifest: Manifest,
        settings: Settings,
        authority: Mapping[str, Any],
    ) -> None:
        self.db = db
        self.manifest = manifest
        self.settings = settings
        self.authority = dict(authority)
        self.register = BreachRegister(db, manifest)

    def __repr__(self) -> str:
        return f"BreachDesk({self.db!r})"

    def summary(self, ref: str) -> dict[str, Any]:
        """A breach with its deadline, countdown, affected counts and letters sent."""
        breach = self.register.get(ref)
        return {
            **breach.as_dict(),
            "countdown": countdown(breach),
            "affected": self.affected(breach).as_dict(),
            "letters": letter_status(self.db, breach.ref),
        }

    def affected(self, breach: BreachView) -> Affected:
        return affected_people(self.db, breach)

    def identities(self, ref: str, *, actor: str) -> list[dict[str, Any]]:
        """The people affected in plain text (audited); for a DPO only (the caller checks)."""
        return affected_identities(self.db, self.register.get(ref), actor=actor)

    def notification(self, ref: str) -> dict[str, Any]:
        breach = self.register.get(ref)
        return authority_notification(breach, self.affected(breach), self.manifest, self.authority)

    def notification_pdf(self, ref: str) -> bytes:
        from privacyops.registers.pdf import notification_pdf  # fpdf2 on first use only

        return notification_pdf(self.notification(ref))

    def letter(self, ref: str) -> Message:
        """The letter the people affected get (without an address), for review."""
        return letter_for(self.register.get(ref), self.manifest, self.authority)

    def send_letters(self, ref: str, *, actor: str) -> LetterReport:
        def send(message: Message) -> str:
            return send_mail(self.settings, message.to, message.subject, message.body)

        return send_letters(
            self.db,
            self.register.get(ref),
            self.manifest,
            send,
            actor=actor,
            authority=self.authority,
        )
