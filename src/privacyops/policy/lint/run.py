"""Running the rules over a manifest or a policy book."""

from __future__ import annotations

from privacyops.policy.lint.base import RULES, Finding, Rule, readable
from privacyops.policy.loader import source_map
from privacyops.policy.schema import Manifest, PolicyBook


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
