"""Text sources: where free text about people is kept, read as :class:`TextDoc` items.

Kinds (a source file's ``type``):

- ``mbox`` and ``maildir``: mailboxes through the standard :mod:`mailbox` module; a message's
  text is its ``From``/``To``/``Cc``/``Subject`` headers and its ``text/plain`` parts; its id
  the ``Message-ID`` (or the mailbox key);
- ``jsonl`` and ``csv``: chat and ticket exports, one record a line, the text in
  ``text_field`` and the id in ``id_field``;
- ``folder``: ``*.txt`` and ``*.md`` files under a folder, the id the relative path.

A source is declared in YAML like the connectors (``text_source:`` with ``name``, ``type``,
``path``, ``categories``, ``retention_days`` and, for exports, the fields)::

    text_source:
      name: support-mailbox
      type: mbox
      path: /var/mail/support
      categories: [contact, correspondence]
      retention_days: 730
      rewritable: true
"""

from __future__ import annotations

import csv
import json
import mailbox
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from email.message import EmailMessage, Message
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from privacyops.connectors._yaml import read_located
from privacyops.errors import InvalidInput

__all__ = [
    "SOURCE_TYPES",
    "TextDoc",
    "TextSource",
    "json_records",
    "load_text_source",
    "read_path",
]

SourceType = Literal["mbox", "maildir", "jsonl", "csv", "folder"]
SOURCE_TYPES: tuple[str, ...] = ("mbox", "maildir", "jsonl", "csv", "folder")
_HEADERS = ("From", "To", "Cc", "Subject")


@dataclass(frozen=True)
class TextDoc:
    """One text: the source it came from, its id there and the text."""

    source: str
    doc_id: str
    text: str


class TextSource(BaseModel):
    """A declared text source (the ``text_source:`` of a YAML file)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    type: SourceType
    path: Path
    categories: list[str] = Field(default_factory=list)
    retention_days: int | None = Field(default=None, ge=1)
    #: Whether privacyops may rewrite the store to erase (an mbox file may; a Gmail export not).
    rewritable: bool = False
    text_field: str = "text"
    id_field: str = "id"

    def docs(self) -> Iterator[TextDoc]:
        """Every text of the source, in its order."""
        return _READERS[self.type](self)


class _TextSourceFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text_source: TextSource


def load_text_source(path: Path) -> TextSource:
    """The source a YAML file declares; a relative ``path`` is relative to the file.

    Raises:
        InvalidInput: not a valid text-source file (with ``file:line`` details).
    """
    source = read_located(path).validate(_TextSourceFile, what="Text source file").text_source
    if not source.path.is_absolute():
        source.path = path.parent / source.path
    return source


def read_path(path: Path, *, text_field: str = "text", id_field: str = "id") -> TextSource:
    """A source for a path given on the command line, its type guessed: a ``.yml``/``.yaml``
    file declares one; a folder with ``cur``/``new`` is a Maildir, another folder of notes;
    ``.jsonl``/``.csv`` are exports; any other file an mbox."""
    suffix = path.suffix.lower()
    if suffix in (".yml", ".yaml"):
        return load_text_source(path)
    if path.is_dir():
        kind = "maildir" if (path / "cur").is_dir() and (path / "new").is_dir() else "folder"
    elif suffix in (".jsonl", ".ndjson"):
        kind = "jsonl"
    elif suffix == ".csv":
        kind = "csv"
    elif path.is_file():
        kind = "mbox"
    else:
        raise InvalidInput(f"{path}: no such file or folder.")
    return TextSource.model_validate(
        {
            "name": str(path),
            "type": kind,
            "path": path,
            "text_field": text_field,
            "id_field": id_field,
        }
    )


def message_text(message: Message) -> str:
    """The searchable text of a mail message: its main headers and text/plain parts."""
    lines = [f"{h}: {message[h]}" for h in _HEADERS if message[h] is not None]
    parts = message.walk() if message.is_multipart() else [message]
    for part in parts:
        if part.get_content_type() != "text/plain":
            continue
        if isinstance(part, EmailMessage):
            lines.append(str(part.get_content()))
        else:
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                lines.append(payload.decode(part.get_content_charset() or "utf-8", "replace"))
    return "\n".join(lines)


def _mail(source: TextSource, box: mailbox.Mailbox[mailbox.Message]) -> Iterator[TextDoc]:
    for key, message in box.iteritems():
        doc_id = str(message["Message-ID"] or key).strip()
        yield TextDoc(source.name, doc_id, message_text(message))


def _mbox(source: TextSource) -> Iterator[TextDoc]:
    if not source.path.is_file():
        raise InvalidInput(f"{source.name}: {source.path} is not an mbox file.")
    box = mailbox.mbox(source.path, create=False)
    try:
        yield from _mail(source, box)
    finally:
        box.close()


def _maildir(source: TextSource) -> Iterator[TextDoc]:
    if not source.path.is_dir():
        raise InvalidInput(f"{source.name}: {source.path} is not a Maildir folder.")
    yield from _mail(source, mailbox.Maildir(source.path, create=False))


def json_records(
    lines: Iterable[str], name: str, *, text_field: str = "text", id_field: str = "id"
) -> Iterator[tuple[object, str, int]]:
    """``(id as given, text, line)`` of each JSON line (blank lines skipped).

    Raises:
        InvalidInput: a line is not JSON, or has no string in ``text_field``.
    """
    for line, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            row = json.loads(raw)
        except json.JSONDecodeError:
            raise InvalidInput(
                f"{name}: line {line} is not JSON.", details=[{"loc": [line], "msg": "not JSON"}]
            ) from None
        yield _record(name, row, line, text_field, id_field)


def _record(
    name: str, row: object, line: int, text_field: str, id_field: str
) -> tuple[object, str, int]:
    if not isinstance(row, dict) or not isinstance(row.get(text_field), str):
        raise InvalidInput(
            f"{name}: record {line} has no text in {text_field!r}.",
            details=[{"loc": [line, text_field], "msg": "a string is needed"}],
        )
    return row.get(id_field), row[text_field], line


def _doc(source: TextSource, record: tuple[object, str, int]) -> TextDoc:
    doc_id, text, line = record
    return TextDoc(source.name, str(doc_id if doc_id is not None else line), text)


def _jsonl(source: TextSource) -> Iterator[TextDoc]:
    with source.path.open(encoding="utf-8") as handle:
        fields = {"text_field": source.text_field, "id_field": source.id_field}
        for record in json_records(handle, source.name, **fields):
            yield _doc(source, record)


def _csv(source: TextSource) -> Iterator[TextDoc]:
    with source.path.open(encoding="utf-8", newline="") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            yield _doc(source, _record(source.name, row, line, source.text_field, source.id_field))


def _folder(source: TextSource) -> Iterator[TextDoc]:
    if not source.path.is_dir():
        raise InvalidInput(f"{source.name}: {source.path} is not a folder.")
    for file in sorted(source.path.rglob("*")):
        if file.is_file() and file.suffix.lower() in (".txt", ".md", ".markdown"):
            text = file.read_text(encoding="utf-8", errors="replace")
            yield TextDoc(source.name, file.relative_to(source.path).as_posix(), text)


_READERS = {"mbox": _mbox, "maildir": _maildir, "jsonl": _jsonl, "csv": _csv, "folder": _folder}
