"""The service's Ed25519 key that signs consent receipts, and signature verification.

The private key lives in ``<data_dir>/consent-signing.key`` (PKCS#8 PEM, mode 0600), created on
first use. Its public half is published at ``/api/v1/consent/receipt-key`` and embedded in every
receipt; a receipt proves itself when its signature verifies under a key the verifier trusts
(the published one), see :func:`verify_document`.
"""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from privacyops.consent.banner import canonical_json
from privacyops.errors import ConfigurationError, VerificationFailed
from privacyops.settings import Settings

__all__ = [
    "ALGORITHM",
    "SigningKey",
    "key_id",
    "load_signing_key",
    "sign_document",
    "verify_document",
]

ALGORITHM = "Ed25519"
KEY_FILE_NAME = "consent-signing.key"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def key_id(public: Ed25519PublicKey) -> str:
    """A short, stable name of a public key: the first 16 hex digits of SHA-256 of its bytes."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


class SigningKey:
    """The service's receipt-signing key."""

    def __init__(self, private: Ed25519PrivateKey) -> None:
        self._private = private
        self.public = private.public_key()
        self.id = key_id(self.public)

    def __repr__(self) -> str:
        return f"SigningKey(id={self.id!r})"

    @property
    def public_b64(self) -> str:
        raw = self.public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return _b64(raw)

    def sign(self, data: bytes) -> bytes:
        return self._private.sign(data)


def load_signing_key(settings: Settings, *, create: bool = True) -> SigningKey:
    """The key in ``data_dir``, generated (and saved with mode 0600) when ``create`` and absent.

    Raises:
        ConfigurationError: the file is missing (and ``create`` is false) or is not an Ed25519
            private key.
    """
    path: Path = settings.data_dir / KEY_FILE_NAME
    if not path.exists():
        if not create:
            raise ConfigurationError(f"No consent signing key at {path}.")
        path.parent.mkdir(parents=True, exist_ok=True)
        private = Ed25519PrivateKey.generate()
        pem = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
        return SigningKey(private)
    try:
        loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except ValueError:
        raise ConfigurationError(f"{path} is not a PEM private key.") from None
    if not isinstance(loaded, Ed25519PrivateKey):
        raise ConfigurationError(f"{path} is not an Ed25519 key.")
    return SigningKey(loaded)


def sign_document(payload: dict[str, Any], key: SigningKey) -> dict[str, Any]:
    """Wrap ``payload`` with a detached Ed25519 signature over its canonical JSON."""
    signature = key.sign(canonical_json(payload))
    return {
        "receipt": payload,
        "signature": {
            "alg": ALGORITHM,
            "key_id": key.id,
            "public_key": key.public_b64,
            "canonicalization": "JSON, UTF-8, sorted keys, no whitespace",
            "value": _b64(signature),
        },
    }


def verify_document(
    document: Any, *, trusted_public_key: str | None = None
) -> tuple[dict[str, Any], str]:
    """Check a signed receipt; return its payload and the signing key's id.

    Args:
        document: the parsed JSON of a receipt file.
        trusted_public_key: base64url of the raw public key the verifier trusts (the service's
            published key). When given, a receipt signed by any other key fails.

    Raises:
        VerificationFailed: the shape is wrong, the key is not trusted, or the signature does
            not match the content (it was changed after signing).
    """
    if not isinstance(document, dict):
        raise VerificationFailed("Not a consent receipt: expected a JSON object.")
    payload, sig = document.get("receipt"), document.get("signature")
    if not isinstance(payload, dict) or not isinstance(sig, dict):
        raise VerificationFailed("Not a consent receipt: 'receipt' and 'signature' are required.")
    if sig.get("alg") != ALGORITHM:
        raise VerificationFailed(f"Unsupported signature algorithm; expected {ALGORITHM}.")
    public_text, value = sig.get("public_key"), sig.get("value")
    if not isinstance(public_text, str) or not isinstance(value, str):
        raise VerificationFailed("The signature block lacks 'public_key' or 'value'.")
    if trusted_public_key is not None and public_text != trusted_public_key:
        raise VerificationFailed("The receipt was signed by a key that is not the trusted one.")
    try:
        public = Ed25519PublicKey.from_public_bytes(_unb64(public_text))
        public.verify(_unb64(value), canonical_json(payload))
    except (ValueError, InvalidSignature):
        raise VerificationFailed(
            "The signature does not match: the receipt was altered or not signed by this key."
        ) from None
    return payload, key_id(public)
