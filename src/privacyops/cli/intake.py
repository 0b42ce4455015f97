"""``privacyops intake``: submit one channel submission, bulk-import a CRM, mark a subject under
age."""

from __future__ import annotations

import getpass
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from privacyops.errors import InvalidInput

if TYPE_CHECKING:
    from privacyops.intake.importer import ImportSummary
    from privacyops.intake.service import IntakeService

app = typer.Typer(
    rich_markup_mode=None,  # plain help, fast: see cli/app.py
    help="Intake of personal data through the policy's channels.",
    no_args_is_help=True,
)
console = Console()
SHOWN_REFUSALS = 50


def cli_actor() -> str:
    """Who acts, for the audit log: the operating-system account running the command."""
    try:
        return f"cli:{getpass.getuser()}"[:128]
    except (KeyError, OSError):  # no passwd entry (containers)
        return "cli"


@contextmanager
def open_service() -> Iterator[IntakeService]:
    """The intake service on the configured database and policy; closed on exit."""
    from privacyops.audit import AuditLog
    from privacyops.intake.service import IntakeService
    from privacyops.policy import load_configured_policy
    from privacyops.settings import get_settings
    from privacyops.store import Registry, open_database

    settings = get_settings()
    db = open_database(settings)
    try:
        yield IntakeService(
            db, Registry(db), AuditLog(db), load_configured_policy(settings), settings=settings
        )
    finally:
        db.dispose()


def _read_json(path: Path) -> object:
    try:
        text = typer.get_text_stream("stdin").read() if str(path) == "-" else path.read_text()
    except (OSError, UnicodeDecodeError):
        raise InvalidInput(f"Cannot read {path.name} as UTF-8 text.") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            f"The file is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})."
        ) from None


@app.command()
def submit(
    channel: str = typer.Argument(
        ..., help="Channel id: web_form, chatbot, contact, customer, event…"
    ),
    json_file: Path = typer.Option(
        ..., "--json", help="A JSON object of field names and values ('-' reads stdin)."
    ),
) -> None:
    """Check one submission against the policy in force and store it (or quarantine it)."""
    payload = _read_json(json_file)
    with open_service() as service:
        result = service.submit(channel, payload, actor=cli_actor(), staff=True)
    typer.echo(json.dumps(result.to_dict(), indent=2))


def _count_rows(path: Path) -> int | None:
    try:
        with path.open("rb") as handle:
            return sum(1 for line in handle if line.strip())
    except OSError:
        return None


def _print_summary(summary: ImportSummary) -> None:
    from rich.table import Table

    console.print(
        f"[bold]{summary.rows:,}[/bold] rows read: [green]{summary.stored:,} stored[/green], "
        f"[yellow]{summary.quarantined:,} quarantined[/yellow] for spam review, "
        f"[red]{len(summary.refused):,} refused[/red]."
    )
    if summary.refused:
        table = Table(title="Refused rows", show_lines=False)
        table.add_column("line", justify="right")
        table.add_column("code")
        table.add_column("why")
        for refusal in summary.refused[:SHOWN_REFUSALS]:
            table.add_row(str(refusal.line), refusal.code, refusal.message)
        console.print(table)
        if len(summary.refused) > SHOWN_REFUSALS:
            console.print(
                f"… and {len(summary.refused) - SHOWN_REFUSALS:,} more (use --json for all)."
            )
    if summary.ok:
        console.print(f"Lines landed: {summary.landed_text()}")
    else:
        console.print(
            f"[red]import stopped[/red] at the batch starting on line {summary.failed_at}: "
            f"{summary.error}. That batch and every later line did NOT land. "
            f"Lines landed: {summary.landed_text()}."
        )


@app.command("import")
def import_(
    path: Path = typer.Argument(..., help="CSV (with a header) or JSON Lines file."),
    channel: str = typer.Option(..., "--channel", "-c", help="The channel the data came from."),
    fmt: str | None = typer.Option(
        None, "--format", help="csv or jsonl (default: from the file name)."
    ),
    batch_size: int | None = typer.Option(
        None, "--batch-size", min=1, max=10_000, help="Rows per transaction."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the full summary as JSON."),
) -> None:
    """Bulk-import an existing CRM, keeping the original timestamps.

    Columns/keys are the channel's data categories plus the control fields (collected_at,
    last_contact_at, last_event_registration_at, last_service_delivery_at, source_system,
    contract_event, marketing_consent, age, birth_date). Each batch is one transaction; refused
    rows are listed with their line and reason. Exits 1 when a batch could not be written.
    """
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    from privacyops.intake.importer import guess_format

    fmt = guess_format(path, fmt)
    total = _count_rows(path)
    if total is not None and fmt == "csv":
        total = max(total - 1, 0)
    with (
        open_service() as service,
        Progress(
            TextColumn("importing"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
            disable=as_json,
        ) as bar,
    ):
        task = bar.add_task("import", total=total)
        summary = service.import_file(
            path,
            channel,
            fmt=fmt,
            actor=cli_actor(),
            batch_size=batch_size,
            progress=lambda n: bar.update(task, completed=n),
        )
    if as_json:
        typer.echo(json.dumps(summary.to_dict(), indent=2))
    else:
        _print_summary(summary)
    if not summary.ok:
        raise typer.Exit(1)


@app.command("under-age")
def under_age(
    subject_ref: str = typer.Argument(..., help="The data subject's pseudonymous id."),
    note: str | None = typer.Option(None, "--note", help="How it became known (no personal data)."),
) -> None:
    """Mark a data subject as under the policy's age limit: their data is erased (policy §12)."""
    with open_service() as service:
        erased = service.mark_under_age(subject_ref, actor=cli_actor(), note=note)
    console.print("erased" if erased else "already erased")
