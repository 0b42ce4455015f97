"""Identity verification: one-time codes, the senders that deliver them, and rate limits.

A request is verified by a one-time code sent to the e-mail address it names (SMTP). The
policy's "two trusted IDs" (§9) become a second factor, chosen by the ``second_factor``
setting, required before an export is released or an erasure runs:

* ``phone_code``: a second code sent to a phone number through a :class:`PhoneSender`;
* ``staff_review``: a staff member reviews an identity document sent by the person;
* ``none``: the e-mail code is enough (for deployments that accept that risk).

Codes are six digits, random (``secrets``), kept only as a keyed hash (HMAC with a key derived
from the master key, so a copy of the database does not let anyone try all codes offline),
expire after ``otp_ttl_seconds`` and lock after ``otp_max_attempts`` wrong tries.
"""

from __future__ import annotations

import hashlib
import hmac
import importlib
import json
import secrets
import threading
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

import sqlalchemy as sa

from privacyops.errors import ConfigurationError, RateLimited
from privacyops.mail import Message
from privacyops.rights.models import RateBucket
from privacyops.settings import Settings
from privacyops.store import Database, utcnow

__all__ = [
    "CODE_DIGITS",
    "EmailSender",
    "FilePhoneSender",
    "Message",
    "PhoneSender",
    "check_rate",
    "keyed_hash",
    "load_phone_sender",
    "new_code",
    "new_token",
]

CODE_DIGITS = 6


def new_code() -> str:
    """A random six-digit one-time code."""
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def new_token() -> str:
    """A random bearer token (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def keyed_hash(key: bytes, purpose: str, value: str) -> bytes:
    """HMAC-SHA256 of ``value`` for one ``purpose`` (codes, tokens, rate-limit keys)."""
    return hmac.new(key, f"{purpose}\x1f{value}".encode(), hashlib.sha256).digest()


class EmailSender(Protocol):
    """Delivers e-mail (the first factor, answers, download links)."""

    def send(self, message: Message) -> None: ...


class PhoneSender(Protocol):
    """Delivers a short text to a phone number (second factor, export passwords).

    Implement ``send`` for an SMS gateway and name the class in the ``phone_sender`` setting
    (``"package.module:ClassName"``; the class is built with the settings).
    """

    def send(self, message: Message) -> None: ...


class FilePhoneSender:
    """A phone sender for development and tests: appends each text as a JSON line to
    ``<data_dir>/phone-outbox.jsonl`` instead of sending an SMS."""

    _lock = threading.Lock()

    def __init__(self, settings: Settings) -> None:
        self.path: Path = settings.data_dir / "phone-outbox.jsonl"

    def __repr__(self) -> str:
        return f"FilePhoneSender({str(self.path)!r})"

    def send(self, message: Message) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps({"to": message.to, "text": message.body, "at": utcnow().isoformat()})
        with self._lock, self.path.open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")


def load_phone_sender(settings: Settings) -> PhoneSender:
    """The phone sender the ``phone_sender`` setting names (``"file"`` or ``"module:Class"``)."""
    name = settings.phone_sender
    if name == "file":
        return FilePhoneSender(settings)
    module_name, _, class_name = name.partition(":")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError, ValueError):
        raise ConfigurationError(
            "The phone_sender setting names no importable class ('module:Class')."
        ) from None
    sender: PhoneSender = cls(settings)
    return sender


def check_rate(
    db: Database,
    key: bytes,
    *,
    limit: int,
    window: timedelta,
    now: datetime | None = None,
) -> None:
    """Count one event against a fixed-window limit shared by every process.

    The count commits in its own transaction, so it holds even when the caller's work then
    fails and rolls back (a wrong code still counts).

    Raises:
        RateLimited: the window already holds ``limit`` events (nothing is counted then).
    """
    now = now or utcnow()
    for _ in range(3):
        try:
            with db.session() as session:  # a write session: waits its turn, never BUSY
                bucket = session.get(RateBucket, key, with_for_update=True)
                if bucket is None:
                    session.add(RateBucket(key=key, window_start=now, count=1))
                    return
                if now - bucket.window_start >= window:
                    bucket.window_start = now
                    bucket.count = 1
                    return
                if bucket.count >= limit:
                    retry = int((bucket.window_start + window - now).total_seconds()) + 1
                    raise RateLimited(retry_after=max(retry, 1))
                bucket.count += 1
                return
        except sa.exc.IntegrityError:  # a concurrent first hit created the row: count again
            continue
    raise RateLimited(retry_after=1)
