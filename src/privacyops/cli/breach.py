"""``privacyops breach``: the personal-data breach register (GDPR Art. 33, 34): record a
breach, see its 72-hour deadline and who it affects, assess its risk, draft the authority's
notification (JSON or PDF) and send the letters to the people affected."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from privacyops.cli.intake import cli_actor
from privacyops.cli.registers import open_registers

if TYPE_CHECKING:
    from privacyops.registers.desk import BreachDesk

app = typer.Typer(
    rich_markup_mode=None,  # plain help, fast: see cli/app.py
    help="Personal-data breach register: the 72-hour clock, affected people, notifications.",
    no_args_is_help=True,
)


@contextmanager
def open_desk() -> Iterator[BreachDesk]:
    """The breach register on the configured database and policy; closed on exit."""
    from privacyops.registers.desk import BreachDesk
    from privacyops.rights.authorities import authority_for

    with open_registers() as (db, manifest, settings):
        authority = authority_for(manifest.contact_point.country).as_dict()
        yield BreachDesk(db, manifest, settings, authority)


def _when(name: str, text: str | None, zone: str | None) -> datetime | None:
    """An ISO 8601 time; one without an offset is read in ``--timezone`` when given, and
    refused otherwise (never guessed)."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from privacyops.errors import InvalidInput

    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
        if value.tzinfo is None and zone is not None:
            value = value.replace(tzinfo=ZoneInfo(zone))
    except (ValueError, ZoneInfoNotFoundError):
        raise InvalidInput(
            f"{name}: expected an ISO 8601 time such as 2027-03-26T16:00+01:00",
            details=[{"loc": [name], "msg": "not an ISO 8601 time, or an unknown --timezone"}],
        ) from None
    if value.tzinfo is None:
        raise InvalidInput(
            f"{name}: give an offset (2027-03-26T16:00+01:00) or --timezone; a time without "
            "one is ambiguous",
            details=[{"loc": [name], "msg": "no time zone"}],
        )
    return value


def _print(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


@app.command()
def deadline(
    aware_at: str = typer.Argument(..., help="When you became aware (ISO 8601)."),
    timezone: str | None = typer.Option(
        None, "--timezone", help="IANA zone of a time without offset (e.g. Europe/Oslo)."
    ),
) -> None:
    """The last moment to notify the authority: 72 elapsed hours after awareness."""
    from privacyops.registers.clock import notification_deadline

    moment = _when("aware_at", aware_at, timezone)
    assert moment is not None
    typer.echo(notification_deadline(moment).isoformat())


@app.command()
def record(
    title: str = typer.Option(..., "--title", help="A short name for the breach."),
    description: str = typer.Option(..., "--description", help="What happened."),
    aware_at: str = typer.Option(..., "--aware-at", help="When you became aware (ISO 8601)."),
    occurred_at: str | None = typer.Option(None, "--occurred-at", help="When it happened."),
    timezone: str | None = typer.Option(
        None, "--timezone", help="IANA zone, e.g. Europe/Oslo (times shown in it; default UTC)."
    ),
    window_start: str | None = typer.Option(None, "--window-start", help="Exposure began."),
    window_end: str | None = typer.Option(None, "--window-end", help="Exposure ended."),
    system: list[str] = typer.Option([], "--system", help="A system affected (repeatable)."),
    channel: list[str] = typer.Option([], "--channel", help="A policy channel (repeatable)."),
    category: list[str] = typer.Option([], "--category", help="A data category (repeatable)."),
    consequences: str | None = typer.Option(None, "--consequences", help="Likely effects."),
    measures: str | None = typer.Option(None, "--measures", help="Measures taken or proposed."),
) -> None:
    """Enter a breach in the register (audited) and print it with its deadline."""
    from privacyops.registers.breaches import BreachIn

    aware = _when("aware_at", aware_at, timezone)
    assert aware is not None
    data = BreachIn(
        title=title,
        description=description,
        aware_at=aware,
        occurred_at=_when("occurred_at", occurred_at, timezone),
        timezone=timezone or "UTC",
        window_start=_when("window_start", window_start, timezone),
        window_end=_when("window_end", window_end, timezone),
        systems=system,
        channels=channel,
        data_categories=category,
        consequences=consequences,
        measures=measures,
    )
    with open_desk() as desk:
        breach = desk.register.record(data, actor=cli_actor())
        _print(desk.summary(breach.ref))


@app.command("list")
def list_(
    open_only: bool = typer.Option(False, "--open", help="Only breaches not closed."),
) -> None:
    """Breaches, the most recent first, with their deadlines (JSON)."""
    from privacyops.registers.desk import countdown

    with open_desk() as desk:
        _print(
            [
                {**b.as_dict(), "countdown": countdown(b)}
                for b in desk.register.list(open_only=open_only)
            ]
        )


@app.command()
def show(ref: str = typer.Argument(..., help="The breach's reference (BR-...).")) -> None:
    """A breach with its deadline, countdown, affected counts and letters (JSON)."""
    with open_desk() as desk:
        _print(desk.summary(ref))


@app.command()
def update(
    ref: str = typer.Argument(..., help="The breach's reference."),
    description: str | None = typer.Option(None, "--description"),
    consequences: str | None = typer.Option(None, "--consequences"),
    measures: str | None = typer.Option(None, "--measures"),
    category: list[str] = typer.Option([], "--category", help="Replace the data categories."),
    channel: list[str] = typer.Option([], "--channel", help="Replace the channels."),
) -> None:
    """Change what is known of a breach (audited)."""
    changes: dict[str, Any] = {
        k: v
        for k, v in (
            ("description", description),
            ("consequences", consequences),
            ("measures", measures),
            ("data_categories", category or None),
            ("channels", channel or None),
        )
        if v is not None
    }
    with open_desk() as desk:
        desk.register.update(ref, changes, actor=cli_actor())
        _print(desk.summary(ref))


@app.command()
def assess(
    ref: str = typer.Argument(..., help="The breach's reference."),
    likelihood: str = typer.Option(..., "--likelihood", help="low, medium, high or very_high."),
    severity: str = typer.Option(..., "--severity", help="low, medium, high or very_high."),
    reasons: str = typer.Option(..., "--reasons", help="Why (Art. 33(5))."),
) -> None:
    """Likelihood x severity: no notification, notify the authority, or the people too."""
    with open_desk() as desk:
        breach = desk.register.assess(ref, likelihood, severity, reasons=reasons, actor=cli_actor())
        _print(breach.risk)


@app.command()
def notify(
    ref: str = typer.Argument(..., help="The breach's reference."),
    note: str = typer.Option(..., "--note", help="What this phase sent (Art. 33(4))."),
    at: str | None = typer.Option(None, "--at", help="When it was sent (default: now)."),
    late_reasons: str | None = typer.Option(None, "--late-reasons", help="Why after 72 hours."),
) -> None:
    """Note that the authority was notified (a phase of the notification)."""
    from privacyops.store.base import utcnow

    with open_desk() as desk:
        when = _when("at", at, desk.register.get(ref).timezone) or utcnow()
        breach = desk.register.notify_authority(
            ref, at=when, note=note, late_reasons=late_reasons, actor=cli_actor()
        )
        _print({"phases": breach.phases, "late": breach.late})


@app.command()
def affected(
    ref: str = typer.Argument(..., help="The breach's reference."),
    identities: bool = typer.Option(
        False, "--identities", help="List the people in plain text (DPO only; audited)."
    ),
) -> None:
    """How many people and records the breach affects, from the registry."""
    with open_desk() as desk:
        if identities:
            _print(desk.identities(ref, actor=cli_actor()))
        else:
            _print(desk.affected(desk.register.get(ref)).as_dict())


@app.command()
def draft(
    ref: str = typer.Argument(..., help="The breach's reference."),
    pdf: Path | None = typer.Option(None, "--pdf", help="Write the PDF to this file."),
) -> None:
    """The notification to the lead supervisory authority (Art. 33(3)): JSON, or a PDF."""
    with open_desk() as desk:
        if pdf is None:
            _print(desk.notification(ref))
            return
        pdf.write_bytes(desk.notification_pdf(ref))
        typer.echo(str(pdf))


@app.command()
def letters(
    ref: str = typer.Argument(..., help="The breach's reference."),
    send: bool = typer.Option(False, "--send", help="Send them (otherwise show the letter)."),
) -> None:
    """The letter to the people affected (Art. 34); with --send, e-mail it to each."""
    with open_desk() as desk:
        if not send:
            message = desk.letter(ref)
            typer.echo(f"Subject: {message.subject}\n\n{message.body}")
            return
        _print(desk.send_letters(ref, actor=cli_actor()).as_dict())
