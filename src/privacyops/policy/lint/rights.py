"""Rules on how the policy states the data-subject rights (GDPR Art. 20, 21): a right the law
gives unconditionally must not be made conditional, nor declared inapplicable where it applies."""

from __future__ import annotations

from collections.abc import Iterator

from privacyops.policy.lint.base import Hit, Rule, name_list, register
from privacyops.policy.schema import LegalBasis, Manifest, RightKind


@register
class DirectMarketingObjectionConditional(Rule):
    id = "direct-marketing-objection-conditional"
    title = "the objection to direct marketing made conditional"
    article = "GDPR Art. 21(2)-(3)"

    def check(self, m: Manifest) -> Iterator[Hit]:
        marketing = [p.name for p in m.purposes if p.direct_marketing]
        if not marketing:
            return
        for i, r in enumerate(m.rights.offered):
            if r.kind is RightKind.OBJECTION and r.particular_situation_required:
                yield Hit(
                    ("rights", "offered", i, "particular_situation_required"),
                    "the policy requires 'grounds relating to one's particular situation' for "
                    "every objection, yet it does direct marketing "
                    f"({name_list(marketing, 4)}); an objection to direct marketing, "
                    "profiling for it included, needs no grounds and must be followed at once "
                    "(Art. 21(2)-(3)); only an objection to processing on legitimate interest "
                    "or a public task asks for them (Art. 21(1))",
                )


_PORTABLE = {LegalBasis.CONSENT, LegalBasis.CONTRACT}


@register
class PortabilityDeclaredNotApplicable(Rule):
    id = "portability-declared-not-applicable"
    title = "data portability declared not applicable where it applies"
    article = "GDPR Art. 20(1), 13(2)(b)"

    def check(self, m: Manifest) -> Iterator[Hit]:
        portable = [p.name for p in m.purposes if p.legal_basis in _PORTABLE]
        if not portable:
            return
        for i, r in enumerate(m.rights.offered):
            if r.kind is RightKind.PORTABILITY and not r.applies:
                yield Hit(
                    ("rights", "offered", i, "applies"),
                    "the policy declares the right to data portability not applicable, yet "
                    f"it processes data on consent or contract ({name_list(portable, 4)}) by "
                    "automated means (a CRM, cloud storage); people have the right to receive "
                    "the data they provided in a machine-readable format whenever both hold "
                    "(Art. 20(1)(a)-(b))",
                )
