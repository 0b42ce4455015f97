""" "May I use this person's data for purpose P / vendor V?": the answer back-end systems ask
for, allow or deny, always with the reason (and the record or rule it rests on).

The order of the rules is the order of the law's precedence:

1. an erased subject: nothing (GDPR Art. 17);
2. an active restriction, an objection pending included: nothing but storage (Art. 18(2),
   18(1)(d), 21(1));
3. direct marketing to an address on the suppression list: never (Art. 21(3));
4. a website tracker, or a purpose served by one: the visitor's banner choice in force (ePrivacy
   Directive Art. 5(3); GDPR Art. 6(1)(a), 7(3)), which must be unexpired and made under the
   policy version in force;
5. another purpose based on consent: a confirmed double opt-in for it (Art. 7(1));
6. electronic direct marketing on any other basis: refused, except the soft opt-in to a
   customer the manifest declares (ePrivacy Art. 13(1)-(2); :mod:`privacyops.consent.electronic`);
7. any other purpose: the legal basis the policy states for it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from privacyops.consent.banner import Banner
from privacyops.consent.models import ConsentRecord, MarketingConsent
from privacyops.errors import InvalidInput, NotFound
from privacyops.policy.marketing_law import is_electronic_marketing
from privacyops.policy.schema import LegalBasis, Manifest, Purpose
from privacyops.store import Registry, Subject, utcnow

__all__ = ["Decision", "check_use", "purpose_category"]

_RESTRICTION_REASONS = {
    "accuracy_contested": "the subject contests the accuracy of the data (Art. 18(1)(a))",
    "unlawful_processing": "the processing is unlawful and the subject opposed erasure "
    "(Art. 18(1)(b))",
    "legal_claims": "the data is kept only for legal claims (Art. 18(1)(c))",
    "objection_pending": "the subject objected and the balancing is pending or upheld "
    "(Art. 21(1), 18(1)(d))",
}


@dataclass(frozen=True)
class Decision:
    """An answer of the check: ``allow`` and why (``rule`` names the rule that decided)."""

    allow: bool
    reason: str
    rule: str
    record_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def purpose_category(purpose: Purpose) -> str | None:
    """The banner category a purpose needs, from its Fides data use (None: not a tracker's)."""
    use = purpose.data_use or ""
    if use.startswith("analytics"):
        return "analytics"
    if use.startswith(("advertising", "marketing.advertising")):
        return "advertising"
    return None


def _latest_record(
    session: Session, visitor_ids: list[str], subject: Subject | None
) -> ConsentRecord | None:
    conditions: list[sa.ColumnElement[bool]] = []
    if visitor_ids:
        conditions.append(ConsentRecord.visitor_id.in_(visitor_ids))
    if subject is not None:
        conditions.append(ConsentRecord.subject_id == subject.public_id)
    if not conditions:
        return None
    return session.scalars(
        sa.select(ConsentRecord).where(sa.or_(*conditions)).order_by(ConsentRecord.id.desc())
    ).first()


def _banner_decision(
    record: ConsentRecord | None,
    banner: Banner,
    *,
    category: str,
    vendor: str | None,
    now: datetime,
) -> Decision:
    what = f"vendor {vendor!r}" if vendor else f"the {category} category"
    if record is None:
        return Decision(False, f"No consent to {what} is recorded.", "banner_consent")
    rid = record.record_id
    if record.policy_version != banner.policy_version:
        return Decision(
            False,
            f"The consent was given under policy {record.policy_version}; "
            f"{banner.policy_version} is in force and the banner must ask again.",
            "banner_consent",
            rid,
        )
    if record.expires_at <= now:
        return Decision(
            False, "The consent has expired; the banner must ask again.", "banner_consent", rid
        )
    granted = bool(getattr(record, category))
    if vendor is not None:
        granted = bool(json.loads(record.vendors).get(vendor))
    day = record.created_at.date().isoformat()
    if not granted:
        by_gpc = record.gpc and category in banner.gpc_refuses
        why = "refused by a Global Privacy Control signal" if by_gpc else record.action
        return Decision(
            False, f"Consent to {what} was not given ({why}, {day}).", "banner_consent", rid
        )
    return Decision(
        True, f"Consent to {what} was given ({record.action}, {day}).", "banner_consent", rid
    )


def check_use(
    session: Session,
    *,
    manifest: Manifest,
    banner: Banner,
    registry: Registry,
    purpose: str | None = None,
    vendor: str | None = None,
    visitor_id: str | None = None,
    subject_id: str | None = None,
    email: str | None = None,
    now: datetime | None = None,
) -> Decision:
    """Decide whether the person may be processed for ``purpose`` and/or by ``vendor``.

    Raises:
        InvalidInput: neither purpose nor vendor, or no way to name the person.
    """
    if not purpose and not vendor:
        raise InvalidInput("Ask about a purpose, a vendor, or both.")
    if not (visitor_id or subject_id or email):
        raise InvalidInput("Name the person: visitor_id, subject_id or email.")
    moment = now or utcnow()

    # Who: the registry's subject, when the person is known to it.
    subject: Subject | None = None
    if subject_id:
        try:
            subject = registry.get_subject(subject_id, session=session)
        except NotFound:
            subject = None
    if subject is None and email:
        subject = registry.find_subject("email", email, session=session)
    if subject is None and visitor_id:
        subject = registry.find_subject("visitor_id", visitor_id, session=session)
    visitors = [visitor_id] if visitor_id else []
    emails = [email] if email else []
    if subject is not None:
        if subject.erased_at is not None:
            return Decision(False, "The data subject was erased (Art. 17).", "erasure")
        for kind, value in registry.identities_of(subject, session=session):
            if kind == "visitor_id" and value not in visitors:
                visitors.append(value)
            if kind == "email" and value not in emails:
                emails.append(value)
        restrictions = registry.restrictions(subject, session=session)
        if restrictions:
            ground = restrictions[0].ground
            return Decision(
                False,
                "Processing is restricted: "
                + _RESTRICTION_REASONS.get(ground, ground)
                + "; only storage is allowed (Art. 18(2)).",
                "restriction",
            )

    target: Purpose | None = None
    if purpose:
        try:
            target = manifest.purpose(purpose)
        except KeyError:
            return Decision(False, f"The policy declares no purpose {purpose!r}.", "undeclared")
    tracker = None
    if vendor:
        try:
            processor = manifest.processor(vendor)
        except KeyError:
            return Decision(False, f"The policy declares no vendor {vendor!r}.", "undeclared")
        tracker = processor.tracker

    marketing = target is not None and target.direct_marketing
    if marketing:
        for address in emails:
            if registry.is_suppressed(address, session=session):
                return Decision(
                    False,
                    "The address is on the marketing suppression list (objection, Art. 21(3)).",
                    "suppression",
                )

    record = None
    category = purpose_category(target) if target is not None else None
    if tracker is not None or category is not None:
        record = _latest_record(session, visitors, subject)
    if tracker is not None and vendor is not None and tracker.consent_category.value != "necessary":
        decision = _banner_decision(
            record, banner, category=tracker.consent_category.value, vendor=vendor, now=moment
        )
        if not decision.allow or target is None:
            return decision
    if category is not None:
        return _banner_decision(record, banner, category=category, vendor=None, now=moment)
    if target is None:
        return Decision(
            True,
            f"{vendor!r} is a processor the policy declares and needs no banner consent; "
            "the purposes' legal bases apply.",
            "declared_processor",
        )
    basis = target.legal_basis
    if basis is LegalBasis.CONSENT:
        if subject is None:
            return Decision(False, f"No consent to {target.id!r} is recorded.", "opt_in")
        confirmed = session.scalars(
            sa.select(MarketingConsent)
            .where(
                MarketingConsent.subject_id == subject.public_id,
                MarketingConsent.purpose == target.id,
            )
            .order_by(MarketingConsent.id.desc())
        ).first()
        if confirmed is None or confirmed.status != "confirmed":
            state = confirmed.status if confirmed else "none"
            return Decision(
                False,
                f"{target.id!r} rests on consent and no confirmed opt-in is recorded "
                f"(state: {state}); consent implied by a submission is not consent "
                "(Art. 4(11), 7(1)).",
                "opt_in",
            )
        day = confirmed.confirmed_at.date().isoformat() if confirmed.confirmed_at else "?"
        return Decision(True, f"Double opt-in to {target.id!r} confirmed on {day}.", "opt_in")
    if basis is None:
        return Decision(False, f"The policy states no legal basis for {target.id!r}.", "no_basis")
    if is_electronic_marketing(target):
        from privacyops.consent.electronic import electronic_marketing_decision

        return electronic_marketing_decision(
            session, manifest=manifest, registry=registry, subject=subject, purpose=target
        )
    return Decision(
        True,
        f"{target.id!r} rests on {basis.value.replace('_', ' ')} (Art. 6(1)); no objection or "
        "restriction stands.",
        "legal_basis",
    )
