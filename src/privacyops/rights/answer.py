"""The access answer (GDPR Art. 15(1)-(3), 12(1)) as a document a person reads.

:func:`access_answer` gathers the facts: each part of the person's data with what the policy
version it was collected under says (purposes, legal basis, categories, recipients by role,
retention with its start event and end date, source, transfers with their safeguard, judged
by the policy lint), the connected systems' records, the consent history and its signed
receipt, the audit events about the person (no staff names), whether automated decisions are
made, every right and where to complain. The words are Jinja2 templates
(``rights/templates/access/``; the codes' words in ``words.j2``, the document in
``answer.md.j2``), gettext-ready: changing the wording touches no Python.

The document is rendered once, as Markdown (:mod:`privacyops.rights.texts`), and parsed into
rows (:mod:`privacyops.rights.document`) that the PDF, the JSON, the CSV and the HTML page are
all made from, so the four say the same.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from privacyops.connectors import ConnectorResult
from privacyops.policy.schema import Manifest, PolicyBook
from privacyops.retention.rules import resolve_rule, subtract_period
from privacyops.rights.authorities import Authority, answer_complaint
from privacyops.rights.document import AccessAnswer, Block, to_blocks
from privacyops.rights.models import RightsRequest
from privacyops.rights.ports import RecordView
from privacyops.rights.texts import MARKDOWN_ENV, country_name, long_date, words
from privacyops.store import utcnow

if TYPE_CHECKING:
    from privacyops.consent.service import ConsentService
    from privacyops.rights.service import RightsService

__all__ = [
    "AccessAnswer",
    "AnswerInputs",
    "Block",
    "access_answer",
    "answer_for",
]

# --- recipients and transfers ---------------------------------------------------------


def _role(item: Any, default: str) -> str:
    """A recipient's role: the manifest's ``role`` when it has one (issue 16 adds it), else
    ``default``. Read defensively: older manifests have no such field."""
    role = getattr(item, "role", None)
    value = getattr(role, "value", role)
    return str(value) if value else default


_KIND_ROLES = {
    "processor": "processor",
    "third_party": "independent_controller",
    "event_organiser": "independent_controller",
    "group_company": "group_company",
    "authority": "authority",
}


def _recipients(manifest: Manifest, channel_id: str) -> list[dict[str, str]]:
    """The recipients and processors of a channel: name, role code (processor unless the
    manifest says otherwise) and country code."""
    try:
        channel = manifest.channel(channel_id)
    except KeyError:
        return []
    found: list[dict[str, str]] = []
    for r in manifest.recipients:
        if r.id in channel.recipients:
            role = _role(r, _KIND_ROLES.get(r.kind.value, "recipient"))
            found.append({"id": r.id, "name": r.name, "role": role, "country": ""})
    for pid in channel.processors:
        try:
            p = manifest.processor(pid)
        except KeyError:
            continue
        role = _role(p, "processor" if p.is_processor else "independent_controller")
        found.append({"id": p.id, "name": p.name, "role": role, "country": p.country or ""})
    return found


_TRANSFER_PROBLEMS: dict[tuple[str, str, str], str | None] = {}


def _problem(manifest: Manifest, kind: str, index: int, ident: str) -> str | None:
    """What the policy lint finds wrong with one transfer (``kind`` ``transfers``) or one
    processor's own transfers (``processors``), or ``None``; remembered per version."""
    key = (manifest.version.id, kind, ident)
    if key in _TRANSFER_PROBLEMS:
        return _TRANSFER_PROBLEMS[key]
    from privacyops.policy import lint  # loaded with the first answer, not the service

    rule = lint.RULES.get("transfer-without-safeguard")
    if rule is None:
        return None
    if kind == "processors":
        # judged alone, so that a finding grouping several processors names this one
        alone = manifest.model_copy(
            update={"processors": [manifest.processors[index]], "transfers": []}
        )
        findings = lint.lint_manifest(alone, [rule])
        wanted: tuple[str | int, ...] = ("processors", 0)
    else:
        findings = lint.lint_manifest(manifest, [rule])
        wanted = ("transfers", index)
    reasons = [f.reason for f in findings if tuple(f.loc[:2]) == wanted]
    found = reasons[0].split(";")[0].split(": ", 1)[-1] if reasons else None
    _TRANSFER_PROBLEMS[key] = found
    return found


def _transfers(manifest: Manifest, channel_id: str) -> list[dict[str, Any]]:
    """The transfers outside the EEA a channel's data may take: the manifest's transfers to
    its processors (or to the group) and the processors' own countries, each with the
    safeguard code, whether the lint finds it valid and, if not, why."""
    from privacyops.policy.adequacy import adequacy

    recipients = {r["id"]: r for r in _recipients(manifest, channel_id)}
    out: list[dict[str, Any]] = []
    covered: set[str] = set()
    for i, t in enumerate(manifest.transfers):
        if t.importer_processor is not None:
            if t.importer_processor not in recipients:
                continue
            covered.add(t.importer_processor)
            importer = recipients[t.importer_processor]["name"]
        else:
            importer = next(
                (e.legal_name for e in manifest.entities if e.id == t.importer_entity),
                manifest.organization,
            )
        problem = _problem(manifest, "transfers", i, t.id)
        out.append(
            {
                "destination": t.destination,
                "importer": importer,
                "safeguard": t.safeguard.value,
                "valid": problem is None,
                "problem": problem,
            }
        )
    eea = adequacy().eea
    for i, p in enumerate(manifest.processors):
        if p.id not in recipients or p.id in covered:
            continue
        for place in dict.fromkeys(x for x in (p.country, *p.data_locations) if x):
            if place in eea:
                continue
            problem = _problem(manifest, "processors", i, p.id)
            out.append(
                {
                    "destination": place,
                    "importer": p.name,
                    "safeguard": p.transfer_safeguard.value if p.transfer_safeguard else None,
                    "valid": problem is None,
                    "problem": problem,
                }
            )
    return out


# --- the facts --------------------------------------------------------------------------


def _retention(book: PolicyBook, record: RecordView, language: str) -> dict[str, Any] | None:
    resolution = resolve_rule(book, record.channel, record.policy_version)
    if resolution.rule is None:
        return None
    rule = resolution.rule.rule
    start_code = rule.starts_from.value
    start = (record.clocks or {}).get(start_code) if start_code != "collection" else None
    if start_code == "collection":
        start = record.collected_at
    # the end: the clock plus the period (subtract_period of a negative period adds it)
    end = subtract_period(start, -rule.years, -rule.months, -rule.days) if start else None
    owners: list[str] = []
    manifest = _manifest_for(book, resolution.rule.rule_version)
    for pid in rule.processors_own_retention:
        try:
            owners.append(manifest.processor(pid).name)
        except KeyError:
            continue
    vocabulary = words()
    return {
        "years": rule.years,
        "months": rule.months,
        "days": rule.days,
        "start": vocabulary.STARTS.get(start_code, start_code),
        "start_on": long_date(start, language) if start_code != "collection" else "",
        "end_on": long_date(end, language),
        "ending": vocabulary.ENDINGS.get(rule.action.value, ""),
        "own_retention": owners,
    }


def _manifest_for(book: PolicyBook, version_id: str) -> Manifest:
    try:
        return book.get(version_id)
    except KeyError:
        return book.current


def _field_label(manifest: Manifest, key: str) -> str:
    try:
        return manifest.category(key).name
    except KeyError:
        return key.replace("_", " ").capitalize()


def _value(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(_value(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_value(v)}" for k, v in value.items())
    return "" if value is None else str(value)


def _part(book: PolicyBook, record: RecordView, language: str) -> dict[str, Any]:
    vocabulary = words()
    manifest = _manifest_for(book, record.policy_version)
    try:
        channel_name = manifest.channel(record.channel).name
    except KeyError:
        channel_name = record.channel
    purposes = []
    for pid in record.purposes:
        try:
            p = manifest.purpose(pid)
        except KeyError:
            purposes.append(
                {
                    "name": pid,
                    "description": "",
                    "basis": vocabulary.BASES.get(record.legal_basis, vocabulary.UNKNOWN_BASIS),
                    "interest": "",
                }
            )
            continue
        basis = p.legal_basis.value if p.legal_basis else record.legal_basis
        purposes.append(
            {
                "name": p.name,
                "description": (p.description or "").rstrip(". "),
                "basis": vocabulary.BASES.get(basis, vocabulary.UNKNOWN_BASIS),
                "interest": (p.legitimate_interest or "") if basis == "legitimate_interest" else "",
            }
        )
    recipients = [
        {
            "name": r["name"],
            "role": vocabulary.ROLES.get(r["role"], vocabulary.ROLES["recipient"]),
            "country": country_name(r["country"], language),
        }
        for r in _recipients(manifest, record.channel)
    ]
    transfers = [
        {
            "destination": country_name(t["destination"], language),
            "importer": t["importer"],
            "safeguard": (
                vocabulary.SAFEGUARDS.get(t["safeguard"], t["safeguard"])
                if t["safeguard"]
                else vocabulary.NO_SAFEGUARD_NAMED
            ),
            "valid": t["valid"],
            "problem": t["problem"] or "",
        }
        for t in _transfers(manifest, record.channel)
    ]
    categories = [_field_label(manifest, c) for c in record.data_categories]
    basis = vocabulary.BASES.get(record.legal_basis, vocabulary.UNKNOWN_BASIS)
    return {
        "record": record.id,
        "data": dict(record.data),
        "collected_at": record.collected_at.isoformat(),
        "policy_version": manifest.version.id,
        "source": {"channel": channel_name, "system": record.source_system},
        "legal_basis": basis,
        "channel": channel_name,
        "fields": [
            {"label": _field_label(manifest, k), "value": _value(v)} for k, v in record.data.items()
        ],
        "categories": categories,
        "collected_on": long_date(record.collected_at, language),
        "policy": manifest.version.label,
        "source_system": record.source_system or "",
        "purposes": purposes,
        "recipients": recipients,
        "retention": _retention(book, record, language),
        "transfers": transfers,
    }


def _systems(connectors: Sequence[ConnectorResult]) -> list[dict[str, Any]]:
    out = []
    for result in connectors:
        rows = [
            {
                "collection": collection,
                "fields": [
                    {"label": str(k).replace("_", " "), "value": _value(v)} for k, v in row.items()
                ],
            }
            for collection, items in result.records.items()
            for row in items
        ]
        out.append({"name": result.connector, "rows": rows})
    return out


def _actor(actor: str) -> str:
    """Who acted, without a name: ``staff:alice`` -> a member of staff."""
    vocabulary = words()
    kind = actor.split(":", 1)[0]
    return str(vocabulary.ACTORS.get(kind, vocabulary.SOMEONE))


def _action(action: str) -> str:
    vocabulary = words()
    if action in vocabulary.ACTIONS:
        return str(vocabulary.ACTIONS[action])
    for prefix, text in vocabulary.ACTION_PREFIXES.items():
        if action.startswith(prefix):
            return str(text)
    return str(vocabulary.OTHER_ACTION)


_BANNER_CATEGORIES = ("analytics", "advertising", "widgets")


def _consents(receipt: Mapping[str, Any] | None, manifest: Manifest) -> dict[str, Any]:
    if not receipt:
        return {"banner": [], "marketing": [], "receipt": False}
    names = words().CONSENT
    payload = receipt.get("receipt", receipt)  # the signed document wraps the payload
    banner = []
    for entry in payload.get("history", []):
        granted = [names[c] for c in _BANNER_CATEGORIES if entry["categories"].get(c)]
        refused = [names[c] for c in _BANNER_CATEGORIES if not entry["categories"].get(c)]
        banner.append(
            {
                "on": long_date(datetime.fromisoformat(entry["created_at"].replace("Z", "+00:00"))),
                "how": names.get(f"action:{entry['action']}", entry["action"]),
                "granted": granted,
                "refused": refused,
                "record": entry["record_id"],
            }
        )
    marketing = []
    for entry in payload.get("marketingEmail", []):
        try:
            purpose = manifest.purpose(entry["purpose"]).name
        except KeyError:
            purpose = entry["purpose"]
        moment = entry.get("withdrawn_at") or entry.get("confirmed_at") or entry["requested_at"]
        marketing.append(
            {
                "on": long_date(datetime.fromisoformat(moment.replace("Z", "+00:00"))),
                "purpose": purpose,
                "status": names.get(f"status:{entry['status']}", entry["status"]),
            }
        )
    return {"banner": banner, "marketing": marketing, "receipt": True}


@dataclass(frozen=True, slots=True)
class AnswerInputs:
    """What the answer is made from, gathered by the export step."""

    book: PolicyBook
    request_ref: str
    generated_at: datetime
    records: Sequence[RecordView]
    connectors: Sequence[ConnectorResult]
    authority: Authority
    requests_url: str
    complaints_url: str
    audit: Sequence[tuple[datetime, str, str]] = ()  # (when, actor, action)
    receipt: Mapping[str, Any] | None = None
    language: str = "en"


def access_answer(inputs: AnswerInputs) -> AccessAnswer:
    """Gather the facts and render the answer."""
    book, language = inputs.book, inputs.language
    manifest = book.current
    parts = [_part(book, r, language) for r in inputs.records]
    ads = any(
        p.tracker is not None and p.tracker.consent_category.value == "advertising"
        for p in manifest.processors
    )
    automated = manifest.automated_decisions
    context = {
        "controller": manifest.organization,
        "request_ref": inputs.request_ref,
        "generated_on": long_date(inputs.generated_at, language),
        "entities": [
            {"name": e.legal_name, "address": e.address or country_name(e.country)}
            for e in manifest.entities
            if {r.value for r in e.roles} & {"controller", "contact_point", "eea_representative"}
        ],
        "dpo": manifest.dpo,
        "parts": parts,
        "systems": _systems(inputs.connectors),
        "automated": {
            "used": automated.used,
            "statement": automated.statement if automated.used else "",
            "safeguards": list(automated.safeguards),
            "ad_profiling": ads,
        },
        "consent": _consents(inputs.receipt, manifest),
        "audit": [
            {"on": long_date(when, language), "who": _actor(actor), "what": _action(action)}
            for when, actor, action in inputs.audit
        ],
        "authority": inputs.authority,
        "requests_url": inputs.requests_url,
        "complaints_url": inputs.complaints_url,
        "request_email": manifest.rights.request_email
        or (manifest.dpo.email if manifest.dpo else ""),
    }
    markdown = MARKDOWN_ENV.get_template("access/answer.md.j2").render(context)
    blocks = to_blocks(markdown)
    title = next((b.text for b in blocks if b.kind == "title"), "")
    return AccessAnswer(markdown, blocks, parts, inputs.receipt, title)


# --- gathering --------------------------------------------------------------------------


_CONSENT: weakref.WeakKeyDictionary[RightsService, ConsentService] = weakref.WeakKeyDictionary()


def _consent_service(service: RightsService) -> ConsentService:
    """The consent service of the rights service's database and policy, made once (its banner
    and signing key are read on first use, then kept)."""
    found = _CONSENT.get(service)
    if found is None:
        from privacyops.consent.service import ConsentService

        found = _CONSENT[service] = ConsentService(service.settings, service.policy, service.db)
    return found


def answer_for(
    service: RightsService,
    session: Session,
    row: RightsRequest,
    records: Sequence[RecordView],
    connectors: Sequence[ConnectorResult],
    details: Mapping[str, Any],
) -> AccessAnswer:
    """The access answer of ``row``: its records and systems' answers, the person's consent
    receipt and the audit events about them, the authority a complaint goes to."""
    from privacyops.audit.models import AuditEvent
    from privacyops.errors import NotFound

    manifest = service.policy.current
    audit: list[tuple[datetime, str, str]] = []
    receipt: dict[str, Any] | None = None
    if row.subject_ref:
        events = session.scalars(
            sa.select(AuditEvent)
            .where(AuditEvent.subject_ref == row.subject_ref)
            .order_by(AuditEvent.seq)
        )
        audit = [(e.timestamp, e.actor, e.action) for e in events]
        try:
            receipt = _consent_service(service).receipt(subject_id=row.subject_ref, session=session)
        except NotFound:
            receipt = None
    country = details.get("country")
    base = service.settings.base_url.rstrip("/")
    return access_answer(
        AnswerInputs(
            book=service.policy,
            request_ref=row.public_id,
            generated_at=utcnow(),
            records=records,
            connectors=connectors,
            authority=answer_complaint(country, manifest.contact_point.country).authority,
            requests_url=f"{base}/privacy/requests/new",
            complaints_url=f"{base}/privacy/complaints",
            audit=audit,
            receipt=receipt,
        )
    )
