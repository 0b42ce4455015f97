"""Compliance lint of a policy manifest: what the policy promises that the GDPR does not allow.

Each rule is a small class registered in :data:`RULES`, with an id, a severity, the article
it applies and a readable ``repr``; its ``check`` yields a :class:`Hit` per problem, each with
the path of the offending node and the *reason* in words a DPO can act on (STYLE.md: rules
that explain themselves). :func:`lint_manifest` turns hits into :class:`Finding` objects that
also carry the version and, when the manifest came from a file, its line and column.

The lint judges what the manifest says, not the world: a finding means the policy as written
does not meet the article cited.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar

from privacyops.policy.adequacy import adequacy
from privacyops.policy.loader import source_map
from privacyops.policy.schema import (
    ConsentCategory,
    ConsentMechanism,
    EntityRole,
    LegalBasis,
    Manifest,
    PolicyBook,
    ProcessorRole,
    RightKind,
    Safeguard,
)
from privacyops.policy.source import Loc

__all__ = [
    "RULES",
    "Finding",
    "Hit",
    "Rule",
    "Severity",
    "lint_book",
    "lint_manifest",
    "readable",
]


class Severity(StrEnum):
    """How bad a finding is: ``error`` breaks an article; ``warning`` likely does or leaves
    a required fact out; ``info`` is worth a look."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True)
class Hit:
    """One problem a rule found: where (a path into the manifest) and why."""

    loc: Loc
    reason: str


@dataclass(frozen=True)
class Finding:
    """A hit placed in its version and file, as the lint reports it."""

    rule: str
    severity: Severity
    article: str
    version: str
    where: str
    reason: str
    loc: Loc
    file: str | None = None
    line: int | None = None
    column: int | None = None

    @property
    def location(self) -> str:
        """``file:line:column`` when known, else the path in the manifest."""
        if self.file and self.line:
            return f"{self.file}:{self.line}:{self.column}"
        return self.where

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "severity": self.severity.value,
            "article": self.article,
            "version": self.version,
            "where": self.where,
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "reason": self.reason,
        }


class Rule:
    """A compliance rule. Subclasses set the class attributes and implement :meth:`check`."""

    id: ClassVar[str]
    title: ClassVar[str]
    article: ClassVar[str]
    severity: ClassVar[Severity] = Severity.ERROR

    def check(self, m: Manifest) -> Iterator[Hit]:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<Rule {self.id} [{self.severity.value}] {self.title} ({self.article})>"


RULES: dict[str, Rule] = {}


def register(cls: type[Rule]) -> type[Rule]:
    """Add a rule to :data:`RULES` (one instance; rules hold no state)."""
    if cls.id in RULES:
        raise ValueError(f"duplicate rule id {cls.id!r}")
    RULES[cls.id] = cls()
    return cls


def readable(m: Manifest, loc: Loc) -> str:
    """A path with ids instead of indices: ``processors[google-analytics].tracker``."""
    out = ""
    node: Any = m
    for part in loc:
        if isinstance(part, int):
            item = node[part] if isinstance(node, list) and part < len(node) else None
            ident = getattr(item, "id", None)
            out += f"[{ident}]" if isinstance(ident, str) else f"[{part}]"
            node = item
        else:
            out += f".{part}" if out else part
            node = getattr(node, part, None)
    return out


def _names(items: list[str], limit: int = 6) -> str:
    if len(items) <= limit:
        return ", ".join(items)
    return ", ".join(items[:limit]) + f" and {len(items) - limit} more"


def _channels_using(m: Manifest, purpose_id: str) -> list[str]:
    return [c.id for c in m.channels if purpose_id in c.purposes]


# --- lawfulness (Art. 6) -------------------------------------------------------------------


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
            used_on = [c for c in _channels_using(m, pur.id) if c in cookie_channels]
            if used_on and pur.legal_basis is LegalBasis.LEGITIMATE_INTEREST:
                yield Hit(
                    ("purposes", i, "legal_basis"),
                    f"purpose '{pur.name}' ({pur.data_use}) uses cookies on {_names(used_on)} on "
                    "legitimate interest; analytics and advertising cookies are not strictly "
                    "necessary and need prior consent (ePrivacy Art. 5(3)), which then is also "
                    "the basis for the processing that follows (EDPB Guidelines 05/2020)",
                )


# --- storage limitation (Art. 5(1)(e)) -----------------------------------------------------


@register
class ChannelWithoutRetention(Rule):
    id = "channel-without-retention"
    title = "a channel states no retention period"
    article = "GDPR Art. 5(1)(e), 13(2)(a)"

    def check(self, m: Manifest) -> Iterator[Hit]:
        for i, c in enumerate(m.channels):
            if c.retention is None:
                yield Hit(
                    ("channels", i, "retention"),
                    f"channel '{c.name}' states no retention period nor the criteria used to "
                    "determine it",
                )


@register
class RetentionLeftToProcessors(Rule):
    id = "retention-left-to-processors"
    title = "retention deferred to processors' own policies"
    article = "GDPR Art. 13(2)(a), 5(1)(e), 28(3)(g)"
    severity = Severity.WARNING

    def check(self, m: Manifest) -> Iterator[Hit]:
        covered: set[str] = set()
        for i, c in enumerate(m.channels):
            if c.retention and c.retention.processors_own_retention:
                names = [m.processor(p).name for p in c.retention.processors_own_retention]
                covered.update(c.retention.processors_own_retention)
                yield Hit(
                    ("channels", i, "retention", "processors_own_retention"),
                    f"on channel '{c.name}' the retention of data collected through "
                    f"{_names(names)} is left to their own privacy policies; the controller "
                    "must state the period itself, and a processor keeps data only as the "
                    "controller instructs (Art. 28(3)(g))",
                )
        loose = [(i, p.name) for i, p in enumerate(m.processors) if p.own_retention]
        loose = [(i, name) for i, name in loose if m.processors[i].id not in covered]
        if loose:
            names = [name for _, name in loose]
            yield Hit(
                ("processors", loose[0][0], "own_retention"),
                f"the retention of data held by {_names(names, 8)} is left to their own "
                "privacy policies; the policy states no period for it",
            )


@register
class BackupsWithoutPeriod(Rule):
    id = "backups-without-period"
    title = "expired data kept in backups with no period"
    article = "GDPR Art. 5(1)(e), 17(1)"
    severity = Severity.WARNING

    def check(self, m: Manifest) -> Iterator[Hit]:
        if m.backups and m.backups_retention is None:
            yield Hit(
                ("backups",),
                "data whose retention has expired stays in backups, and the policy states no "
                "period after which the backups are overwritten or deleted "
                "(backups_retention): storage limitation applies to backups too",
            )


# --- purpose limitation and minimisation (Art. 5(1)(b)-(c)) ---------------------------------


@register
class CategoryUnused(Rule):
    id = "category-unused"
    title = "a category is collected but used by no purpose"
    article = "GDPR Art. 5(1)(b)-(c)"
    severity = Severity.WARNING

    def check(self, m: Manifest) -> Iterator[Hit]:
        purposes = {p.id: p for p in m.purposes}
        for i, c in enumerate(m.channels):
            if not c.purposes:
                yield Hit(
                    ("channels", i, "purposes"),
                    f"channel '{c.name}' collects {_names(c.categories)} for no stated purpose",
                )
                continue
            used: set[str] = set()
            for pid in c.purposes:
                p = purposes.get(pid)
                if p is None:
                    continue
                used.update(p.categories or c.categories)
            for j, cat in enumerate(c.categories):
                if cat not in used:
                    yield Hit(
                        ("channels", i, "categories", j),
                        f"channel '{c.name}' collects '{m.category(cat).name}' but none of its "
                        "purposes uses it: collect only what a stated purpose needs",
                    )


@register
class PurposeUsesUnlistedCategory(Rule):
    id = "purpose-uses-unlisted-category"
    title = "a purpose uses data its channel does not say it collects"
    article = "GDPR Art. 5(1)(a), 13(1)(c), 30(1)(c)"
    severity = Severity.WARNING

    def check(self, m: Manifest) -> Iterator[Hit]:
        for i, c in enumerate(m.channels):
            for j, pid in enumerate(c.purposes):
                p = m.purpose(pid)
                unlisted = [cat for cat in p.categories if cat not in c.categories]
                if unlisted:
                    names = [m.category(x).name for x in unlisted]
                    yield Hit(
                        ("channels", i, "purposes", j),
                        f"on channel '{c.name}' the purpose '{p.name}' uses {_names(names)}, "
                        "which the channel does not list among the data it collects: the "
                        "data subject is not told that it is collected",
                    )


@register
class PurposeUnused(Rule):
    id = "purpose-unused"
    title = "a purpose no channel serves"
    article = "GDPR Art. 13(1)(c)"
    severity = Severity.INFO

    def check(self, m: Manifest) -> Iterator[Hit]:
        for i, p in enumerate(m.purposes):
            if not _channels_using(m, p.id):
                yield Hit(
                    ("purposes", i),
                    f"purpose '{p.name}' is declared but no channel collects data for it",
                )


@register
class SpecialCategoryWithoutCondition(Rule):
    id = "special-category-without-condition"
    title = "special-category data without an Art. 9(2) condition"
    article = "GDPR Art. 9(1)-(2)"

    def check(self, m: Manifest) -> Iterator[Hit]:
        collected = {cat for c in m.channels for cat in c.categories}
        for i, cat in enumerate(m.data_categories):
            if cat.special and cat.id in collected:
                yield Hit(
                    ("data_categories", i, "special"),
                    f"'{cat.name}' is a special category of data; processing it is prohibited "
                    "unless one of the conditions of Art. 9(2) applies, and the policy states "
                    "none",
                )


# --- transfers (Chapter V) -----------------------------------------------------------------

_NO_SAFEGUARD = {Safeguard.NONE, Safeguard.UNKNOWN, Safeguard.PROCESSOR_TERMS}


def _safeguard_problem(destination: str, safeguard: Safeguard | None) -> str | None:
    """Why ``safeguard`` does not cover a transfer to ``destination`` (None: it does)."""
    data = adequacy()
    if data.in_eea(destination):
        return None
    decision = data.decision_for(destination)
    if safeguard is None:
        if decision is not None and not decision.certified_only:
            return None  # Art. 45(1): an adequacy decision needs no further safeguard
        if decision is not None:
            return (
                "no safeguard is stated, and the adequacy decision covers certified "
                f"organisations only ({decision.cite()})"
            )
        return "no safeguard is stated and there is no adequacy decision"
    invalid = data.invalidated_safeguard(safeguard.value)
    if invalid is not None:
        return f"the safeguard named is {invalid.cite()}"
    if safeguard is Safeguard.NONE:
        return "the policy states that there is no safeguard"
    if safeguard is Safeguard.UNKNOWN:
        return "the policy does not say which safeguard applies"
    if safeguard is Safeguard.PROCESSOR_TERMS:
        return (
            "the safeguard stated is the recipient's own terms and privacy policy, which is "
            "not an Art. 46 safeguard"
        )
    if safeguard is Safeguard.ADEQUACY and decision is None:
        return "an adequacy decision is claimed, but there is none for this destination"
    if safeguard is Safeguard.DPF and destination != "US":
        return "the Data Privacy Framework covers transfers to the US only"
    return None


_TRANSFER_TAIL = (
    "; a transfer needs an adequacy decision (Art. 45), or SCCs, BCRs or another Art. 46 safeguard"
)


@register
class TransferWithoutSafeguard(Rule):
    id = "transfer-without-safeguard"
    title = "a third-country transfer without a valid safeguard"
    article = "GDPR Art. 44-46; CJEU C-311/18 Schrems II"

    def check(self, m: Manifest) -> Iterator[Hit]:
        covered: set[str] = set()
        for i, t in enumerate(m.transfers):
            who = f"transfer '{t.id}'"
            if t.importer_processor:
                covered.add(t.importer_processor)
                who = f"transfer to {m.processor(t.importer_processor).name}"
            elif t.importer_entity:
                entity = next(e.legal_name for e in m.entities if e.id == t.importer_entity)
                who = f"transfer to {entity}"
            problem = _safeguard_problem(t.destination, t.safeguard)
            if problem:
                yield Hit(
                    ("transfers", i, "safeguard"),
                    f"{who} ({t.destination}): {problem}{_TRANSFER_TAIL}",
                )
        # Processors with the same problem come from one statement of the policy (e.g. "these
        # transfers fall under the terms and privacy policies of these providers"): one
        # finding per problem, naming them all, placed at the first.
        groups: dict[tuple[str, str], list[tuple[int, str]]] = {}
        for i, p in enumerate(m.processors):
            if p.id in covered:
                continue
            for place in dict.fromkeys(x for x in (p.country, *p.data_locations) if x):
                problem = _safeguard_problem(place, p.transfer_safeguard)
                if problem:
                    groups.setdefault((place, problem), []).append((i, p.name))
        for (place, problem), members in groups.items():
            names = [name for _, name in members]
            who = names[0] if len(names) == 1 else f"{len(names)} processors ({_names(names, 8)})"
            yield Hit(
                ("processors", members[0][0], "transfer_safeguard"),
                f"{who} in {place}: {problem}{_TRANSFER_TAIL}",
            )
        destinations = {t.destination for t in m.transfers}
        for i, country in enumerate(m.storage_locations):
            if country in destinations:
                continue
            problem = _safeguard_problem(country, None)
            if problem:
                yield Hit(
                    ("storage_locations", i),
                    f"storage of the collected data in {country}: {problem}{_TRANSFER_TAIL}",
                )


# --- transparency (Art. 12-14) -------------------------------------------------------------


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
                f"{_names(controllers)} are named as controllers of the same information, but "
                "the policy does not describe their arrangement (who answers which "
                "obligation), whose essence must be made available to data subjects",
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


# --- automated decisions and profiling (Art. 22, 4(4)) --------------------------------------


@register
class AutomatedDecisionsWithoutSafeguards(Rule):
    id = "automated-decisions-without-safeguards"
    title = "automated decisions without Art. 22(3) safeguards"
    article = "GDPR Art. 22(3), 13(2)(f)"

    def check(self, m: Manifest) -> Iterator[Hit]:
        ad = m.automated_decisions
        if ad.used and not ad.safeguards:
            yield Hit(
                ("automated_decisions", "safeguards"),
                "decisions are made solely by automated means, but the policy offers no right "
                "to human intervention, to express one's view and to contest the decision",
            )


@register
class ProfilingDeniedButAdvertising(Rule):
    id = "profiling-denied-but-advertising"
    title = "the policy denies profiling yet runs behavioural advertising"
    article = "GDPR Art. 4(4), 13(2)(f), 21(2)"
    severity = Severity.WARNING

    def check(self, m: Manifest) -> Iterator[Hit]:
        if m.automated_decisions.profiling:
            return
        ads = [
            p.name
            for p in m.processors
            if ProcessorRole.ADVERTISING in p.roles
            or (p.tracker is not None and p.tracker.consent_category is ConsentCategory.ADVERTISING)
        ]
        if ads:
            yield Hit(
                ("automated_decisions", "profiling"),
                "the policy states that no profiling is done, yet it uses advertising and "
                f"retargeting services ({_names(ads)}); evaluating a person's behaviour or "
                "interests to target advertising is profiling (Art. 4(4)), which must be "
                "disclosed and can be objected to (Art. 21(2))",
            )


# --- direct marketing ----------------------------------------------------------------------


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
            channels = [m.channel(c) for c in _channels_using(m, p.id)]
            others = [
                c.name for c in channels if not c.data_subjects or set(c.data_subjects) - customers
            ]
            if others:
                yield Hit(
                    ("purposes", i, "legal_basis"),
                    f"purpose '{p.name}' sends marketing by electronic mail on "
                    f"{p.legal_basis.value.replace('_', ' ') if p.legal_basis else 'no basis'} "
                    f"to people reached through {_names(others)}, not only customers; "
                    "e-mail marketing to natural persons needs their prior consent (Art. "
                    "13(1)), the soft opt-in of Art. 13(2) covering only existing customers "
                    "for similar products",
                )


# --- the text itself ------------------------------------------------------------------------


@register
class PolicyContradictsItself(Rule):
    id = "policy-contradicts-itself"
    title = "the policy text contradicts itself"
    article = "GDPR Art. 12(1), 5(1)(a)"
    severity = Severity.INFO

    def check(self, m: Manifest) -> Iterator[Hit]:
        def notes(loc: Loc, items: list[Any]) -> Iterator[Hit]:
            for j, n in enumerate(items):
                if n.kind == "contradiction":
                    yield Hit(
                        (*loc, "notes", j),
                        f"§{n.section}: {n.text} — information must be concise, transparent "
                        "and intelligible",
                    )

        yield from notes((), m.notes)
        for i, c in enumerate(m.channels):
            yield from notes(("channels", i), c.notes)
        for i, p in enumerate(m.processors):
            yield from notes(("processors", i), p.notes)
        for i, t in enumerate(m.transfers):
            yield from notes(("transfers", i), t.notes)


# --- running ---------------------------------------------------------------------------------


def lint_manifest(m: Manifest, rules: list[Rule] | None = None) -> list[Finding]:
    """Every finding of ``rules`` (default: all registered) on one version."""
    smap = source_map(m)
    findings: list[Finding] = []
    for rule in rules if rules is not None else list(RULES.values()):
        for hit in rule.check(m):
            position = smap.locate(hit.loc) if smap else None
            findings.append(
                Finding(
                    rule=rule.id,
                    severity=rule.severity,
                    article=rule.article,
                    version=m.version.id,
                    where=readable(m, hit.loc),
                    reason=hit.reason,
                    loc=hit.loc,
                    file=smap.file if smap else None,
                    line=position.line if position else None,
                    column=position.column if position else None,
                )
            )
    return findings


def lint_book(book: PolicyBook, rules: list[Rule] | None = None) -> list[Finding]:
    """Every finding on every version of the book, oldest version first."""
    out: list[Finding] = []
    for m in book.versions:
        out.extend(lint_manifest(m, rules))
    return out
