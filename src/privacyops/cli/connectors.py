"""``privacyops connectors``: the connectors in force, staff tasks, reminders, OpenDSR runs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.table import Table

from privacyops.errors import InvalidInput

if TYPE_CHECKING:
    from privacyops.store import Database

app = typer.Typer(
    rich_markup_mode=None,  # plain help, fast: see cli/app.py
    help="Connectors: systems where personal data also lives (SQL, HTTP, manual, e-mail).",
    no_args_is_help=True,
)
console = Console()


@contextmanager
def _db() -> Iterator[Database]:
    from privacyops.settings import get_settings
    from privacyops.store import open_database

    db = open_database(get_settings())
    try:
        yield db
    finally:
        db.dispose()


@app.command("list")
def list_connectors() -> None:
    """Load (and lint) every file of PRIVACYOPS_CONNECTORS_DIR and list the connectors."""
    from privacyops.connectors import load_connectors
    from privacyops.settings import get_settings

    with _db() as db:
        found = load_connectors(get_settings(), db)
    table = Table("name", "kind")
    for c in found:
        table.add_row(c.name, c.kind)
    console.print(table)


@app.command()
def tasks(
    all_: bool = typer.Option(False, "--all", help="Also done and cancelled tasks."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Tasks of manual and e-mail connectors (open and sent, oldest first)."""
    from privacyops.connectors import list_tasks

    with _db() as db:
        rows = list_tasks(db, status=None if all_ else ["open", "sent"])
    if as_json:
        typer.echo(
            json.dumps(
                [
                    {
                        "id": t.id,
                        "system": t.system,
                        "kind": t.kind,
                        "action": t.action,
                        "request": t.request_ref,
                        "status": t.status,
                        "checklist": t.checklist,
                    }
                    for t in rows
                ],
                indent=2,
            )
        )
        return
    table = Table("id", "system", "kind", "action", "request", "status", "steps")
    for t in rows:
        steps = "; ".join(c["step"] for c in t.checklist)
        table.add_row(str(t.id), t.system, t.kind, t.action, t.request_ref, t.status, steps)
    console.print(table)


@app.command()
def brief(
    task_id: int = typer.Argument(..., help="The task's id."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Who an open task is about and what to do (identities; corrected values or restriction
    ground). Personal data: each reading is recorded in the audit log."""
    from privacyops.connectors import task_brief

    with _db() as db:
        found = task_brief(db, task_id, actor="staff:cli")
    if as_json:
        typer.echo(json.dumps(found, indent=2))
        return
    console.print(
        f"task {found['id']}: {found['action']} in {found['system']} (request {found['request']})",
        highlight=False,
    )
    for kind, values in sorted(found["identities"].items()):
        for value in values:
            console.print(f"  {kind}: {value}", highlight=False, markup=False)
    for field, value in sorted((found.get("changes") or {}).items()):
        console.print(f"  correct {field} to: {value}", highlight=False, markup=False)
    if found.get("ground"):
        console.print(f"  restriction ground: {found['ground']}", highlight=False, markup=False)
    for item in found["checklist"]:
        console.print(f"  [ ] {item['step']}", highlight=False, markup=False)


@app.command()
def done(
    task_id: int = typer.Argument(..., help="The task's id."),
    outcome: str = typer.Option(..., "--outcome", help="What was found or done."),
    records: Path | None = typer.Option(
        None,
        "--records",
        help='Access tasks: a JSON file of the records found, {"collection": [{...}]}; '
        "they go into the person's export.",
        exists=True,
        dir_okay=False,
    ),
) -> None:
    """Record the answer of a task; its connector then reports done."""
    from privacyops.rights.tasks import complete_task

    found: dict[str, Any] | None = None
    if records is not None:
        try:
            found = json.loads(records.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InvalidInput(f"{records.name} is not a readable JSON file.") from exc
    with _db() as db:
        task = complete_task(db, task_id, outcome=outcome, actor="staff:cli", records=found)
    console.print(f"task {task.id}: {task.status}", highlight=False)


@app.command()
def remind() -> None:
    """Send due reminders: processor e-mails and Art. 19 notices not yet answered."""
    from privacyops.connectors import ManualConnector, load_connectors, remind_tasks
    from privacyops.rights.notices import remind_notices
    from privacyops.settings import get_settings

    settings = get_settings()
    with _db() as db:
        specs = [c.spec for c in load_connectors(settings, db) if isinstance(c, ManualConnector)]
        emails = remind_tasks(db, settings, specs)
        notices = remind_notices(db, settings)
    console.print(f"{emails} processor e-mail(s), {notices} notice(s) sent", highlight=False)


@app.command("opendsr-run")
def opendsr_run() -> None:
    """Run the connectors on pending OpenDSR requests (the server does this in background)."""
    from privacyops.connectors import load_connectors
    from privacyops.processor.opendsr import process_pending
    from privacyops.settings import get_settings

    settings = get_settings()
    with _db() as db:
        count = process_pending(db, settings, load_connectors(settings, db))
    console.print(f"{count} OpenDSR request(s) completed", highlight=False)
