"""The human-readable privacy policy, generated from a manifest (HTML or Markdown).

The twelve sections of the policy plus "Contact us" are rebuilt from the manifest's facts:
who the controllers are, what each channel collects, how and why, which processors are
involved (with their privacy-policy links), how long data is kept, the rights and how to use
them, security, transfers and general terms. Templates are Jinja2 files shipped with the
package (``privacyops/policy/templates``); HTML output is autoescaped.

    >>> html = render_policy(default_policy_book().current, fmt="html")
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from privacyops.errors import InvalidInput
from privacyops.policy.schema import (
    Channel,
    ConsentCategory,
    Entity,
    EntityRole,
    LegalBasis,
    Manifest,
    Processor,
    Purpose,
    Safeguard,
    Transfer,
)

__all__ = ["FORMATS", "country_name", "render_policy"]

FORMATS = ("html", "md")

# Countries the seed policy and its processors name; other codes print as the code.
_COUNTRIES = {
    "AR": "Argentina",
    "BY": "Belarus",
    "DE": "Germany",
    "FI": "Finland",
    "FR": "France",
    "GB": "United Kingdom",
    "IE": "Ireland",
    "MT": "Malta",
    "NL": "Netherlands",
    "NO": "Norway",
    "PL": "Poland",
    "SE": "Sweden",
    "US": "United States",
}

_BASES = {
    LegalBasis.CONSENT: "consent (GDPR Art. 6(1)(a))",
    LegalBasis.CONTRACT: "entering into and performing a contract (GDPR Art. 6(1)(b))",
    LegalBasis.LEGAL_OBLIGATION: "a legal obligation (GDPR Art. 6(1)(c))",
    LegalBasis.VITAL_INTERESTS: "vital interests (GDPR Art. 6(1)(d))",
    LegalBasis.PUBLIC_TASK: "a task in the public interest (GDPR Art. 6(1)(e))",
    LegalBasis.LEGITIMATE_INTEREST: "our legitimate interest (GDPR Art. 6(1)(f))",
}

_SAFEGUARDS = {
    Safeguard.ADEQUACY: "an adequacy decision of the European Commission (GDPR Art. 45)",
    Safeguard.SCC: "standard contractual data protection clauses (GDPR Art. 46(2)(c))",
    Safeguard.BCR: "binding corporate rules (GDPR Art. 47)",
    Safeguard.PRIVACY_SHIELD: "the EU-US Privacy Shield (invalidated by the CJEU on 16 July 2020)",
    Safeguard.DPF: "the EU-US Data Privacy Framework (GDPR Art. 45)",
    Safeguard.PROCESSOR_TERMS: "the terms and privacy policies of the provider",
    Safeguard.NONE: "no safeguard",
    Safeguard.UNKNOWN: "no safeguard stated",
}

_TRACKER_GROUPS = (
    (ConsentCategory.NECESSARY, "Strictly necessary"),
    (ConsentCategory.ANALYTICS, "Analytics partners"),
    (ConsentCategory.ADVERTISING, "Advertising partners"),
    (ConsentCategory.WIDGETS, "Other widgets and scripts provided by partner third parties"),
)

_SECTION_TITLES = {
    "website": "Data we gathered from our website's users",
    "web_form": "Data we gather from our web forms",
    "chatbot": "Data we gather from our chatbot",
    "contact": "Data we gather via e-mails, messengers, widgets, and phones",
    "customer": "Data we gather if you are our customer",
    "event": "Data we gather from the attendees of our events",
}


def country_name(code: str | None) -> str:
    """English name of an ISO 3166-1 alpha-2 code the policy uses (else the code itself)."""
    if not code:
        return ""
    return _COUNTRIES.get(code, code)


@dataclass
class _PurposeView:
    name: str
    description: str | None
    basis: str
    legitimate_interest: str | None
    also: list[str]
    consent_mechanism: str | None
    direct_marketing: bool


@dataclass
class _ChannelView:
    number: str
    title: str
    channel: Channel
    categories: list[str]
    processors: list[Processor]
    tracker_groups: list[tuple[str, list[Processor]]]
    other_processors: list[Processor]
    purposes: list[_PurposeView]
    retention: str | None
    retention_reason: str | None
    own_retention: list[str]
    recipients: list[str] = field(default_factory=list)


def _purpose_view(p: Purpose) -> _PurposeView:
    basis = _BASES[p.legal_basis] if p.legal_basis else "no legal basis is stated"
    return _PurposeView(
        name=p.name,
        description=p.description,
        basis=basis,
        legitimate_interest=p.legitimate_interest,
        also=[_BASES[b] for b in p.also_claimed_bases],
        consent_mechanism=(
            "given by submitting your data"
            if p.consent_mechanism and p.consent_mechanism.value == "implied_by_submission"
            else (p.consent_mechanism.value.replace("_", " ") if p.consent_mechanism else None)
        ),
        direct_marketing=p.direct_marketing,
    )


def _category_line(m: Manifest, category_id: str) -> str:
    category = m.category(category_id)
    if category.description:
        return f"{category.name} ({category.description.rstrip('.')})"
    return category.name


def _channel_view(m: Manifest, c: Channel, number: int) -> _ChannelView:
    processors = [m.processor(pid) for pid in c.processors]
    groups: list[tuple[str, list[Processor]]] = []
    others = processors
    # A channel made only of trackers (the website) lists them by banner category, as the
    # policy does (2.2.1 analytics, 2.2.2 advertising, 2.2.3 widgets).
    if processors and all(p.tracker for p in processors):
        for cat, label in _TRACKER_GROUPS:
            members = [p for p in processors if p.tracker and p.tracker.consent_category == cat]
            if members:
                groups.append((label, members))
        others = []
    rule = c.retention
    retention = None
    if rule is not None:
        retention = rule.as_stated or rule.describe()
    recipients = [
        f"{r.name}: {r.description}" if r.description else r.name
        for r in m.recipients
        if r.id in c.recipients
    ]
    return _ChannelView(
        number=str(number),
        title=_SECTION_TITLES.get(c.id, c.name),
        channel=c,
        categories=[_category_line(m, cid) for cid in c.categories],
        processors=processors,
        tracker_groups=groups,
        other_processors=others,
        purposes=[_purpose_view(m.purpose(pid)) for pid in c.purposes],
        retention=retention,
        retention_reason=rule.reason if rule else None,
        own_retention=[m.processor(pid).name for pid in rule.processors_own_retention]
        if rule
        else [],
        recipients=recipients,
    )


def _entity_line(e: Entity) -> str:
    return e.legal_name


def _transfer_view(m: Manifest, t: Transfer) -> dict[str, Any]:
    importer = ""
    if t.importer_entity:
        importer = next(e.legal_name for e in m.entities if e.id == t.importer_entity)
    elif t.importer_processor:
        importer = m.processor(t.importer_processor).name
    return {
        "country": country_name(t.destination),
        "importer": importer,
        "safeguard": _SAFEGUARDS[t.safeguard],
        "description": t.description,
    }


def _context(m: Manifest, include_notes: bool) -> dict[str, Any]:
    channels = [_channel_view(m, c, i) for i, c in enumerate(m.channels, start=2)]
    storage = [m.processor(pid).name for pid in m.storage_processors]
    third_party_retention = sorted(
        {
            m.processor(pid).name
            for c in m.channels
            if c.retention
            for pid in c.retention.processors_own_retention
        }
        | {p.name for p in m.processors if p.own_retention}
    )
    offices = []
    for e in m.entities:
        name = country_name(e.country)
        if name not in offices:
            offices.append(name)
    return {
        "m": m,
        "version": m.version,
        "group": [_entity_line(e) for e in m.entities if EntityRole.GROUP_MEMBER in e.roles]
        or [e.legal_name for e in m.entities],
        "controllers": m.entities_with(EntityRole.CONTROLLER),
        "contact_point": m.contact_point,
        "representatives": m.entities_with(EntityRole.EEA_REPRESENTATIVE),
        "contact_entities": [
            e
            for e in m.entities
            if {EntityRole.CONTACT_POINT, EntityRole.EEA_REPRESENTATIVE} & set(e.roles)
        ],
        "channels": channels,
        "first_free": len(channels) + 2,
        "storage": storage,
        "storage_countries": [country_name(c) for c in m.storage_locations],
        "third_party_retention": third_party_retention,
        "transfers": [_transfer_view(m, t) for t in m.transfers],
        "offices": offices,
        "include_notes": include_notes,
        "notes": _all_notes(m) if include_notes else [],
    }


def _all_notes(m: Manifest) -> list[tuple[str, str, str]]:
    out = [(n.section, n.kind, n.text) for n in m.notes]
    for group in (m.entities, m.purposes, m.channels, m.processors, m.transfers):
        for item in group:
            out.extend((n.section, n.kind, n.text) for n in item.notes)
    return out


def _who(p: Processor) -> str:
    """'Legal entity, Country' of a processor, as far as the manifest knows them."""
    return ", ".join(x for x in (p.legal_entity, country_name(p.country)) if x)


def _and_list(items: list[str]) -> str:
    """'a, b and c'."""
    items = list(items)
    if len(items) > 1:
        return f"{', '.join(items[:-1])} and {items[-1]}"
    return items[0] if items else ""


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("privacyops.policy", "templates"),
        # HTML templates escape every value; Markdown is plain text.
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.globals.update(who=_who, and_list=_and_list, country_name=country_name)
    return env


def render_policy(manifest: Manifest, fmt: str = "html", *, include_notes: bool = False) -> str:
    """The policy text of ``manifest`` as an HTML page or a Markdown document.

    Args:
        manifest: the version to render.
        fmt: ``html`` or ``md``.
        include_notes: append the manifest's notes (where the text is vague or contradictory).

    Raises:
        InvalidInput: an unknown format.
    """
    if fmt not in FORMATS:
        raise InvalidInput(f"unknown format '{fmt}': use one of {', '.join(FORMATS)}")
    template = _environment().get_template(f"policy.{fmt}.j2")
    text = template.render(**_context(manifest, include_notes))
    if fmt == "md":
        # One blank line before each heading and between blocks, never more.
        text = re.sub(r"([^\n])\n(#+ )", r"\1\n\n\2", text)
        text = re.sub(r"\n{3,}", "\n\n", text)
    return text
