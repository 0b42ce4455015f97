"""Validation of one value of a data category, by the category's ``field_type``.

Each validator takes the raw value a channel handed in and returns the normalised value that is
stored (an e-mail address as email-validator normalises it, a phone number in E.164, a duration
in whole seconds...), or raises :class:`FieldProblem` with a message that names what is wrong
without repeating the value (it may be personal data, and it goes into logs and import
summaries).

Strings are stored as data, never interpreted: a name such as ``Robert'); DROP TABLE x;--`` or
``<script>alert(1)</script>`` is kept byte for byte, encrypted, and only ever bound as a
parameter or escaped on output.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from privacyops.freetext import text_problem
from privacyops.identities import InvalidIdentity, email_address, phone_number

__all__ = [
    "FIELD_CAPS",
    "FieldProblem",
    "parse_date",
    "parse_datetime",
    "validate_value",
]

#: Largest accepted size of one value, in characters, by field type. A free-text value may also
#: be a list of entries (a communication history); the cap then applies to their sum.
FIELD_CAPS: dict[str, int] = {
    "text": 300,
    "email": 254,  # RFC 5321 path limit
    "phone": 40,
    "url": 2048,
    "date": 40,
    "integer": 20,
    "duration": 40,
    "reference": 1024,
    "free_text": 20_000,
}
MAX_HISTORY_ENTRIES = 500

# Control characters (other than tab and line breaks in free text) and lone surrogates have no
# place in personal data: the shared rules of privacyops.freetext.
_DURATION = re.compile(r"^(?:(\d{1,4}):)?(\d{1,2}):(\d{2})$")
_ISO_DURATION = re.compile(r"^PT(?:(\d{1,4})H)?(?:(\d{1,4})M)?(?:(\d{1,6})S)?$", re.IGNORECASE)


class FieldProblem(ValueError):
    """A value failed its category's validation; the message never contains the value."""


def _string(value: Any, field_type: str, *, one_line: bool = True) -> str:
    if not isinstance(value, str):
        raise FieldProblem(f"expected a string, got {_type_name(value)}")
    text = unicodedata.normalize("NFC", value).strip()
    if not text:
        raise FieldProblem("must not be empty")
    if len(text) > FIELD_CAPS[field_type]:
        raise FieldProblem(f"longer than {FIELD_CAPS[field_type]} characters")
    problem = text_problem(text, one_line=one_line)
    if problem:
        raise FieldProblem(problem)
    return text


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _text(value: Any) -> str:
    return _string(value, "text")


def _free_text(value: Any) -> str | list[str]:
    if isinstance(value, list):
        if len(value) > MAX_HISTORY_ENTRIES:
            raise FieldProblem(f"more than {MAX_HISTORY_ENTRIES} entries")
        entries = [_string(v, "free_text", one_line=False) for v in value]
        if sum(len(e) for e in entries) > FIELD_CAPS["free_text"]:
            raise FieldProblem(f"longer than {FIELD_CAPS['free_text']} characters in all")
        if not entries:
            raise FieldProblem("must not be empty")
        return entries
    return _string(value, "free_text", one_line=False)


def _email(value: Any) -> str:
    # The local part is kept as given (RFC 5321 §2.4) but compared case-insensitively in
    # identities (privacyops.identities).
    try:
        return email_address(_string(value, "email"))
    except InvalidIdentity as exc:
        raise FieldProblem(exc.problem) from None


def _phone(value: Any, default_region: str | None = None) -> str:
    try:
        return phone_number(_string(value, "phone"), default_region)
    except InvalidIdentity as exc:
        raise FieldProblem(exc.problem) from None


def _url(value: Any) -> str:
    text = _string(value, "url")
    if not re.match(r"^https?://", text, re.IGNORECASE) and "://" not in text:
        text = "https://" + text  # "linkedin.com/in/someone", as people write it
    parts = urlsplit(text)
    if parts.scheme.lower() not in {"http", "https"} or not parts.hostname or " " in text:
        raise FieldProblem("is not an http(s) URL")
    if "." not in parts.hostname:
        raise FieldProblem("is not an http(s) URL")
    return text


def parse_date(value: Any) -> dt.date:
    """An ISO 8601 date (``YYYY-MM-DD``); raises :class:`FieldProblem`."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = _string(value, "date")
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise FieldProblem("is not a date (YYYY-MM-DD)") from None


def parse_datetime(value: Any) -> dt.datetime:
    """An ISO 8601 timestamp (a date alone means its midnight UTC), timezone-aware in UTC.

    A timestamp without an offset is taken to be UTC. Raises :class:`FieldProblem`.
    """
    if isinstance(value, dt.datetime):
        moment = value
    else:
        text = _string(value, "date")
        try:
            moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            raise FieldProblem("is not an ISO 8601 timestamp") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


def _date(value: Any) -> str:
    return parse_date(value).isoformat()


def _integer(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise FieldProblem(f"expected an integer, got {_type_name(value)}")
    if isinstance(value, str):
        text = _string(value, "integer")
        if not re.fullmatch(r"[+-]?\d+", text):
            raise FieldProblem("expected an integer")
        value = int(text)
    number = int(value)
    if abs(number) > 10**15:
        raise FieldProblem("is out of range")
    return number


def _duration(value: Any) -> int:
    """Seconds, from a number, ``[H:]MM:SS`` or ISO 8601 ``PT1H2M3S``."""
    if isinstance(value, bool):
        raise FieldProblem("expected a duration, got a boolean")
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise FieldProblem("is not a duration")
        seconds = round(value)
    else:
        text = _string(value, "duration")
        if re.fullmatch(r"\d{1,9}", text):
            seconds = int(text)
        elif m := _DURATION.match(text):
            hours, minutes, secs = int(m.group(1) or 0), int(m.group(2)), int(m.group(3))
            if secs >= 60 or (m.group(1) is not None and minutes >= 60):
                raise FieldProblem("is not a duration")
            seconds = hours * 3600 + minutes * 60 + secs
        elif (m := _ISO_DURATION.match(text)) and any(m.groups()):
            seconds = int(m.group(1) or 0) * 3600 + int(m.group(2) or 0) * 60 + int(m.group(3) or 0)
        else:
            raise FieldProblem("is not a duration (seconds, MM:SS, H:MM:SS or PT1H2M3S)")
    if seconds < 0 or seconds > 7 * 24 * 3600:
        raise FieldProblem("is not a duration between 0 seconds and 7 days")
    return seconds


def _reference(value: Any) -> str:
    """A reference to a recording kept elsewhere (an id or URI), never the recording itself."""
    text = _string(value, "reference")
    if any(ch.isspace() for ch in text):
        raise FieldProblem("must be an identifier or URI without spaces")
    return text


_VALIDATORS: dict[str, Callable[[Any], Any]] = {
    "text": _text,
    "free_text": _free_text,
    "email": _email,
    "url": _url,
    "date": _date,
    "integer": _integer,
    "duration": _duration,
    "reference": _reference,
}


def validate_value(field_type: str, value: Any, *, phone_region: str | None = None) -> Any:
    """Validate and normalise one value of a category with this ``field_type``.

    Raises:
        FieldProblem: the value is of the wrong type, too long or malformed.
    """
    if field_type == "phone":
        return _phone(value, phone_region)
    validator: Callable[[Any], Any] = _VALIDATORS.get(field_type, _text)
    return validator(value)
