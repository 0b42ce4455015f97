"""The names of audit actions, so every package records the same act the same way.

``retention replay`` finds erasures by these names after a restore: use :data:`SUBJECT_ERASE`
when a data subject is erased for any reason. Add names here rather than spelling new ones
inline.
"""

from __future__ import annotations

__all__ = [
    "AUDIT_VERIFY",
    "BREACH_LETTER",
    "BREACH_RECORD",
    "BREACH_UPDATE",
    "CONFIG_CHANGE",
    "CONSENT_CHANGE",
    "CONTRACT_RECORD",
    "DPIA_RECORD",
    "HOLD_ADD",
    "HOLD_LIFT",
    "IDENTITY_DECIDE",
    "IDENTITY_REVIEW",
    "MARKETING_SEND",
    "RECORD_COLLECT",
    "RECORD_EXPORT",
    "RECORD_READ",
    "RECORD_UPDATE",
    "RESTRICTION_ADD",
    "RESTRICTION_LIFT",
    "RETENTION_BATCH",
    "RETENTION_RUN",
    "SUBJECT_ERASE",
    "SUPPRESSION_ADD",
]

RECORD_COLLECT = "record.collect"  #: a channel stored personal data
RECORD_READ = "record.read"  #: staff or a process read personal data
RECORD_EXPORT = "record.export"  #: personal data left the system (access, portability)
RECORD_UPDATE = "record.update"  #: rectification (Art. 16) or a clock event
SUBJECT_ERASE = "subject.erase"  #: a subject was crypto-shredded (Art. 17, retention, age gate)
CONSENT_CHANGE = "consent.change"  #: consent given, refused or withdrawn
RESTRICTION_ADD = "restriction.add"  #: Art. 18 restriction started
RESTRICTION_LIFT = "restriction.lift"
HOLD_ADD = "hold.add"  #: legal hold placed
HOLD_LIFT = "hold.lift"
AUDIT_VERIFY = "audit.verify"  #: staff recomputed the hash chain (details: the result)
SUPPRESSION_ADD = "suppression.add"  #: address put on the marketing suppression list
MARKETING_SEND = "consent.marketing.send"  #: a marketing message passed consent check and left
RETENTION_BATCH = "retention.batch"  #: one chunk of a retention sweep
RETENTION_RUN = "retention.run"  #: a retention run started or finished
CONFIG_CHANGE = "config.change"  #: settings, policy version or keys changed
IDENTITY_REVIEW = "identity.review"  #: a submission's identities conflict: held for staff
IDENTITY_DECIDE = "identity.decide"  #: staff merged a held submission or kept it apart
BREACH_RECORD = "breach.record"  #: a personal-data breach entered in the register
BREACH_UPDATE = "breach.update"  #: a breach's facts, risk or notification changed
BREACH_LETTER = "breach.letter"  #: letters to the people a breach affects were sent (Art. 34)
DPIA_RECORD = "dpia.record"  #: a DPIA record added or replaced (Art. 35)
CONTRACT_RECORD = "contract.record"  #: a processor contract or TIA recorded (Art. 28, 46)
