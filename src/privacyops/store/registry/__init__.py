"""The personal-data registry: data subjects, their identities, their records, and the
restrictions, legal holds and suppressions that limit what may be done with them.

Every personal value is sealed with its subject's data key before it reaches the database, and
identities are found by blind index (HMAC), so the registry tables alone reveal nothing.
Destroying the subject's key (:meth:`Registry.shred_subject`) makes every copy unreadable.

The registry does not write audit events (the store sits below the audit layer): callers pass
their own ``session`` and append the event in the same transaction::

    with db.session() as session:
        subject, record_id = registry.ingest(submission, session=session)
        AuditLog(db).append("record.collect", subject_ref=subject.public_id, session=session)

One module per subject: :mod:`.subjects` (finding subjects by identity), :mod:`.resolution`
(intake: which subject a submission belongs to), :mod:`.reviews` (conflicts staff decide),
:mod:`.records`, :mod:`.restrictions` (Art. 18 restrictions, legal holds, marketing
suppression), :mod:`.erasure` (crypto-shredding); :mod:`.core` holds what they share.
"""

from privacyops.identities import IDENTITY_KINDS, normalise_identity
from privacyops.store.registry.records import RecordsPart
from privacyops.store.registry.resolution import ResolutionPart
from privacyops.store.registry.restrictions import RestrictionsPart
from privacyops.store.registry.reviews import ReviewsPart
from privacyops.store.registry.types import (
    IdentityIn,
    IdentityReviewView,
    Record,
    RecordIn,
    Subject,
    Submission,
)

__all__ = [
    "IDENTITY_KINDS",
    "IdentityIn",
    "IdentityReviewView",
    "Record",
    "RecordIn",
    "Registry",
    "Subject",
    "Submission",
    "normalise_identity",
]


class Registry(ResolutionPart, RecordsPart, RestrictionsPart, ReviewsPart):
    """The API over the registry tables of one :class:`~privacyops.store.Database`.

    Every method takes an optional ``session``: given, the work joins that transaction (the
    caller commits); omitted, the method commits on its own. Subject data keys are written to
    and destroyed in the key store immediately (before the registry transaction).
    """
