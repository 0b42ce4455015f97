"""Staff roles and API scopes: plain data, importable without the database or argon2."""

from __future__ import annotations

__all__ = ["ROLES", "ROLE_SCOPES", "SCOPES"]

#: Roles, most powerful first. ``admin`` may do everything; ``auditor`` only reads.
ROLES: tuple[str, ...] = ("admin", "dpo", "operator", "auditor")

#: API scopes and what each allows. ``*:read`` scopes only read.
SCOPES: dict[str, str] = {
    "requests:read": "read data-subject requests and their clocks",
    "requests:write": "act on data-subject requests (verify, approve, refuse, extend)",
    "intake:read": "read submissions and the spam review queue",
    "intake:write": "submit and review intake records",
    "consent:read": "read consent records and statistics",
    "consent:write": "record consent on behalf of a site",
    "retention:read": "read the retention forecast and legal holds",
    "retention:write": "place and lift legal holds, run retention",
    "audit:read": "read and verify the audit log",
    "policy:read": "read policy versions, lint findings, RoPA",
    "breaches:read": "read the breach register: deadlines, affected counts, draft notifications",
    "breaches:write": "record and assess breaches, note notifications, send letters to people",
    "dpia:read": "read the DPIA screening of the policy and the DPIA records",
    "dpia:write": "record DPIAs",
    "metrics:read": "scrape /metrics",
    "text:scan": "scan free text for personal data, find a person in texts, redact them",
    "admin": "manage staff accounts and tokens",
}

#: The scopes a logged-in member of staff has through a browser session, by role.
ROLE_SCOPES: dict[str, frozenset[str]] = {
    "admin": frozenset(SCOPES),
    # /metrics is for admins and monitoring tokens; other staff have no use for it.
    "dpo": frozenset(s for s in SCOPES if s not in ("admin", "metrics:read")),
    "operator": frozenset(
        {
            "requests:read",
            "requests:write",
            "intake:read",
            "intake:write",
            "consent:read",
            "retention:read",
            "policy:read",
            "text:scan",
        }
    ),
    "auditor": frozenset(s for s in SCOPES if s.endswith(":read") and s != "metrics:read"),
}
