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

# Each rule family registers its rules in RULES on import, in the order below (the order
# findings are reported in): lawfulness first, the text itself last.
# isort: off
from privacyops.policy.lint import lawfulness  # noqa: F401
from privacyops.policy.lint import marketing  # noqa: F401
from privacyops.policy.lint import retention  # noqa: F401
from privacyops.policy.lint import minimisation  # noqa: F401
from privacyops.policy.lint import transfers  # noqa: F401
from privacyops.policy.lint import transparency  # noqa: F401
from privacyops.policy.lint import information  # noqa: F401
from privacyops.policy.lint import rights  # noqa: F401
from privacyops.policy.lint import profiling  # noqa: F401
from privacyops.policy.lint import text  # noqa: F401

# isort: on
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
