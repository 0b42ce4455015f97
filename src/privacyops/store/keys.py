"""The master key, the keyring built on it, and the key store of subjects' data keys.

Key hierarchy::

    master key (settings.master_key, or the generated file settings.effective_master_key_file)
      ├── wraps one random data key per data subject   -> KeyStore (table ``subject_keys``)
      └── derives (HKDF) the blind-index key           -> HMAC of identities, suppression list

Crypto-shredding: :meth:`KeyStore.destroy` deletes a subject's wrapped data key. The key store
is kept apart from the registry (a separate SQLite file for the embedded default), so a copy or
backup of the registry holds only ciphertext whose key no longer exists anywhere. Back up the
master key (without it nothing decrypts); keep key-store backups on a short rotation, since a
key-store backup would keep erased subjects' keys alive until it expires.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import stat
from collections.abc import Iterable, Mapping
from contextlib import nullcontext
from typing import TYPE_CHECKING

import sqlalchemy as sa
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Engine

from privacyops.errors import ConfigurationError
from privacyops.store.base import UTCDateTime, utcnow
from privacyops.store.crypto import KEY_BYTES, blind_index, new_key, open_sealed, seal, seal_many
from privacyops.store.db import writing

if TYPE_CHECKING:
    from privacyops.settings import Settings

__all__ = ["KeyRing", "KeyStore", "generate_master_key", "load_master_key"]

log = logging.getLogger(__name__)

KEYS_METADATA = sa.MetaData()
subject_keys = sa.Table(
    "subject_keys",
    KEYS_METADATA,
    sa.Column("public_id", sa.String(32), primary_key=True),
    sa.Column("wrapped_key", sa.LargeBinary, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)


def generate_master_key() -> str:
    """A new master key, base64-encoded (what ``PRIVACYOPS_MASTER_KEY`` expects)."""
    return base64.b64encode(new_key()).decode()


def _decode_master_key(text: str, where: str) -> bytes:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ConfigurationError(f"The master key in {where} is not valid base64.") from None
    if len(key) != KEY_BYTES:
        raise ConfigurationError(
            f"The master key in {where} must be {KEY_BYTES} bytes (base64), not {len(key)}."
        )
    return key


def load_master_key(settings: Settings) -> bytes:
    """The master key from ``settings.master_key``, else from the key file, else a new key file.

    A new key file is created with owner-only permissions (0600) and a warning is logged: back
    it up, because without it no personal data can ever be decrypted again.

    Raises:
        ConfigurationError: the configured key or file is malformed.
    """
    if settings.master_key is not None:
        return _decode_master_key(settings.master_key.get_secret_value(), "PRIVACYOPS_MASTER_KEY")
    path = settings.effective_master_key_file
    if path.exists():
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            log.warning(
                "Master key file %s is readable by other users (mode %o); chmod 600 it.",
                path,
                mode,
            )
        return _decode_master_key(path.read_text(), str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    text = generate_master_key()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first: use theirs
        return _decode_master_key(path.read_text(), str(path))
    with os.fdopen(fd, "w") as handle:
        handle.write(text + "\n")
    log.warning(
        "Generated a new master key in %s. BACK IT UP somewhere safe and separate from the "
        "database: without it no personal data can be decrypted.",
        path,
    )
    return _decode_master_key(text, str(path))


class KeyRing:
    """Operations of the master key: wrap/unwrap subjects' data keys, compute blind indexes."""

    def __init__(self, master_key: bytes) -> None:
        if len(master_key) != KEY_BYTES:
            raise ConfigurationError(f"The master key must be {KEY_BYTES} bytes.")
        self._master = master_key
        self._index_key = HKDF(
            algorithm=hashes.SHA256(),
            length=KEY_BYTES,
            salt=None,
            info=b"privacyops blind index v1",
        ).derive(master_key)

    def __repr__(self) -> str:
        return "KeyRing(<master key hidden>)"

    def wrap(self, public_id: str, data_key: bytes) -> bytes:
        """Encrypt a subject's data key under the master key, bound to the subject's id."""
        return seal(self._master, data_key, b"subject-key:" + public_id.encode())

    def wrap_many(self, data_keys: Mapping[str, bytes]) -> dict[str, bytes]:
        """:meth:`wrap` many data keys (``public_id -> data key``) at once; the same output,
        with the master key's cipher set up once instead of per key (bulk intake)."""
        sealed = seal_many(
            self._master, ((k, b"subject-key:" + p.encode()) for p, k in data_keys.items())
        )
        return dict(zip(data_keys, sealed, strict=True))

    def unwrap(self, public_id: str, wrapped: bytes) -> bytes:
        """Decrypt a data key made by :meth:`wrap` for the same subject."""
        return open_sealed(self._master, wrapped, b"subject-key:" + public_id.encode())

    def blind_index(self, kind: str, normalised_value: str) -> bytes:
        """The HMAC that finds an identity (its kind and normalised value) without storing it."""
        return blind_index(self._index_key, kind, normalised_value)


class KeyStore:
    """Subjects' wrapped data keys, by subject public id.

    Lives in its own database (embedded default) or as the ``subject_keys`` table of the main
    database; it is deliberately not part of :class:`privacyops.store.Base`'s metadata, so that a
    copy of the registry tables carries no key.
    """

    def __init__(self, engine: Engine, *, owned: bool) -> None:
        self.engine = engine
        self._owned = owned

    def __repr__(self) -> str:
        return f"KeyStore({self.engine.url.render_as_string(hide_password=True)!r})"

    def create_schema(self) -> None:
        """Create the ``subject_keys`` table when it is missing."""
        KEYS_METADATA.create_all(self.engine, checkfirst=True)

    def put_many(
        self, wrapped: Mapping[str, bytes], *, connection: sa.Connection | None = None
    ) -> None:
        """Store wrapped keys (``public_id -> wrapped key``) in one transaction.

        With ``connection`` (a :attr:`shared` key store only) in that connection's transaction.
        """
        if not wrapped:
            return
        now = utcnow()
        rows = [{"public_id": p, "wrapped_key": w, "created_at": now} for p, w in wrapped.items()]
        if connection is not None:
            if not self.shared:
                raise ConfigurationError(
                    "The key store has its own database: no shared transaction."
                )
            connection.execute(subject_keys.insert(), rows)
            return
        with writing(self.engine).begin() as conn:
            conn.execute(subject_keys.insert(), rows)

    def get_many(
        self, public_ids: Iterable[str], *, connection: sa.Connection | None = None
    ) -> dict[str, bytes]:
        """The wrapped keys that still exist for these subjects (destroyed ones are absent).

        With ``connection`` (a :attr:`shared` key store) read in that connection's transaction.
        """
        ids = list(dict.fromkeys(public_ids))
        found: dict[str, bytes] = {}
        with nullcontext(connection) if connection is not None else self.engine.connect() as conn:
            for start in range(0, len(ids), 1000):
                chunk = ids[start : start + 1000]
                rows = conn.execute(
                    sa.select(subject_keys.c.public_id, subject_keys.c.wrapped_key).where(
                        subject_keys.c.public_id.in_(chunk)
                    )
                )
                found.update({row[0]: bytes(row[1]) for row in rows})
        return found

    @property
    def shared(self) -> bool:
        """Whether the keys are a table of the main database (not a database of their own):
        then a caller may destroy keys inside its own transaction (``connection=``)."""
        return not self._owned

    def destroy(
        self,
        public_ids: Iterable[str],
        *,
        purge: bool = True,
        connection: sa.Connection | None = None,
    ) -> int:
        """Delete these subjects' keys for good (crypto-shredding); returns how many existed.

        With ``purge`` the deleted bytes are also removed from the storage files now (SQLite:
        secure delete + WAL checkpoint; PostgreSQL: ``VACUUM`` of the key table) instead of
        waiting for routine maintenance. With ``connection`` (a :attr:`shared` key store only)
        the keys go in that connection's transaction, atomically with the caller's work.
        """
        ids = list(dict.fromkeys(public_ids))
        if not ids:
            return 0
        # ONE statement and ONE bound parameter however many keys: a PostgreSQL text array, or
        # a JSON list SQLite unpacks with json_each (no per-id parameters to compile and bind).
        column = subject_keys.c.public_id
        if self.engine.dialect.name == "postgresql":
            among = column == sa.any_(sa.bindparam(None, ids, type_=ARRAY(sa.String)))
        elif self.engine.dialect.name == "sqlite":
            values = sa.func.json_each(sa.bindparam(None, json.dumps(ids), type_=sa.Text))
            among = column.in_(sa.select(values.table_valued("value").c.value))
        else:
            among = column.in_(ids)
        if connection is not None:
            if not self.shared:
                raise ConfigurationError(
                    "The key store has its own database: no shared transaction."
                )
            deleted = connection.execute(subject_keys.delete().where(among)).rowcount
        else:
            with writing(self.engine).begin() as conn:
                deleted = conn.execute(subject_keys.delete().where(among)).rowcount
        if purge and deleted:
            self.purge()
        return deleted

    def purge(self) -> None:
        """Remove deleted keys' bytes from storage (see :meth:`destroy`)."""
        if self.engine.dialect.name == "sqlite":
            # secure_delete (on for every privacyops SQLite connection) zeroed the pages; the
            # checkpoint moves them out of the WAL file, outside any transaction.
            raw = self.engine.raw_connection()
            try:
                raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                raw.close()
        elif self.engine.dialect.name == "postgresql":
            with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM subject_keys")

    def dispose(self) -> None:
        """Close the key store's own connections (when it has its own database)."""
        if self._owned:
            self.engine.dispose()
