"""The lint's vocabulary: a :class:`Rule` yields :class:`Hit` objects; :func:`register` adds it to
:data:`RULES`; the runner turns hits into :class:`Finding` objects."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar

from privacyops.policy.schema import (
    Manifest,
    Waiver,
)
from privacyops.policy.source import Loc

__all__ = [
    "RULES",
    "Finding",
    "Hit",
    "Rule",
    "Severity",
    "channels_using",
    "name_list",
    "readable",
    "register",
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
    #: The DPO's waiver of this finding, when the manifest records one: the finding is still
    #: reported, with the waiver, and no longer fails the lint.
    waiver: Waiver | None = None

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
            "waiver": (
                None
                if self.waiver is None
                else {
                    "reason": self.waiver.reason,
                    "by": self.waiver.by,
                    "date": self.waiver.date.isoformat(),
                }
            ),
        }

    @property
    def waived(self) -> bool:
        return self.waiver is not None


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


def name_list(items: list[str], limit: int = 6) -> str:
    if len(items) <= limit:
        return ", ".join(items)
    return ", ".join(items[:limit]) + f" and {len(items) - limit} more"


def channels_using(m: Manifest, purpose_id: str) -> list[str]:
    return [c.id for c in m.channels if purpose_id in c.purposes]
