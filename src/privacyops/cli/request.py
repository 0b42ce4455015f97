"""``privacyops request``: submit, verify and follow data-subject requests; staff decisions;
run the steps."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.table import Table

from privacyops.errors import InvalidInput

if TYPE_CHECKING:
    from privacyops.rights.service import RightsService

app = typer.Typer(
    rich_markup_mode=None,  # plain help, fast: see cli/app.py
    help="Data-subject requests (GDPR articles 15-22, 7(3) and 77).",
    no_args_is_help=True,
)
console = Console()

ACTOR = "staff:cli"


@contextmanager
def _service() -> Iterator[RightsService]:
    from privacyops.rights.factory import build_service
    from privacyops.settings import get_settings

    service = build_service(get_settings())
    try:
        yield service
    finally:
        service.db.dispose()


def _print(data: Any, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(data, indent=2, default=str))
        return
    if isinstance(data, dict):
        for key, value in data.items():
            if isinstance(value, dict | list):
                value = json.dumps(value, default=str)
            console.print(f"[bold]{key}[/bold]: {value}", highlight=False)
    elif isinstance(data, list):
        for item in data:
            console.print(json.dumps(item, default=str), highlight=False)


def _details(pairs: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    changes: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise InvalidInput(
                "Details are KEY=VALUE (changes as change.CATEGORY=VALUE).",
                details=[{"loc": ["detail"], "msg": "expected KEY=VALUE"}],
            )
        if key.startswith("change."):
            changes[key.removeprefix("change.")] = value
        else:
            out[key] = value
    if changes:
        out["changes"] = changes
    return out


JSON = typer.Option(False, "--json", help="Print JSON.")


@app.command()
def submit(
    type: str = typer.Argument(
        ...,
        help="access, rectification, erasure, restriction, objection, portability, "
        "consent_withdrawal or complaint.",
    ),
    email: str = typer.Option(..., "--email", help="The requester's e-mail (gets the code)."),
    phone: str | None = typer.Option(None, "--phone", help="Phone for the second factor."),
    detail: list[str] = typer.Option(
        [],
        "--detail",
        "-d",
        help="KEY=VALUE: ground=..., objection=..., country=..., change.CATEGORY=VALUE.",
    ),
    as_json: bool = JSON,
) -> None:
    """Register a request; a one-time code goes to the e-mail address."""
    with _service() as service:
        receipt = service.submit(type, email, phone=phone, details=_details(detail), channel="cli")
    _print(receipt.as_dict(), as_json)


@app.command()
def verify(
    request_id: str = typer.Argument(..., help="The request reference (r...)."),
    code: str = typer.Option(..., "--code", help="The one-time code received."),
    token: str = typer.Option(..., "--token", help="The token given at submission."),
    second: bool = typer.Option(False, "--second", help="This is the second-factor code."),
    as_json: bool = JSON,
) -> None:
    """Confirm a request with the code sent to the requester."""
    with _service() as service:
        status = service.verify(
            request_id, token, code, factor="second" if second else "email", client="cli"
        )
    _print(status, as_json)


@app.command()
def status(
    request_id: str = typer.Argument(...),
    token: str | None = typer.Option(
        None, "--token", help="The requester's token; without it, the staff view."
    ),
    as_json: bool = JSON,
) -> None:
    """Where a request stands, with its legal clock."""
    with _service() as service:
        view = (
            service.status(request_id, token, client="cli") if token else service.show(request_id)
        )
    _print(view, as_json)


@app.command("list")
def list_(
    state: str | None = typer.Option(None, "--state", help="Only requests in this state."),
    as_json: bool = JSON,
) -> None:
    """Requests, the nearest deadline first."""
    with _service() as service:
        rows = service.list_requests(state=state)
    if as_json:
        _print(rows, True)
        return
    table = Table("type", "state", "received", "deadline", "open tasks", "waiting for")
    table.add_column("request", no_wrap=True, min_width=25)
    for row in rows:
        open_tasks = ", ".join(t["kind"] for t in row["tasks"] if t["decision"] is None)
        table.add_row(
            row["type"],
            row["state"],
            row["received_at"][:10],
            str(row["clock"]["deadline"] or "paused"),
            open_tasks,
            ", ".join((row["outcome"] or {}).get("waiting_for") or []),
            row["request_id"],
        )
    console.print(table)


@app.command()
def extend(
    request_id: str = typer.Argument(...),
    reason: str = typer.Option(..., "--reason", help="Told to the person (Art. 12(3))."),
    as_json: bool = JSON,
) -> None:
    """Extend the deadline by two months; the person is told the reason."""
    with _service() as service:
        _print(service.extend(request_id, reason, actor=ACTOR), as_json)


@app.command()
def refuse(
    request_id: str = typer.Argument(...),
    reason: str = typer.Option(..., "--reason", help="Told to the person with the remedies."),
    as_json: bool = JSON,
) -> None:
    """Refuse a request with its reasons (Art. 12(4))."""
    with _service() as service:
        _print(service.refuse(request_id, reason, actor=ACTOR), as_json)


@app.command()
def decide(
    request_id: str = typer.Argument(...),
    task: str = typer.Option(..., "--task", help="identity_document, balancing or excessive."),
    decision: str = typer.Option(
        ...,
        "--decision",
        help="identity_document: accept|reject; balancing: uphold|override; "
        "excessive: proceed|fee|refuse.",
    ),
    reason: str = typer.Option(..., "--reason", help="Recorded with the decision."),
    as_json: bool = JSON,
) -> None:
    """Record a staff decision on a request's open task."""
    with _service() as service:
        _print(service.decide(request_id, task, decision, reason, actor=ACTOR), as_json)


@app.command()
def recipients(
    request_id: str = typer.Argument(...),
    as_json: bool = JSON,
) -> None:
    """The request's recipients and where each Art. 19 notice stands."""
    with _service() as service:
        _print(service.staff_recipients(request_id), as_json)


@app.command("decide-recipient")
def decide_recipient(
    request_id: str = typer.Argument(...),
    recipient_id: str = typer.Argument(..., help="The recipient's id in the policy."),
    decision: str = typer.Option(
        ..., "--decision", help="other_route, impossible or disproportionate (GDPR Art. 19)."
    ),
    note: str = typer.Option(..., "--note", help="How it was told, or why not."),
    as_json: bool = JSON,
) -> None:
    """Record the Art. 19 decision on a recipient that has no address."""
    with _service() as service:
        _print(
            service.decide_recipient(request_id, recipient_id, decision, note, actor=ACTOR),
            as_json,
        )


@app.command("lift-restriction")
def lift_restriction(
    request_id: str = typer.Argument(...),
    restriction: int = typer.Option(..., "--restriction", help="The restriction's id."),
    reason: str = typer.Option(..., "--reason", help="Told to the person first (Art. 18(3))."),
    as_json: bool = JSON,
) -> None:
    """Lift a restriction made for a request; the person is told before it is lifted."""
    with _service() as service:
        _print(service.lift_restriction(request_id, restriction, reason, actor=ACTOR), as_json)


@app.command()
def run(
    loop: bool = typer.Option(False, "--loop", help="Keep running (Ctrl-C to stop)."),
    interval: float = typer.Option(2.0, "--interval", min=0.1, help="Seconds between passes."),
) -> None:
    """Run the steps of every runnable request and send queued messages."""
    from rich.progress import Progress, SpinnerColumn, TextColumn

    from privacyops.rights.engine import tick

    with _service() as service:
        with Progress(
            SpinnerColumn(), TextColumn("{task.description}"), console=console, transient=True
        ) as bar:
            task = bar.add_task("running requests", total=None)
            total = 0
            while True:
                total += tick(service)
                bar.update(task, description=f"ran {total} request(s)")
                if not loop:
                    break
                time.sleep(interval)
        console.print(f"ran {total} request(s)")
