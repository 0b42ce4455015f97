"""The policy manifest: schema, loading, lint, diff, rendering and records of processing.

Public API::

    from privacyops.policy import Manifest, PolicyBook, default_policy_book, load_policy_book
"""

from privacyops.policy.loader import (
    default_policy_book,
    load_configured_policy,
    load_manifest,
    load_policy_book,
)
from privacyops.policy.schema import Manifest, PolicyBook

__all__ = [
    "Manifest",
    "PolicyBook",
    "default_policy_book",
    "load_configured_policy",
    "load_manifest",
    "load_policy_book",
]
