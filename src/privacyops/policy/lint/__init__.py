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

# Each rule family registers its rules in RULES on import.
from privacyops.policy.lint import (  # noqa: F401
    lawfulness,
    marketing,
    minimisation,
    profiling,
    retention,
    text,
    transfers,
    transparency,
)
from privacyops.policy.lint.base import RULES, Finding, Hit, Rule, Severity, readable
from privacyops.policy.lint.run import lint_book, lint_manifest

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
