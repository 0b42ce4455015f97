"""The store: database engine and sessions, tables' base, migrations, encryption, registry.

Public API (stable; other packages build on it)::

    from privacyops.store import Base, Database, open_database

    db = open_database(settings)            # engine + master key + migrated schema
    with db.session() as session:           # commits on success, rolls back on error
        ...

Domain tables subclass :class:`Base` in ``privacyops/<domain>/models.py``; their migration is
one Alembic revision in ``privacyops/store/migrations/versions`` (``docs/store.md``).
"""

from privacyops.store.base import NAMING_CONVENTION, Base, BigIntPK, UTCDateTime, utcnow
from privacyops.store.crypto import DecryptionError, new_key, open_sealed, seal
from privacyops.store.db import Database, create_engine, load_models, open_database
from privacyops.store.keys import KeyRing, KeyStore, generate_master_key, load_master_key

__all__ = [
    "NAMING_CONVENTION",
    "Base",
    "BigIntPK",
    "Database",
    "DecryptionError",
    "KeyRing",
    "KeyStore",
    "UTCDateTime",
    "create_engine",
    "generate_master_key",
    "load_master_key",
    "load_models",
    "new_key",
    "open_database",
    "open_sealed",
    "seal",
    "utcnow",
]
