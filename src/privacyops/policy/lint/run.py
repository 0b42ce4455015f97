"""Running the rules over a manifest or a policy book, and applying the DPO's waivers."""

from __future__ import annotations

from dataclasses import replace

from privacyops.policy.lint.base import RULES, Finding, Rule, Severity, readable
from privacyops.policy.loader import source_map
from privacyops.policy.schema import Manifest, PolicyBook, Waiver

__all__ = ["UNUSED_WAIVER", "lint_book", "lint_manifest"]

#: The rule id of the finding that reports a waiver matching no finding.
UNUSED_WAIVER = "waiver-matches-nothing"


def _matches(w: Waiver, f: Finding) -> bool:
    return w.rule == f.rule and (w.where is None or w.where == f.where)


def _apply_waivers(m: Manifest, findings: list[Finding]) -> list[Finding]:
    """Mark each waived finding (never drop it) and report each waiver that waives nothing."""
    out = []
    used: set[int] = set()
    for f in findings:
        for j, w in enumerate(m.waivers):
            if _matches(w, f):
                used.add(j)
                f = replace(f, waiver=w)
                break
        out.append(f)
    smap = source_map(m)
    for j, w in enumerate(m.waivers):
        if j in used:
            continue
        loc = ("waivers", j)
        position = smap.locate(loc) if smap else None
        target = f"{w.rule} at {w.where}" if w.where else w.rule
        out.append(
            Finding(
                rule=UNUSED_WAIVER,
                severity=Severity.WARNING,
                article="GDPR Art. 5(2)",
                version=m.version.id,
                where=readable(m, loc),
                reason=f"the waiver of {target} ({w.date.isoformat()}, {w.by}) matches no "
                "finding: the problem was fixed or the waiver is misspelt; remove it or "
                "correct it, so that no waiver stands without a finding to answer",
                loc=loc,
                file=smap.file if smap else None,
                line=position.line if position else None,
                column=position.column if position else None,
            )
        )
    return out


def lint_manifest(m: Manifest, rules: list[Rule] | None = None) -> list[Finding]:
    """Every finding of ``rules`` (default: all registered) on one version, waivers applied."""
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
    if rules is None and m.waivers:
        findings = _apply_waivers(m, findings)
    elif m.waivers:
        findings = [f for f in _apply_waivers(m, findings) if f.rule != UNUSED_WAIVER]
    return findings


def lint_book(book: PolicyBook, rules: list[Rule] | None = None) -> list[Finding]:
    """Every finding on every version of the book, oldest version first."""
    out: list[Finding] = []
    for m in book.versions:
        out.extend(lint_manifest(m, rules))
    return out
