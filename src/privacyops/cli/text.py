"""``privacyops text``: find personal data in free text, find a known person, redact."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

import typer

app = typer.Typer(
    rich_markup_mode=None,  # plain help, fast: see cli/app.py
    help="Personal data in free text: scan, find a person, redact.",
    no_args_is_help=True,
)

_FILE_HELP = 'JSON lines {"id": ..., "text": ...}; - for standard input.'


def _records(file: str) -> Iterator[tuple[Any, str]]:
    from privacyops.errors import InvalidInput
    from privacyops.text.sources import json_records

    try:
        handle: TextIO = sys.stdin if file == "-" else Path(file).open(encoding="utf-8")  # noqa: SIM115
    except OSError as exc:
        raise InvalidInput(f"{file}: cannot read it ({exc.strerror}).") from None
    try:
        for doc_id, text, _ in json_records(handle, file):
            yield doc_id, text
    finally:
        if handle is not sys.stdin:
            handle.close()


@app.command()
def scan(
    file: str = typer.Argument(..., help=_FILE_HELP),
    label: list[str] = typer.Option([], "--label", help="Only these labels (repeat)."),
) -> None:
    """Write {"id", "spans": [{"start", "end", "label", "score"}]} per input line."""
    from privacyops.text import scan as scan_text

    for doc_id, text in _records(file):
        spans = scan_text(text, label or None)
        typer.echo(json.dumps({"id": doc_id, "spans": [s.to_dict() for s in spans]}))


@app.command()
def redact(
    file: str = typer.Argument(..., help=_FILE_HELP),
) -> None:
    """Write {"id", "text", "removed"} per input line, personal data replaced by [LABEL] tags."""
    from privacyops.text import redact as redact_text
    from privacyops.text import redaction_report
    from privacyops.text import scan as scan_text

    for doc_id, text in _records(file):
        spans = scan_text(text)
        typer.echo(
            json.dumps(
                {
                    "id": doc_id,
                    "text": redact_text(text, spans),
                    "removed": redaction_report(spans),
                },
                ensure_ascii=False,
            )
        )


@app.command()
def find(
    sources: list[Path] = typer.Argument(
        ..., help="mbox files, Maildir or note folders, .jsonl/.csv exports, source .yml files."
    ),
    email: list[str] = typer.Option([], "--email", help="An e-mail address (repeat)."),
    phone: list[str] = typer.Option([], "--phone", help="A phone number (repeat)."),
    name: list[str] = typer.Option([], "--name", help="A name (repeat)."),
    region: str | None = typer.Option(
        None, "--region", help="Country (ISO code) of phone numbers not written with +."
    ),
    text_field: str = typer.Option("text", "--text-field", help="Text field of exports."),
) -> None:
    """List where a person appears: {"source", "id", "start", "end", "kind", "passage"}."""
    from privacyops.errors import InvalidInput
    from privacyops.text import Person, PersonMatcher, read_path

    if not (email or phone or name):
        raise InvalidInput("Give at least one --email, --phone or --name.")
    matcher = PersonMatcher(Person(emails=email, phones=phone, names=name, region=region))
    for path in sources:
        for doc in read_path(path, text_field=text_field).docs():
            for mention in matcher.mentions(doc):
                typer.echo(json.dumps(mention.to_dict(), ensure_ascii=False))
