"""Semantic diff of two policy versions: what a reader of the policy must know changed.

Not a text diff: it compares the manifests fact by fact — entities and their roles (who
controls, who answers requests), processors, purposes and legal bases, what each channel
collects and for what, retention rules (old and new rule), recipients, transfers and their
safeguards, rights and general terms. Notes and wording (descriptions, section numbers) are
left out: a change of words that changes no fact is not a change of the policy.

    >>> d = diff_manifests(book.get("v1"), book.get("v2"))
    >>> print(d.to_text())
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, TypeVar

from pydantic import BaseModel

from privacyops.policy.schema import (
    Channel,
    Entity,
    EntityRole,
    Manifest,
    Processor,
    Purpose,
    Recipient,
    RetentionRule,
    Transfer,
)

__all__ = ["SECTIONS", "Change", "PolicyDiff", "diff_manifests"]

# Sections of a diff, in the order they are reported.
SECTIONS = (
    "entities",
    "processors",
    "purposes",
    "channels",
    "retention",
    "recipients",
    "transfers",
    "rights",
    "general",
)

_M = TypeVar("_M", Entity, Processor, Purpose, Channel, Recipient, Transfer)


@dataclass(frozen=True)
class Change:
    """One fact that differs between two versions.

    ``action`` is ``added``, ``removed`` or ``changed``; ``field`` names what changed inside
    the item (None when the whole item was added or removed); ``old``/``new`` are JSON values.
    """

    section: str
    action: str
    id: str
    summary: str
    field: str | None = None
    old: Any = None
    new: Any = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "section": self.section,
            "action": self.action,
            "id": self.id,
            "field": self.field,
            "old": self.old,
            "new": self.new,
            "summary": self.summary,
        }


@dataclass
class PolicyDiff:
    """All changes from version ``old`` to version ``new``."""

    old: str
    new: str
    changes: list[Change] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.changes)

    def in_section(self, section: str) -> list[Change]:
        return [c for c in self.changes if c.section == section]

    def to_dict(self) -> dict[str, Any]:
        return {
            "from": self.old,
            "to": self.new,
            "count": len(self.changes),
            "changes": [c.to_dict() for c in self.changes],
        }

    def to_text(self) -> str:
        """Readable report: one line per change, grouped by section."""
        lines = [f"Policy changes from {self.old} to {self.new}: {len(self.changes)}"]
        if not self.changes:
            lines.append("  (no semantic change)")
        mark = {"added": "+", "removed": "-", "changed": "~"}
        for section in SECTIONS:
            items = self.in_section(section)
            if not items:
                continue
            lines.append("")
            lines.append(section.capitalize())
            lines.extend(f"  {mark[c.action]} {c.summary}" for c in items)
        return "\n".join(lines) + "\n"


def _json(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_defaults=False)
    if isinstance(value, list):
        return [_json(v) for v in value]
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items()}
    if isinstance(value, Enum):
        return value.value
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)  # URLs, dates


def _fmt(value: Any) -> str:
    value = _json(value)
    if value is None or value == []:
        return "(none)"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items() if v not in (None, [], {}))
    return str(value)


def _by_id(items: Sequence[_M]) -> dict[str, _M]:
    return {i.id: i for i in items}


class _Differ:
    def __init__(self, old: Manifest, new: Manifest) -> None:
        self.old = old
        self.new = new
        self.changes: list[Change] = []

    def add(self, section: str, action: str, id_: str, summary: str, **kw: Any) -> None:
        self.changes.append(Change(section, action, id_, summary, **kw))

    def fields(
        self,
        section: str,
        id_: str,
        label: str,
        old: BaseModel,
        new: BaseModel,
        names: Sequence[str],
    ) -> None:
        """One change per field whose value differs."""
        for name in names:
            a, b = _json(getattr(old, name)), _json(getattr(new, name))
            if a == b:
                continue
            if isinstance(a, list) and isinstance(b, list) and name != "privacy_policy_urls":
                gone = [x for x in a if x not in b]
                came = [x for x in b if x not in a]
                if not gone and not came:  # only the order differs
                    continue
                parts = [f"+{_fmt(x)}" for x in came] + [f"-{_fmt(x)}" for x in gone]
                text = f"{label}: {name} {' '.join(parts)}"
            else:
                text = f"{label}: {name} {_fmt(a)} -> {_fmt(b)}"
            self.add(section, "changed", id_, text, field=name, old=a, new=b)

    def items(
        self,
        section: str,
        old: Sequence[_M],
        new: Sequence[_M],
        describe: Callable[[_M], str],
        names: Sequence[str],
    ) -> None:
        """Added, removed and changed items of one list, matched by id."""
        a, b = _by_id(old), _by_id(new)
        for id_, item in b.items():
            if id_ not in a:
                self.add(section, "added", id_, f"{id_}: {describe(item)}", new=_json(item))
        for id_, item in a.items():
            if id_ not in b:
                self.add(section, "removed", id_, f"{id_}: {describe(item)}", old=_json(item))
        for id_, item in b.items():
            if id_ in a:
                self.fields(section, id_, id_, a[id_], item, names)

    # --- sections ------------------------------------------------------------------------

    def entities(self) -> None:
        def describe(e: Entity) -> str:
            roles = ", ".join(r.value for r in e.roles)
            return f"{e.legal_name} ({e.country}; {roles})"

        self.items(
            "entities",
            self.old.entities,
            self.new.entities,
            describe,
            ["legal_name", "country", "address", "registration_number", "roles", "contact"],
        )

        def names(m: Manifest, role: EntityRole) -> list[str]:
            return [e.legal_name for e in m.entities_with(role)]

        for role, label in (
            (EntityRole.CONTROLLER, "controllers"),
            (EntityRole.EEA_REPRESENTATIVE, "EEA representative"),
        ):
            a, b = names(self.old, role), names(self.new, role)
            if a != b:
                self.add(
                    "entities",
                    "changed",
                    role.value,
                    f"{label}: {_fmt(a)} -> {_fmt(b)}",
                    field=role.value,
                    old=a,
                    new=b,
                )
        a_cp, b_cp = self.old.contact_point, self.new.contact_point
        if a_cp.legal_name != b_cp.legal_name:
            self.add(
                "entities",
                "changed",
                "contact_point",
                "contact point (answers requests): "
                f"{a_cp.legal_name} ({a_cp.country}) -> {b_cp.legal_name} ({b_cp.country})",
                field="contact_point",
                old=a_cp.legal_name,
                new=b_cp.legal_name,
            )
        if _json(self.old.dpo) != _json(self.new.dpo):
            self.add(
                "entities",
                "changed",
                "dpo",
                f"DPO: {_fmt(self.old.dpo)} -> {_fmt(self.new.dpo)}",
                field="dpo",
                old=_json(self.old.dpo),
                new=_json(self.new.dpo),
            )

    def processors(self) -> None:
        def describe(p: Processor) -> str:
            who = ", ".join(x for x in (p.legal_entity, p.country) if x)
            roles = ", ".join(r.value for r in p.roles)
            return f"{p.name}{f' ({who})' if who else ''}; {roles}"

        self.items(
            "processors",
            self.old.processors,
            self.new.processors,
            describe,
            [
                "name",
                "legal_entity",
                "country",
                "roles",
                "is_processor",
                "privacy_policy_urls",
                "tracker",
                "own_retention",
                "transfer_safeguard",
                "data_locations",
                "role",
                "arrangement",
                "tia",
            ],
        )

    def purposes(self) -> None:
        def describe(p: Purpose) -> str:
            basis = p.legal_basis.value if p.legal_basis else "no legal basis"
            return f"{p.name} ({basis})"

        self.items(
            "purposes",
            self.old.purposes,
            self.new.purposes,
            describe,
            [
                "legal_basis",
                "legitimate_interest",
                "consent_mechanism",
                "also_claimed_bases",
                "direct_marketing",
                "data_use",
                "categories",
            ],
        )

    def channels(self) -> None:
        def describe(c: Channel) -> str:
            return f"{c.name} (section {c.section})"

        self.items(
            "channels",
            self.old.channels,
            self.new.channels,
            describe,
            ["data_subjects", "categories", "purposes", "processors", "recipients"],
        )
        a, b = _by_id(self.old.channels), _by_id(self.new.channels)
        for id_, channel in b.items():
            old_rule = a[id_].retention if id_ in a else None
            self.retention(id_, old_rule, channel.retention)

    def retention(self, id_: str, old: RetentionRule | None, new: RetentionRule | None) -> None:
        def rule(r: RetentionRule | None) -> str:
            if r is None:
                return "(no retention rule)"
            stated = f' ("{r.as_stated}")' if r.as_stated else ""
            return f"{r.describe()}{stated}"

        keys = ("years", "months", "days", "starts_from", "action")
        a = {k: _json(getattr(old, k)) for k in keys} if old else None
        b = {k: _json(getattr(new, k)) for k in keys} if new else None
        if a != b:
            self.add(
                "retention",
                "changed",
                id_,
                f"{id_}: {rule(old)} -> {rule(new)}",
                field="rule",
                old=_json(old),
                new=_json(new),
            )
        if old and new:
            self.fields("retention", id_, id_, old, new, ["processors_own_retention"])

    def recipients(self) -> None:
        def describe(r: Recipient) -> str:
            return f"{r.name} ({r.kind.value})"

        self.items(
            "recipients",
            self.old.recipients,
            self.new.recipients,
            describe,
            ["name", "kind", "processors"],
        )

    def transfers(self) -> None:
        def describe(t: Transfer) -> str:
            to = t.importer_entity or t.importer_processor or "third parties"
            return f"to {t.destination} ({to}), safeguard {t.safeguard.value}"

        self.items(
            "transfers",
            self.old.transfers,
            self.new.transfers,
            describe,
            ["destination", "exporter", "importer_entity", "importer_processor", "safeguard"],
        )

    def rights(self) -> None:
        a = {r.kind.value: r for r in self.old.rights.offered}
        b = {r.kind.value: r for r in self.new.rights.offered}
        for kind in b.keys() - a.keys():
            self.add("rights", "added", kind, f"{kind}: {b[kind].title}")
        for kind in a.keys() - b.keys():
            self.add("rights", "removed", kind, f"{kind}: {a[kind].title}")
        for kind in sorted(a.keys() & b.keys()):
            self.fields("rights", kind, kind, a[kind], b[kind], ["grounds", "limitations"])
        self.fields(
            "rights",
            "terms",
            "request terms",
            self.old.rights,
            self.new.rights,
            [
                "response_months",
                "extension_months",
                "extension_reasons_told",
                "first_copy_free",
                "fee_for_excessive",
                "refusal_explained",
                "identity_documents_required",
                "delivery_format",
                "request_email",
                "limitations",
            ],
        )

    def general(self) -> None:
        self.fields(
            "general",
            "policy",
            "policy",
            self.old,
            self.new,
            [
                "organization",
                "storage_locations",
                "storage_processors",
                "security_measures",
                "age_limit",
                "automated_decisions",
                "spam_handling",
                "backups",
            ],
        )


def diff_manifests(old: Manifest, new: Manifest) -> PolicyDiff:
    """Every semantic change from ``old`` to ``new``, grouped by section (see :data:`SECTIONS`)."""
    d = _Differ(old, new)
    d.entities()
    d.processors()
    d.purposes()
    d.channels()
    d.recipients()
    d.transfers()
    d.rights()
    d.general()
    order = {s: i for i, s in enumerate(SECTIONS)}
    changes = sorted(d.changes, key=lambda c: order[c.section])  # stable within a section
    return PolicyDiff(old=old.version.id, new=new.version.id, changes=changes)
