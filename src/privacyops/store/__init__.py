"""The store: database engine and sessions, tables' base, migrations, encryption, registry.

Public API (stable; other packages build on it)::

    from privacyops.store import Base, Database, open_database

    db = open_database(settings)            # engine + master key + migrated schema
    with db.session() as session:           # commits on success, rolls back on error
        ...

    registry = Registry(db)                 # subjects, identities, encrypted records
    subject, record_id = registry.ingest(Submission(
        [IdentityIn("email", "ada@example.com")],
        RecordIn(channel="web_form", legal_basis="consent", policy_version="v3",
                 data_categories=["name", "email"], purposes=["answer-request"],
                 payload={"name": "Ada", "email": "ada@example.com"}),
    ))
    registry.find_subject("email", "ADA@example.com")     # -> subject
    registry.records_for(subject)                           # decrypted records
    registry.shred_subject(subject)                         # key destroyed, rows deleted

Domain tables subclass :class:`Base` in ``privacyops/<domain>/models.py``; their migration is
one Alembic revision in ``privacyops/store/migrations/versions`` (``docs/store.md``).
"""

from privacyops.store.base import NAMING_CONVENTION, Base, BigIntPK, UTCDateTime, utcnow
from privacyops.store.crypto import DecryptionError, new_key, open_sealed, seal, seal_many
from privacyops.store.db import Database, create_engine, load_models, open_database
from privacyops.store.keys import KeyRing, KeyStore, generate_master_key, load_master_key
from privacyops.store.registry import (
    IDENTITY_KINDS,
    IdentityIn,
    Record,
    RecordIn,
    Registry,
    Subject,
    Submission,
    normalise_identity,
)

__all__ = [
    "IDENTITY_KINDS",
    "NAMING_CONVENTION",
    "Base",
    "BigIntPK",
    "Database",
    "DecryptionError",
    "IdentityIn",
    "KeyRing",
    "KeyStore",
    "Record",
    "RecordIn",
    "Registry",
    "Subject",
    "Submission",
    "UTCDateTime",
    "create_engine",
    "generate_master_key",
    "load_master_key",
    "load_models",
    "new_key",
    "normalise_identity",
    "open_database",
    "open_sealed",
    "seal",
    "seal_many",
    "utcnow",
]
