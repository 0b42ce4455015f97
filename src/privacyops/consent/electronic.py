"""Electronic direct marketing without consent: refused, except the soft opt-in for customers.

ePrivacy Dir. 2002/58/EC Art. 13(1): e-mail, text and messenger marketing to natural persons
needs their prior consent. Art. 13(2): a business that obtained a customer's electronic contact
details in the context of a sale may market its own similar products to that customer, when
the customer could object, free of charge, at collection and can in every message. The
manifest declares that exception per purpose (``soft_opt_in``); this module applies it to one
person: a customer is someone with a record collected through a channel whose data subjects
are all customer types of the soft opt-in.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from privacyops.consent.check import Decision
from privacyops.policy.marketing_law import national_laws, soft_opt_in_gap
from privacyops.policy.schema import Manifest, Purpose
from privacyops.store import Registry, Subject

__all__ = ["customer_channel", "electronic_marketing_decision"]


def customer_channel(
    session: Session, manifest: Manifest, registry: Registry, subject: Subject, purpose: Purpose
) -> str | None:
    """The name of a channel that makes ``subject`` a customer for ``purpose``'s soft opt-in
    (its data subjects all customer types), or None."""
    if purpose.soft_opt_in is None:
        return None
    customers = set(purpose.soft_opt_in.customers)
    for record in registry.records_for(subject, session=session):
        try:
            channel = manifest.channel(record.channel)
        except KeyError:
            continue
        if channel.data_subjects and set(channel.data_subjects) <= customers:
            return channel.name
    return None


def _law(manifest: Manifest) -> str:
    laws = national_laws(manifest)
    return f" ({'; '.join(laws)})" if laws else ""


def electronic_marketing_decision(
    session: Session,
    *,
    manifest: Manifest,
    registry: Registry,
    subject: Subject | None,
    purpose: Purpose,
) -> Decision:
    """Allow ``purpose`` (electronic marketing on a basis other than consent) only under a
    complete soft opt-in to a customer; otherwise refuse, saying why."""
    basis = purpose.legal_basis.value.replace("_", " ") if purpose.legal_basis else "no basis"
    law = _law(manifest)
    gap = soft_opt_in_gap(purpose)
    if gap is not None:
        return Decision(
            False,
            f"{purpose.id!r} is e-mail marketing on {basis}, which needs the person's prior "
            f"consent (ePrivacy Art. 13(1)){law}; the customer exception does not apply: "
            f"{gap}.",
            "electronic_marketing",
        )
    channel = customer_channel(session, manifest, registry, subject, purpose) if subject else None
    if channel is None:
        return Decision(
            False,
            f"{purpose.id!r} is e-mail marketing on {basis}: without consent it may go only "
            "to existing customers under the soft opt-in (ePrivacy Art. 13(2)), and this "
            f"person is not known as a customer{law}.",
            "electronic_marketing",
        )
    return Decision(
        True,
        f"Soft opt-in (ePrivacy Art. 13(2)): a customer (through {channel!r}), the "
        "controller's own similar products, an opt-out offered at collection and carried by "
        "every message; no objection stands.",
        "soft_opt_in",
    )
