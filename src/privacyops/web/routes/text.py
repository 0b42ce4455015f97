"""Personal data in free text over HTTP (token scope ``text:scan``; see docs/text.md).

- ``POST /api/v1/text/scan``: spans of each text (Presidio's labels, character offsets).
- ``POST /api/v1/text/redact``: each text with its personal data replaced by ``[LABEL]`` tags.
- ``POST /api/v1/text/find``: where a person (e-mails, phones, names) appears in the texts.

The texts are read and answered, never stored or logged.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from privacyops.text import Person, PersonMatcher, TextDoc, redact, redaction_report, scan
from privacyops.web.auth import require_scope

__all__ = ["router"]

router = APIRouter(
    prefix="/api/v1/text",
    tags=["text"],
    dependencies=[Depends(require_scope("text:scan"))],
)

_MAX_TEXT = 200_000


class TextItem(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str | int | None = Field(default=None, description="Echoed back with the result.")
    text: str = Field(max_length=_MAX_TEXT)


class TextsBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    texts: list[TextItem] = Field(min_length=1, max_length=1000)


class FindBody(TextsBody):
    emails: list[str] = Field(default_factory=list, max_length=20)
    phones: list[str] = Field(default_factory=list, max_length=20)
    names: list[str] = Field(default_factory=list, max_length=20)
    region: str | None = Field(default=None, min_length=2, max_length=2)


@router.post("/scan")
def scan_texts(body: TextsBody) -> dict[str, Any]:
    """The spans of personal data in each text."""
    return {
        "results": [
            {"id": item.id, "spans": [s.to_dict() for s in scan(item.text)]} for item in body.texts
        ]
    }


@router.post("/redact")
def redact_texts(body: TextsBody) -> dict[str, Any]:
    """Each text with its personal data replaced by ``[LABEL]`` tags, and what kinds went."""
    results = []
    for item in body.texts:
        spans = scan(item.text)
        results.append(
            {"id": item.id, "text": redact(item.text, spans), "removed": redaction_report(spans)}
        )
    return {"results": results}


@router.post("/find")
def find_person(body: FindBody) -> dict[str, Any]:
    """The mentions of a person in the texts (``kind`` e-mail, phone or name)."""
    from privacyops.errors import InvalidInput

    for value in (*body.emails, *body.phones, *body.names):
        if not value.strip() or len(value) > 320:
            raise InvalidInput("An identity is empty or too long.")
    if not (body.emails or body.phones or body.names):
        raise InvalidInput(
            "Give at least one e-mail, phone or name.",
            details=[{"loc": ["body", "emails"], "msg": "one identity is needed"}],
        )
    matcher = PersonMatcher(
        Person(emails=body.emails, phones=body.phones, names=body.names, region=body.region)
    )
    mentions: list[dict[str, object]] = []
    for index, item in enumerate(body.texts):
        doc = TextDoc("request", str(item.id if item.id is not None else index), item.text)
        mentions.extend(m.to_dict() for m in matcher.mentions(doc))
    return {"mentions": mentions}
