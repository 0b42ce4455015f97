"""Direct-marketing rules (ePrivacy Dir. 2002/58/EC Art. 13; GDPR Art. 21(2)-(3))."""

from __future__ import annotations

from collections.abc import Iterator

from privacyops.policy.lint.base import Hit, Rule, Severity, channels_using, name_list, register
from privacyops.policy.marketing_law import (
    is_electronic_marketing,
    national_laws,
    soft_opt_in_gap,
)
from privacyops.policy.schema import (
    ConsentMechanism,
    LegalBasis,
    Manifest,
)


def _law(m: Manifest) -> str:
    laws = national_laws(m)
    return f" ({'; '.join(laws)})" if laws else ""


def _customers(m: Manifest, i: int) -> set[str]:
    p = m.purposes[i]
    if p.soft_opt_in is not None:
        return set(p.soft_opt_in.customers)
    return {s.id for s in m.data_subjects if s.fides_key == "customer"}


@register
class MarketingEmailWithoutConsent(Rule):
    id = "marketing-email-without-consent"
    title = "electronic direct marketing without consent outside the soft opt-in"
    article = "ePrivacy Dir. 2002/58/EC Art. 13(1)-(2); GDPR Art. 21(2)"
    severity = Severity.WARNING

    def check(self, m: Manifest) -> Iterator[Hit]:
        for i, p in enumerate(m.purposes):
            if not is_electronic_marketing(p) or p.legal_basis is LegalBasis.CONSENT:
                continue
            customers = _customers(m, i)
            channels = [m.channel(c) for c in channels_using(m, p.id)]
            others = [
                c.name for c in channels if not c.data_subjects or set(c.data_subjects) - customers
            ]
            basis = p.legal_basis.value.replace("_", " ") if p.legal_basis else "no basis"
            if others:
                yield Hit(
                    ("purposes", i, "legal_basis"),
                    f"purpose '{p.name}' sends marketing by electronic mail on {basis} "
                    f"to people reached through {name_list(others)}, not only customers; "
                    "e-mail marketing to natural persons needs their prior consent (Art. "
                    "13(1)), the soft opt-in of Art. 13(2) covering only existing customers "
                    f"for similar products{_law(m)}",
                )
                continue
            gap = soft_opt_in_gap(p)
            if gap and channels:
                yield Hit(
                    ("purposes", i, "soft_opt_in"),
                    f"purpose '{p.name}' sends marketing by electronic mail to customers on "
                    f"{basis}, but {gap}: without consent it is lawful only for the "
                    "controller's own similar products, with an opt-out offered at collection "
                    f"and in every message (Art. 13(2)){_law(m)}",
                )


_NOT_CONSENT = {None, ConsentMechanism.IMPLIED_BY_SUBMISSION, ConsentMechanism.NONE}


@register
class ConsentRequestOnLegitimateInterest(Rule):
    id = "consent-request-on-legitimate-interest"
    title = "messages asking for consent sent without consent"
    article = "ePrivacy Dir. 2002/58/EC Art. 13(1); GDPR Art. 6(1)(f), 21(2)"
    severity = Severity.WARNING

    def check(self, m: Manifest) -> Iterator[Hit]:
        for i, p in enumerate(m.purposes):
            if not p.asks_for_consent:
                continue
            bases = [b for b in (p.legal_basis, *p.also_claimed_bases) if b is not None]
            claims = [b.value.replace("_", " ") for b in bases if b is not LegalBasis.CONSENT]
            if p.legal_basis is LegalBasis.CONSENT and p.consent_mechanism in _NOT_CONSENT:
                claims.insert(0, "consent implied by submitting data (which is not consent)")
            elif p.legal_basis is LegalBasis.CONSENT and not claims:
                continue
            claimed = " and ".join(claims) or "no basis"
            yield Hit(
                ("purposes", i, "asks_for_consent"),
                f"purpose '{p.name}' contacts people to ask for their consent to further "
                f"marketing, on {claimed}; a message that seeks consent to marketing is "
                "itself direct marketing, so sending it by e-mail needs the consent it asks "
                f"for, or the soft opt-in for customers (Art. 13(1)-(2)){_law(m)}",
            )
