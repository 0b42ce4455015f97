"""Field encryption (AES-256-GCM) and blind indexes (HMAC-SHA256).

A sealed value is ``version byte || 12-byte nonce || ciphertext+tag``. The associated data binds
a ciphertext to its owner and use (for example ``b"record:" + subject public id``), so a
ciphertext copied into another subject's row does not decrypt there.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Iterable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from privacyops.errors import ConfigurationError

__all__ = [
    "KEY_BYTES",
    "DecryptionError",
    "blind_index",
    "new_key",
    "open_sealed",
    "seal",
    "seal_many",
]

KEY_BYTES = 32
_VERSION = b"\x01"
_NONCE_BYTES = 12


class DecryptionError(ConfigurationError):
    """Raised when a sealed value does not decrypt: wrong key, wrong owner, or tampered bytes.

    (A :class:`privacyops.errors.ConfigurationError`: in normal operation it means the master key
    or key store does not belong to this database.)
    """


def new_key() -> bytes:
    """A fresh random 256-bit key."""
    return os.urandom(KEY_BYTES)


def _seal_with(aead: AESGCM, plaintext: bytes, aad: bytes) -> bytes:
    nonce = os.urandom(_NONCE_BYTES)  # random 96-bit nonce per value (NIST SP 800-38D 8.2.2)
    return _VERSION + nonce + aead.encrypt(nonce, plaintext, aad)


def seal(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """Encrypt and authenticate ``plaintext`` under ``key``, bound to ``aad``."""
    return _seal_with(AESGCM(key), plaintext, aad)


def seal_many(key: bytes, items: Iterable[tuple[bytes, bytes]]) -> list[bytes]:
    """:func:`seal` each ``(plaintext, aad)`` pair under the same ``key``, in order.

    The same output as calling :func:`seal` for each pair (each value gets its own random
    nonce), with the key schedule set up once: the fast path for bulk writes.
    """
    aead = AESGCM(key)
    return [_seal_with(aead, plaintext, aad) for plaintext, aad in items]


def open_sealed(key: bytes, sealed: bytes, aad: bytes) -> bytes:
    """Decrypt a value made by :func:`seal`.

    Raises:
        DecryptionError: the key, the associated data or the bytes do not match.
    """
    if len(sealed) < 1 + _NONCE_BYTES + 16 or sealed[:1] != _VERSION:
        raise DecryptionError("Encrypted value has an unknown format.")
    nonce = sealed[1 : 1 + _NONCE_BYTES]
    try:
        return AESGCM(key).decrypt(nonce, sealed[1 + _NONCE_BYTES :], aad)
    except InvalidTag:
        raise DecryptionError("Encrypted value does not decrypt with this key.") from None


def blind_index(index_key: bytes, kind: str, normalised_value: str) -> bytes:
    """The keyed hash that finds an identity without storing it in plaintext (32 bytes)."""
    message = kind.encode() + b"\x00" + normalised_value.encode()
    return hmac.new(index_key, message, hashlib.sha256).digest()
