"""Reading HTML form posts field by field, collecting a message per problem.

Pages validate by hand (not through FastAPI's 422) so that a person sees each problem next to
the field, with what they typed kept in the form, and nothing is stored until every field is
right::

    form = await read_form(request)
    v = FormValues(form)
    email = v.text("email", required=True, max_len=254)
    days = v.integer("days", minimum=1, maximum=60)
    if v.errors:
        return render(request, "x.html", {"errors": v.errors, "values": v.kept()}, status_code=422)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import Request

__all__ = ["FORM_EXPIRED", "FormValues", "read_form"]

FORM_EXPIRED = (
    "This form had expired or was already sent, so nothing was saved. "
    "Check the fields below and send it again."
)
MAX_FIELD_CHARS = 10_000


async def read_form(request: Request) -> dict[str, Any]:
    """The posted fields as a plain dict (last value wins; files are ignored)."""
    form = await request.form(max_files=0, max_fields=200)
    out: dict[str, Any] = {}
    for key, value in form.multi_items():
        if isinstance(value, str):
            if key in out and key.endswith("[]"):
                out[key] = [*out[key], value] if isinstance(out[key], list) else [out[key], value]
            else:
                out[key] = value
    return out


class FormValues:
    """Typed access to posted fields; ``errors`` maps a field to the message shown beside it."""

    def __init__(self, form: Mapping[str, Any], *, secret_fields: tuple[str, ...] = ()) -> None:
        self.form = form
        self.errors: dict[str, str] = {}
        self.secret_fields = (*secret_fields, "password", "csrf_token", "code")

    def __repr__(self) -> str:
        return f"FormValues(fields={sorted(self.form)!r}, errors={sorted(self.errors)!r})"

    def text(
        self, name: str, *, label: str | None = None, required: bool = False, max_len: int = 200
    ) -> str:
        """A text field, trimmed; '' when absent and optional."""
        raw = self.form.get(name, "")
        label = label or name.replace("_", " ").capitalize()
        if not isinstance(raw, str):
            self.errors[name] = f"{label}: expected text."
            return ""
        value = raw.strip()
        if required and not value:
            self.errors[name] = f"{label} is required."
        elif len(value) > max_len:
            self.errors[name] = f"{label} is too long (at most {max_len} characters)."
        elif "\x00" in value:
            self.errors[name] = f"{label} contains a character that is not allowed."
        return value

    def integer(
        self,
        name: str,
        *,
        label: str | None = None,
        required: bool = True,
        minimum: int | None = None,
        maximum: int | None = None,
    ) -> int | None:
        """A whole number within bounds."""
        label = label or name.replace("_", " ").capitalize()
        raw = self.text(name, label=label, required=required, max_len=12)
        if not raw or name in self.errors:
            return None
        try:
            value = int(raw)
        except ValueError:
            self.errors[name] = f"{label} must be a whole number."
            return None
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            self.errors[name] = f"{label} must be between {minimum} and {maximum}."
            return None
        return value

    def choice(
        self, name: str, options: list[str], *, label: str | None = None, required: bool = True
    ) -> str:
        """One of ``options``."""
        label = label or name.replace("_", " ").capitalize()
        value = self.text(name, label=label, required=required, max_len=100)
        if value and value not in options:
            self.errors[name] = f"{label}: choose one of the options offered."
            return ""
        return value

    def checkbox(self, name: str) -> bool:
        """True when the box was ticked."""
        return self.form.get(name) in ("on", "1", "true", "yes")

    def kept(self) -> dict[str, str]:
        """What the person typed, to put back in the form (never passwords, codes or tokens),
        overlong values cut to the field cap."""
        return {
            key: value[:MAX_FIELD_CHARS]
            for key, value in self.form.items()
            if isinstance(value, str) and key not in self.secret_fields
        }
