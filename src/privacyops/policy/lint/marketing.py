"""Direct-marketing rules (ePrivacy Dir. 2002/58/EC Art. 13; GDPR Art. 21(2)-(3))."""

from __future__ import annotations

from collections.abc import Iterator

from privacyops.policy.lint.base import Hit, Rule, Severity, channels_using, name_list, register
from privacyops.policy.schema import (
    LegalBasis,
    Manifest,
)


@register
class MarketingEmailWithoutConsent(Rule):
    id = "marketing-email-without-consent"
    title = "electronic direct marketing to non-customers without consent"
    article = "ePrivacy Dir. 2002/58/EC Art. 13(1)-(2); GDPR Art. 21(2)"
    severity = Severity.WARNING

    def check(self, m: Manifest) -> Iterator[Hit]:
        customers = {s.id for s in m.data_subjects if s.fides_key == "customer"}
        for i, p in enumerate(m.purposes):
            if not p.direct_marketing or p.legal_basis is LegalBasis.CONSENT:
                continue
            if not (p.data_use or "").startswith("marketing.communications"):
                continue
            channels = [m.channel(c) for c in channels_using(m, p.id)]
            others = [
                c.name for c in channels if not c.data_subjects or set(c.data_subjects) - customers
            ]
            if others:
                yield Hit(
                    ("purposes", i, "legal_basis"),
                    f"purpose '{p.name}' sends marketing by electronic mail on "
                    f"{p.legal_basis.value.replace('_', ' ') if p.legal_basis else 'no basis'} "
                    f"to people reached through {name_list(others)}, not only customers; "
                    "e-mail marketing to natural persons needs their prior consent (Art. "
                    "13(1)), the soft opt-in of Art. 13(2) covering only existing customers "
                    "for similar products",
                )
