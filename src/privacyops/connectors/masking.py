"""Masking strategies erasure applies to a field, one small class each behind a registry."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
from typing import Any, ClassVar

from privacyops.connectors.dataset import Masking

__all__ = ["MaskingStrategy", "strategy_for"]

_ALPHABET = string.ascii_letters + string.digits


class MaskingStrategy:
    """Turns a field's value into its erased form.

    ``constant`` is True when every row gets the same value, so one ``UPDATE … WHERE key IN``
    masks them all; otherwise values are computed per row and written in one batched statement.
    """

    name: ClassVar[str]
    constant: ClassVar[bool] = True

    def __init__(self, spec: Masking, salt: bytes) -> None:
        self.spec = spec
        self.salt = salt

    def mask(self, value: Any) -> Any:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


class Nullify(MaskingStrategy):
    """Writes NULL."""

    name = "nullify"

    def mask(self, value: Any) -> Any:
        return None


class FixedString(MaskingStrategy):
    """Writes the configured text, e.g. ``"REDACTED"``."""

    name = "fixed_string"

    def mask(self, value: Any) -> Any:
        return self.spec.value


class RandomString(MaskingStrategy):
    """Writes random letters and digits (``length``, default 16)."""

    name = "random_string"
    constant = False

    def mask(self, value: Any) -> Any:
        if value is None:
            return None
        return "".join(secrets.choice(_ALPHABET) for _ in range(self.spec.length or 16))

    def __repr__(self) -> str:
        return f"<RandomString length={self.spec.length or 16}>"


class KeyedHash(MaskingStrategy):
    """Writes HMAC-SHA256(salt, value) in hex, cut to ``length``: equal inputs stay equal (so
    counts and joins on the column survive) while the value cannot be recovered without the
    salt."""

    name = "hash"
    constant = False

    def mask(self, value: Any) -> Any:
        if value is None:
            return None
        digest = hmac.new(self.salt, str(value).encode("utf-8"), hashlib.sha256).hexdigest()
        return digest[: self.spec.length] if self.spec.length else digest

    def __repr__(self) -> str:
        return f"<KeyedHash hmac-sha256 length={self.spec.length or 64}>"


_REGISTRY: dict[str, type[MaskingStrategy]] = {
    cls.name: cls for cls in (Nullify, FixedString, RandomString, KeyedHash)
}


def strategy_for(spec: Masking, salt: bytes) -> MaskingStrategy:
    """The strategy object for a field's ``masking`` (``delete_row`` is handled by erasure
    itself, not here)."""
    return _REGISTRY[spec.strategy](spec, salt)
