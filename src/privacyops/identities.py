"""Identity values: how an e-mail address, a phone number and the other ways people are
recognised are checked and normalised. The one place that says it; intake, rights, consent,
accounts, the spam filter, the connectors and the registry all use it.

Two forms of a value:

- the *stored* form a channel keeps (:func:`email_address`: email-validator's normal form, the
  local part as given; :func:`phone_number`: E.164);
- the *key* two spellings of one identity compare equal in (:func:`normalise_identity`: e-mail
  lower-cased, phone in E.164 or its digits, names case-folded, LinkedIn URLs without scheme).
  The registry's blind index is the HMAC of the key, so the key of a kind never changes.

Errors never repeat the value (it is personal data and goes to logs): :class:`InvalidIdentity`
carries the kind and a short ``problem`` phrase.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from functools import lru_cache

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from email_validator.rfc_constants import CASE_INSENSITIVE_MAILBOX_NAMES

from privacyops.errors import InvalidInput

__all__ = [
    "IDENTIFYING_KINDS",
    "IDENTITY_KINDS",
    "InvalidIdentity",
    "email_address",
    "email_key",
    "identifies",
    "identity_values",
    "normalise_identity",
    "phone_number",
]

#: Kinds of identity the registry knows (a category's ``identity_kind`` in the manifest).
IDENTITY_KINDS: tuple[str, ...] = (
    "email",
    "phone",
    "name",
    "name_company",
    "skype",
    "linkedin",
    "visitor_id",
    "customer_id",
    "account_id",
)

#: Kinds that identify one person on their own when the manifest does not say (a category's
#: ``identifies``): values issued to one person, by us (customer and account ids) or by a
#: provider to one account holder (an e-mail address, a Skype id, a LinkedIn profile). The other
#: kinds only corroborate: a phone line is shared by a switchboard, an office or a family, a name
#: and a company by many people, a browser's visitor id by everyone who uses that browser.
IDENTIFYING_KINDS: frozenset[str] = frozenset(
    {"email", "customer_id", "account_id", "skype", "linkedin"}
)


def identifies(kind: str, declared: bool | None = None) -> bool:
    """Whether an identity of this kind identifies a person on its own: what the manifest
    ``declared`` for its category, else the default (:data:`IDENTIFYING_KINDS`)."""
    return declared if declared is not None else kind in IDENTIFYING_KINDS


_LABELS = {"email": "e-mail address", "phone": "phone number"}
_SPACES = re.compile(r"\s+")
# An unquoted ASCII local part (RFC 5322 §3.2.3 dot-atom): the common case, checked here so that
# email-validator's per-address work is done once per domain (see email_address).
_DOT_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_MAILBOXES = frozenset(CASE_INSENSITIVE_MAILBOX_NAMES)
# local@domain, no spaces: the shape a staff login address must have (it may be @localhost).
_EMAIL_SHAPE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,189}$")
_PHONE_HINT = "an international number like +47 21 92 93 00"


class InvalidIdentity(InvalidInput):
    """An identity value that is not one; ``problem`` says what is wrong without the value
    (e.g. ``"is not a valid e-mail address"``)."""

    def __init__(self, kind: str, problem: str, *, hint: str | None = None) -> None:
        label = _LABELS.get(kind, kind)
        super().__init__(
            f"The {label} is not valid.",
            details=[{"loc": [kind], "msg": hint or problem.removeprefix("is ")}],
        )
        self.kind = kind
        self.problem = problem


@lru_cache(maxsize=4096)
def _email_domain(domain: str) -> str:
    """The domain as email-validator normalises it; cached, since the same few domains recur
    across a CRM import."""
    try:
        result = validate_email(f"a@{domain}", check_deliverability=False)
    except EmailNotValidError:
        raise InvalidIdentity("email", "is not a valid e-mail address") from None
    return str(result.domain)


def email_address(value: str) -> str:
    """A valid e-mail address in email-validator's normal form: the domain lower-cased (and
    IDNA-normalised), the local part kept as given (RFC 5321 §2.4) except role mailboxes
    (RFC 2142), which are case-insensitive. Deliverability (DNS) is not checked.

    Raises:
        InvalidIdentity: not an e-mail address.
    """
    if not isinstance(value, str):
        raise InvalidIdentity("email", "is not a valid e-mail address")
    text = unicodedata.normalize("NFC", value).strip()
    local, at, domain = text.rpartition("@")
    if at and len(local) <= 64 and len(text) <= 254 and _DOT_ATOM.fullmatch(local):
        # Fast path with the same result: the local part needs no normalisation, and the
        # domain is checked and normalised by email-validator (once per domain).
        if local.lower() in _MAILBOXES:
            local = local.lower()
        return f"{local}@{_email_domain(domain)}"
    try:
        result = validate_email(text, check_deliverability=False)
    except EmailNotValidError:
        raise InvalidIdentity("email", "is not a valid e-mail address") from None
    return str(result.normalized)


def email_key(value: str, *, check: bool = False) -> str:
    """The form two spellings of one address compare equal in: no spaces, lower case. With
    ``check``, the value must also look like ``local@domain`` (a staff login, which may be
    ``@localhost``, so not :func:`email_address`).

    Raises:
        InvalidIdentity: empty, or (``check``) not shaped like an address.
    """
    if check:
        text = value.strip().lower()
        if not _EMAIL_SHAPE.match(text):
            raise InvalidIdentity("email", "is not a valid e-mail address")
        return text
    text = _SPACES.sub("", value).lower()
    if not text:
        raise InvalidIdentity("email", "is empty")
    return text


def phone_number(value: str, region: str | None = None) -> str:
    """A valid phone number in E.164 (``+4722000000``); without a ``region`` it must be
    written in the international format.

    Raises:
        InvalidIdentity: not a valid phone number.
    """
    text = value.strip() if isinstance(value, str) else ""
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        hint = "" if region else " (use the international format, like +47 21 92 93 00)"
        raise InvalidIdentity("phone", f"is not a phone number{hint}", hint=_PHONE_HINT) from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidIdentity("phone", "is not a valid phone number", hint=_PHONE_HINT)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _phone_key(text: str) -> str:
    if text.startswith("00"):
        text = "+" + text[2:]
    if not text.startswith("+"):
        # Without a country code the number cannot be placed; its digits are its identity.
        digits = re.sub(r"\D", "", text)
        if len(digits) < 5:
            raise InvalidIdentity("phone", "is not a phone number", hint=_PHONE_HINT)
        return digits
    try:
        number = phonenumbers.parse(text, None)
        possible = phonenumbers.is_possible_number(number)
    except phonenumbers.NumberParseException:
        possible = False
    if not possible:
        raise InvalidIdentity("phone", "is not a phone number", hint=_PHONE_HINT)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_identity(kind: str, value: str) -> str:
    """The canonical form of an identity value, so that the same person is found however they
    typed it (case, spaces, phone formatting, URL prefixes).

    Raises:
        InvalidInput: unknown kind; InvalidIdentity: empty value, or a phone number that does
        not parse.
    """
    if kind not in IDENTITY_KINDS:
        raise InvalidInput(
            f"Unknown identity kind {kind!r}.",
            details=[{"loc": ["kind"], "msg": f"one of {', '.join(IDENTITY_KINDS)}"}],
        )
    text = _SPACES.sub(" ", str(value)).strip()
    if not text:
        raise InvalidIdentity(kind, "is empty")
    if kind == "email":
        return email_key(text)
    if kind == "phone":
        return _phone_key(text)
    if kind == "linkedin":
        return re.sub(r"^(https?://)?(www\.)?", "", text.lower()).rstrip("/")
    if kind in ("name", "name_company", "skype"):
        return text.casefold()
    return text


def identity_values(identities: Mapping[str, str | Sequence[str]]) -> dict[str, list[str]]:
    """``{"email": "a@b"}`` or ``{"email": ["a@b", "c@d"]}`` → lists of non-empty values."""
    out: dict[str, list[str]] = {}
    for key, value in identities.items():
        values = [value] if isinstance(value, str) else list(value)
        kept = [v for v in values if v is not None and str(v) != ""]
        if kept:
            out[key] = kept
    return out
