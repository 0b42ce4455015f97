"""Letters to the people a breach affects (GDPR Art. 34), sent by e-mail with delivery tracked.

Art. 34(2): in clear and plain language, the nature of the breach and at least the contact
point, the likely consequences and the measures taken (Art. 33(3)(b)-(d)). The words are in
``templates/breach_letter*.txt`` (gettext-ready: ``{% trans %}`` blocks). Each person gets one
letter per breach; a letter the mail server did not accept stays ``failed`` and is sent again
by the next :func:`send_letters`; a person with no e-mail address in the registry is counted as
``no_address`` (the DPO reaches them another way, or by public communication, Art. 34(3)(c)).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from jinja2 import Environment, PackageLoader, StrictUndefined

from privacyops.audit import AuditLog, actions
from privacyops.errors import DependencyUnavailable, InvalidInput
from privacyops.mail import Message
from privacyops.policy.schema import Manifest
from privacyops.registers.affected import affected_subject_refs
from privacyops.registers.breaches import BreachView
from privacyops.registers.models import Breach, BreachLetter
from privacyops.store import Database, Registry
from privacyops.store.base import utcnow

__all__ = ["LetterReport", "letter_for", "letter_status", "send_letters"]

#: Sends one message and returns its Message-ID (``privacyops.mail.send_mail`` bound to the
#: settings).
Send = Callable[[Message], str]


@lru_cache(maxsize=1)
def _env() -> Environment:
    env = Environment(
        loader=PackageLoader("privacyops.registers", "templates"),
        autoescape=False,  # noqa: S701 - plain-text e-mail, never HTML
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
    return env


@dataclass(frozen=True, slots=True)
class LetterReport:
    """Counts of one sending, and of all letters of the breach after it."""

    sent_now: int
    failed_now: int
    no_address_now: int
    totals: dict[str, int]

    def as_dict(self) -> dict[str, Any]:
        return {
            "sent_now": self.sent_now,
            "failed_now": self.failed_now,
            "no_address_now": self.no_address_now,
            "totals": self.totals,
        }


def letter_for(
    breach: BreachView, manifest: Manifest, authority: Mapping[str, Any] | None
) -> Message:
    """The letter (without its address): the same text for everyone the breach affects."""
    names = {c.id: c.name for c in manifest.data_categories}
    contact_email: str | None
    if manifest.dpo is not None:
        contact_name, contact_email = manifest.dpo.name, manifest.dpo.email
    else:
        contact_name = manifest.contact_point.legal_name
        contact_email = manifest.contact_point.contact.email
    values = {
        "organization": manifest.organization,
        "ref": breach.ref,
        "description": breach.description,
        "categories": [names.get(c, c) for c in breach.data_categories],
        "consequences": breach.consequences,
        "measures": breach.measures,
        "contact_name": contact_name,
        "contact_email": contact_email,
        "authority": (authority or {}).get("name_en") or (authority or {}).get("name"),
    }
    env = _env()
    subject = env.get_template("breach_letter_subject.txt").render(values).strip()
    body = env.get_template("breach_letter.txt").render(values).strip() + "\n"
    return Message(to="", subject=subject, body=body)


def letter_status(db: Database, ref: str) -> dict[str, int]:
    """How many letters of the breach are ``sent``, ``failed`` or ``no_address``."""
    with db.session() as s:
        rows = s.execute(
            sa.select(BreachLetter.status, sa.func.count())
            .join(Breach, Breach.id == BreachLetter.breach_id)
            .where(Breach.ref == ref)
            .group_by(BreachLetter.status)
        ).all()
    return {status: int(count) for status, count in rows}


def send_letters(
    db: Database,
    breach: BreachView,
    manifest: Manifest,
    send: Send,
    *,
    actor: str,
    authority: Mapping[str, Any] | None = None,
) -> LetterReport:
    """Send the letter to every affected person not yet reached (audited with counts).

    Raises:
        InvalidInput: the risk assessment did not decide to inform the people (Art. 34(1)).
    """
    if breach.risk is None or breach.risk["decision"] != "people":
        raise InvalidInput(
            "Letters go out once the risk assessment finds a high risk (Art. 34(1)).",
            details=[{"loc": ["risk"], "msg": "assess the breach as a high risk first"}],
        )
    letter = letter_for(breach, manifest, authority)
    registry = Registry(db)
    with db.session() as s:
        breach_id = s.execute(sa.select(Breach.id).where(Breach.ref == breach.ref)).scalar_one()
        done = set(
            s.execute(
                sa.select(BreachLetter.subject_ref).where(
                    BreachLetter.breach_id == breach_id, BreachLetter.status == "sent"
                )
            ).scalars()
        )
    todo = [ref for ref in affected_subject_refs(db, breach) if ref not in done]
    now: Counter[str] = Counter()
    for subject in registry.get_subjects(todo):
        emails = [value for kind, value in registry.identities_of(subject) if kind == "email"]
        status, message_id = "no_address", None
        if emails:
            try:
                message_id = send(Message(emails[0], letter.subject, letter.body))
                status = "sent"
            except DependencyUnavailable:
                status = "failed"
        now[status] += 1
        with db.session() as s:
            row = s.execute(
                sa.select(BreachLetter).where(
                    BreachLetter.breach_id == breach_id,
                    BreachLetter.subject_ref == subject.public_id,
                )
            ).scalar_one_or_none()
            if row is None:
                row = BreachLetter(breach_id=breach_id, subject_ref=subject.public_id, attempts=0)
                s.add(row)
            row.status, row.message_id = status, message_id
            row.attempts += 1
            row.attempted_at = utcnow()
    report = LetterReport(
        now["sent"], now["failed"], now["no_address"], letter_status(db, breach.ref)
    )
    AuditLog(db).append(
        actions.BREACH_LETTER, actor=actor, reason=breach.ref, details=report.as_dict()
    )
    return report
