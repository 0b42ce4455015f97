"""Lawfulness rules (GDPR Art. 6, 7; ePrivacy Art. 5(3)): a basis for every purpose, consent
that can be given and shown, trackers on consent."""

from __future__ import annotations

from collections.abc import Iterator

from privacyops.policy.lint.base import Hit, Rule, Severity, channels_using, name_list, register
from privacyops.policy.schema import (
    ConsentCategory,
    ConsentMechanism,
    LegalBasis,
    Manifest,
)


@register
class PurposeWithoutLegalBasis(Rule):
    id = "purpose-without-legal-basis"
    title = "a purpose has no legal basis"
    article = "GDPR Art. 6(1), 13(1)(c)"

    def check(self, m: Manifest) -> Iterator[Hit]:
        for i, p in enumerate(m.purposes):
            if p.legal_basis is None:
                yield Hit(
                    ("purposes", i, "legal_basis"),
                    f"purpose '{p.name}' states no legal basis; processing is lawful only on one "
                    "of the six bases of Art. 6(1), and the policy must name it (Art. 13(1)(c))",
                )


@register
class LegitimateInterestNotStated(Rule):
    id = "legitimate-interest-not-stated"
    title = "legitimate interest claimed without saying which interest"
    article = "GDPR Art. 13(1)(d), 6(1)(f)"
    severity = Severity.WARNING

    def check(self, m: Manifest) -> Iterator[Hit]:
        for i, p in enumerate(m.purposes):
            if p.legal_basis is LegalBasis.LEGITIMATE_INTEREST and not p.legitimate_interest:
                yield Hit(
                    ("purposes", i, "legitimate_interest"),
                    f"purpose '{p.name}' relies on legitimate interest but does not state the "
                    "interest pursued, which Art. 13(1)(d) requires",
                )


@register
class LegitimateInterestWithoutBalancing(Rule):
    id = "legitimate-interest-without-balancing"
    title = "legitimate interest claimed with no balancing test documented"
    article = "GDPR Art. 6(1)(f), 5(2); EDPB Guidelines 1/2024"
    severity = Severity.WARNING

    def check(self, m: Manifest) -> Iterator[Hit]:
        for i, p in enumerate(m.purposes):
            if p.legal_basis is LegalBasis.LEGITIMATE_INTEREST and p.balancing_test is None:
                yield Hit(
                    ("purposes", i, "balancing_test"),
                    f"purpose '{p.name}' relies on legitimate interest with no documented "
                    "balancing of that interest against the rights and expectations of the "
                    "people concerned; the controller must be able to show that the "
                    "processing is necessary and that their interests do not override its own",
                )


@register
class ConsentNotRecordable(Rule):
    id = "consent-not-recordable"
    title = "consent-based processing with no valid way to give and record consent"
    article = "GDPR Art. 7(1), 4(11)"

    def check(self, m: Manifest) -> Iterator[Hit]:
        for i, p in enumerate(m.purposes):
            if p.legal_basis is not LegalBasis.CONSENT:
                continue
            mech = p.consent_mechanism
            if mech is ConsentMechanism.IMPLIED_BY_SUBMISSION:
                yield Hit(
                    ("purposes", i, "consent_mechanism"),
                    f"purpose '{p.name}' takes consent as implied by submitting data; consent "
                    "must be a specific, informed and unambiguous indication by a clear "
                    "affirmative act (Art. 4(11), Recital 32) that the controller can "
                    "demonstrate (Art. 7(1)), and may not be bundled with the request itself "
                    "(Art. 7(2), 7(4))",
                )
            elif mech is None or mech is ConsentMechanism.NONE:
                yield Hit(
                    ("purposes", i, "consent_mechanism"),
                    f"purpose '{p.name}' relies on consent but declares no way to obtain and "
                    "record it, so the controller cannot demonstrate it (Art. 7(1))",
                )


_KIND = {
    ConsentCategory.NECESSARY: "necessary",
    ConsentCategory.ANALYTICS: "analytics",
    ConsentCategory.ADVERTISING: "advertising",
    ConsentCategory.WIDGETS: "widget",
}
_TRACKING_USES = ("analytics", "marketing.advertising", "personalize")


@register
class TrackersWithoutConsent(Rule):
    id = "tracker-without-consent"
    title = "non-essential website trackers on a basis other than consent"
    article = "ePrivacy Dir. 2002/58/EC Art. 5(3); CJEU C-673/17 Planet49; EDPB Guidelines 05/2020"

    def check(self, m: Manifest) -> Iterator[Hit]:
        for i, p in enumerate(m.processors):
            t = p.tracker
            if t is None or t.consent_category is ConsentCategory.NECESSARY:
                continue
            if t.legal_basis is LegalBasis.CONSENT:
                continue
            basis = t.legal_basis.value.replace("_", " ") if t.legal_basis else "no stated basis"
            extra = (
                " (for social widgets see also CJEU C-40/17 Fashion ID)"
                if t.consent_category is ConsentCategory.WIDGETS
                else ""
            )
            yield Hit(
                ("processors", i, "tracker", "legal_basis"),
                f"{p.name} is a {_KIND[t.consent_category]} tracker on the website, run on "
                f"{basis}; storing or reading information on a user's device (cookies, "
                "identifiers, scripts that make the browser send data: EDPB Guidelines "
                "2/2023) when not strictly necessary needs prior consent, and a browser "
                f"setting or an opt-out is not consent{extra}",
            )
        # A tracking purpose on the website claimed on legitimate interest.
        cookie_channels = {c.id for c in m.channels if any("cookie" in cat for cat in c.categories)}
        for i, pur in enumerate(m.purposes):
            if pur.legal_basis is LegalBasis.CONSENT or not pur.data_use:
                continue
            if not pur.data_use.startswith(_TRACKING_USES):
                continue
            used_on = [c for c in channels_using(m, pur.id) if c in cookie_channels]
            if used_on and pur.legal_basis is LegalBasis.LEGITIMATE_INTEREST:
                yield Hit(
                    ("purposes", i, "legal_basis"),
                    f"purpose '{pur.name}' ({pur.data_use}) uses cookies on "
                    f"{name_list(used_on)} on "
                    "legitimate interest; analytics and advertising cookies are not strictly "
                    "necessary and need prior consent (ePrivacy Art. 5(3)), which then is also "
                    "the basis for the processing that follows (EDPB Guidelines 05/2020)",
                )
