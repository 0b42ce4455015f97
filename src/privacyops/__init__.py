"""privacyops: runs a company's privacy policy.

The policy manifest (``privacyops.policy``) is the single source of truth; the other packages
enforce it: consent, intake, data-subject rights, retention, connectors, and the audit log.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
