"""The audit log: append-only, hash-chained evidence of every act on personal data.

Public API (stable)::

    from privacyops.audit import AuditLog, NewEvent

    log = AuditLog(db)
    log.append("record.collect", actor="intake:web_form", subject_ref=subject.public_id)
    log.append_many([NewEvent("retention.expire", subject_ref=p) for p in ids])
    result = log.verify()      # result.ok, result.first_broken_seq, result.problem

Action names live in :mod:`privacyops.audit.actions` (``actions.SUBJECT_ERASE`` ...).
"""

from privacyops.audit import actions
from privacyops.audit.log import (
    GENESIS_HASH,
    AuditLog,
    NewEvent,
    VerifyResult,
    chain_hash,
    format_ts,
)
from privacyops.audit.models import AuditEvent, AuditHead

__all__ = [
    "GENESIS_HASH",
    "AuditEvent",
    "AuditHead",
    "AuditLog",
    "NewEvent",
    "VerifyResult",
    "actions",
    "chain_hash",
    "format_ts",
]
