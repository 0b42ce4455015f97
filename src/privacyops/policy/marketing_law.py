"""The electronic direct-marketing rule (ePrivacy Dir. 2002/58/EC Art. 13) and the national
laws that carry it, for the countries a policy's EEA establishments sit in.

Art. 13(1): e-mail, text and messenger marketing to natural persons needs their prior consent.
Art. 13(2), the *soft opt-in*: a business that obtained a customer's electronic contact details
in the context of a sale may market its own similar products or services to that customer,
provided the customer was given a clear chance to object, free of charge, at collection and in
every message. Each Member State (and EEA state) transposes this in its own law; where the
controller is established decides which law applies, so the reasons name it.
"""

from __future__ import annotations

from privacyops.policy.adequacy import adequacy
from privacyops.policy.schema import LegalBasis, Manifest, Purpose

__all__ = ["NATIONAL_LAW", "is_electronic_marketing", "national_laws", "soft_opt_in_gap"]

#: Country → the national provision carrying ePrivacy Art. 13 for e-mail marketing.
NATIONAL_LAW: dict[str, str] = {
    "NO": "Norway: markedsføringsloven § 15",
    "PL": "Poland: Prawo komunikacji elektronicznej (electronic communications law) art. 398",
    "FI": "Finland: laki sähköisen viestinnän palveluista (917/2014) § 200",
    "SE": "Sweden: marknadsföringslagen (2008:486) § 19",
    "DE": "Germany: UWG § 7(2) no. 2 and § 7(3)",
    "FR": "France: Code des postes et des communications électroniques art. L34-5",
}


def national_laws(m: Manifest) -> list[str]:
    """The national provisions for the policy's EEA establishments, in manifest order."""
    data = adequacy()
    countries = dict.fromkeys(e.country for e in m.entities if data.in_eea(e.country))
    return [NATIONAL_LAW[c] for c in countries if c in NATIONAL_LAW]


def is_electronic_marketing(p: Purpose) -> bool:
    """Direct marketing sent by e-mail, text or messenger (ePrivacy Art. 13)."""
    if not p.direct_marketing:
        return False
    if p.electronic is not None:
        return p.electronic
    return (p.data_use or "").startswith("marketing.communications")


def soft_opt_in_gap(p: Purpose) -> str | None:
    """What the purpose's soft opt-in lacks (None: it is complete, or the basis is consent)."""
    if p.legal_basis is LegalBasis.CONSENT:
        return None
    s = p.soft_opt_in
    if s is None:
        return "the policy claims no soft opt-in (Art. 13(2)) for it"
    missing = []
    if not s.similar_products:
        missing.append("it is not limited to the controller's own similar products")
    if not s.opt_out_at_collection:
        missing.append("no opt-out was offered when the contact details were collected")
    if not s.opt_out_in_every_message:
        missing.append("not every message offers an opt-out")
    return "; ".join(missing) or None
