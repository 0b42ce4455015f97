"""Transparency rules (GDPR Art. 12-14, 26, 32, 37): who the controllers are and how to reach
them, recipients, rights, security."""

from __future__ import annotations

from collections.abc import Iterator

from privacyops.policy.establishment import clock_country
from privacyops.policy.lint.base import Hit, Rule, Severity, name_list, register
from privacyops.policy.schema import (
    EntityRole,
    LegalBasis,
    Manifest,
    RecipientRole,
    RightKind,
)


@register
class ControllerWithoutContact(Rule):
    id = "controller-without-contact"
    title = "a controller named without contact details"
    article = "GDPR Art. 13(1)(a)"
    severity = Severity.WARNING

    def check(self, m: Manifest) -> Iterator[Hit]:
        roles = {EntityRole.CONTROLLER, EntityRole.JOINT_CONTROLLER}
        for i, e in enumerate(m.entities):
            if not roles & set(e.roles):
                continue
            c = e.contact
            if not (e.address or c.email or c.phone or c.url):
                yield Hit(
                    ("entities", i),
                    f"{e.legal_name} is named as a controller, but the policy gives no address "
                    "or other contact details for it",
                )


@register
class JointControllersWithoutArrangement(Rule):
    id = "joint-controllers-without-arrangement"
    title = "several controllers, no joint-controller arrangement described"
    article = "GDPR Art. 26(1)-(2)"
    severity = Severity.WARNING

    def check(self, m: Manifest) -> Iterator[Hit]:
        roles = {EntityRole.CONTROLLER, EntityRole.JOINT_CONTROLLER}
        controllers = [e.legal_name for e in m.entities if roles & set(e.roles)]
        if len(controllers) > 1 and not m.joint_controller_arrangement:
            yield Hit(
                ("entities",),
                f"{name_list(controllers)} are named as controllers of the same information, but "
                "the policy does not describe their arrangement (who answers which "
                "obligation), whose essence must be made available to data subjects",
            )
        # Third parties that decide with the controller why and how data is collected (a
        # pixel, a social plug-in: CJEU C-40/17 Fashion ID): one finding naming them all.
        joint = [
            (("processors", i, "arrangement"), p.name)
            for i, p in enumerate(m.processors)
            if p.role is RecipientRole.JOINT_CONTROLLER and not p.arrangement
        ]
        joint += [
            (("recipients", i, "arrangement"), r.name)
            for i, r in enumerate(m.recipients)
            if r.role is RecipientRole.JOINT_CONTROLLER and not r.arrangement
        ]
        if joint:
            names = [name for _, name in joint]
            yield Hit(
                joint[0][0],
                f"{name_list(names, 8)} "
                f"{'is a joint controller' if len(names) == 1 else 'are joint controllers'} "
                "with the controller for the data collected through them (their pixels and "
                "plug-ins on the website: CJEU C-40/17 Fashion ID), and the policy describes no "
                "arrangement saying who informs people and who answers their requests",
            )


@register
class MissingDpoContact(Rule):
    id = "missing-dpo-contact"
    title = "no contact details of the data protection officer"
    article = "GDPR Art. 13(1)(b), 37(7)"
    severity = Severity.WARNING

    def check(self, m: Manifest) -> Iterator[Hit]:
        if m.dpo is None:
            yield Hit(("dpo",), "the policy names no data protection officer or DPO contact")
        elif not m.dpo.email.strip():
            yield Hit(("dpo", "email"), "the DPO has no contact e-mail")


@register
class RecipientsUnspecified(Rule):
    id = "recipients-unspecified"
    title = "a channel names neither recipients nor processors"
    article = "GDPR Art. 13(1)(e)"
    severity = Severity.WARNING

    def check(self, m: Manifest) -> Iterator[Hit]:
        for i, c in enumerate(m.channels):
            if not c.recipients and not c.processors:
                yield Hit(
                    ("channels", i, "recipients"),
                    f"channel '{c.name}' names no recipients or categories of recipients of "
                    "the data it collects",
                )


_REQUIRED_RIGHTS = {
    RightKind.ACCESS: "Art. 15",
    RightKind.RECTIFICATION: "Art. 16",
    RightKind.ERASURE: "Art. 17",
    RightKind.RESTRICTION: "Art. 18",
    RightKind.OBJECTION: "Art. 21",
    RightKind.PORTABILITY: "Art. 20",
    RightKind.COMPLAINT: "Art. 77",
}


@register
class RightNotOffered(Rule):
    id = "right-not-offered"
    title = "a data-subject right the policy does not mention"
    article = "GDPR Art. 13(2)(b)-(d)"

    def check(self, m: Manifest) -> Iterator[Hit]:
        offered = {r.kind for r in m.rights.offered}
        for kind, article in _REQUIRED_RIGHTS.items():
            if kind not in offered:
                yield Hit(
                    ("rights", "offered"),
                    f"the right of {kind.value.replace('_', ' ')} ({article}) is not offered",
                )
        if RightKind.CONSENT_WITHDRAWAL not in offered and any(
            p.legal_basis is LegalBasis.CONSENT for p in m.purposes
        ):
            yield Hit(
                ("rights", "offered"),
                "processing relies on consent but the right to withdraw it (Art. 7(3), "
                "13(2)(c)) is not offered",
            )


@register
class NoSecurityMeasures(Rule):
    id = "no-security-measures"
    title = "no security measures described"
    article = "GDPR Art. 32, 30(1)(g)"
    severity = Severity.WARNING

    def check(self, m: Manifest) -> Iterator[Hit]:
        if not m.security_measures:
            yield Hit(
                ("security_measures",),
                "the manifest lists no technical or organisational security measures",
            )


@register
class NoEeaEstablishment(Rule):
    id = "no-eea-establishment-or-representative"
    title = "no establishment or representative in the EEA"
    article = "GDPR Art. 3(2), 27(1), 13(1)(a)"
    severity = Severity.WARNING

    def check(self, m: Manifest) -> Iterator[Hit]:
        chosen = clock_country(m)
        if chosen.note:
            yield Hit(
                ("entities",),
                "the policy names no entity established in the EEA and no EEA representative: "
                "a controller outside the EEA that offers services to people in it must "
                "designate a representative there in writing (Art. 27(1)); the legal clock "
                f"then follows {chosen.country}'s calendar, which may be no Member State's",
            )
