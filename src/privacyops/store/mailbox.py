"""The local outbox: mail kept, sealed, in the database while no SMTP server is configured.

:mod:`privacyops.mail` hands a message here when ``Settings.effective_mail_transport`` is
``outbox`` (the embedded default); staff read it at ``/dashboard/outbox``, a reading the web
tier audits. Each message is sealed with a data key of its own, wrapped by the master key, so
the table holds no personal data in plaintext.
"""

from __future__ import annotations

import json
import weakref
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa

from privacyops.mail import register_local_outbox
from privacyops.store.crypto import new_key, open_sealed, seal
from privacyops.store.models import LocalMail

if TYPE_CHECKING:
    from privacyops.store.db import Database

__all__ = ["KeptMail", "LocalMailbox", "kept_mail"]


@dataclass(frozen=True, slots=True)
class KeptMail:
    """One kept message, opened."""

    id: int
    created_at: datetime
    to: str
    subject: str
    body: str
    message_id: str


def _key_id(mail_id: int) -> str:
    return f"local-mail:{mail_id}"


def _aad(mail_id: int) -> bytes:
    return f"local-mail:{mail_id}".encode()


class LocalMailbox:
    """Keeps messages for one database (held weakly: the database's owner decides its life)."""

    def __init__(self, db: Database) -> None:
        self._db = weakref.ref(db)

    def keep(self, to: str, subject: str, body: str, message_id: str) -> bool:
        """Store one message; False when the database is gone (the caller then fails)."""
        db = self._db()
        if db is None:
            return False
        key = new_key()
        text = json.dumps({"to": to, "subject": subject, "body": body, "message_id": message_id})
        with db.session() as session:
            row = LocalMail(data_key=b"", sealed=b"")
            session.add(row)
            session.flush()
            row.data_key = db.keyring.wrap(_key_id(row.id), key)
            row.sealed = seal(key, text.encode(), _aad(row.id))
        return True


def attach_local_outbox(db: Database, database_url: str) -> None:
    """Make :mod:`privacyops.mail` keep mail for ``database_url`` in ``db``."""
    register_local_outbox(database_url, LocalMailbox(db).keep)


def kept_mail(db: Database, *, limit: int = 50) -> list[KeptMail]:
    """The newest kept messages, opened (the caller audits the reading)."""
    with db.read_session() as session:
        rows = session.scalars(
            sa.select(LocalMail).order_by(LocalMail.id.desc()).limit(limit)
        ).all()
        out: list[KeptMail] = []
        for row in rows:
            key = db.keyring.unwrap(_key_id(row.id), row.data_key)
            data = json.loads(open_sealed(key, row.sealed, _aad(row.id)))
            out.append(
                KeptMail(
                    row.id,
                    row.created_at,
                    data["to"],
                    data["subject"],
                    data["body"],
                    data["message_id"],
                )
            )
    return out
