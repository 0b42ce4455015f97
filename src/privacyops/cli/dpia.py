"""``privacyops dpia``: which processing activities need a data protection impact assessment
(GDPR Art. 35), and the register of DPIA records."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import typer

from privacyops.cli.intake import cli_actor

app = typer.Typer(
    rich_markup_mode=None,  # plain help, fast: see cli/app.py
    help="DPIA register: screen the policy's activities (WP248 and national lists), records.",
    no_args_is_help=True,
)


def _print(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


@app.command()
def screen(
    all_: bool = typer.Option(False, "--all", help="Also the activities that meet no criterion."),
) -> None:
    """Each activity (purpose x channel) with the criteria it meets and whether it needs a
    DPIA, and the state of its DPIA record (missing, review_overdue, done)."""
    from privacyops.policy import load_configured_policy
    from privacyops.registers.dpia import DpiaRegister, screen
    from privacyops.settings import get_settings
    from privacyops.store import open_database

    settings = get_settings()
    manifest = load_configured_policy(settings).current
    if all_:
        _print([s.as_dict() for s in screen(manifest)])
        return
    db = open_database(settings)
    try:
        _print(DpiaRegister(db, manifest).report())
    finally:
        db.dispose()


@app.command("list")
def list_() -> None:
    """The DPIA records."""
    from privacyops.policy import load_configured_policy
    from privacyops.registers.dpia import DpiaRegister
    from privacyops.settings import get_settings
    from privacyops.store import open_database

    settings = get_settings()
    db = open_database(settings)
    try:
        _print(DpiaRegister(db, load_configured_policy(settings).current).records())
    finally:
        db.dispose()


@app.command()
def add(
    activity: str = typer.Argument(..., help="channel/purpose, as `dpia screen` names it."),
    description: str = typer.Option(..., "--description", help="The processing (Art. 35(7)(a))."),
    necessity: str = typer.Option(..., "--necessity", help="Necessity and proportionality (b)."),
    risks: str = typer.Option(..., "--risks", help="Risks to people's rights and freedoms (c)."),
    measures: str = typer.Option(..., "--measures", help="Measures to address them (d)."),
    dpo_advice: str = typer.Option(..., "--dpo-advice", help="The DPO's advice (Art. 35(2))."),
    review: str = typer.Option(..., "--review", help="Review date, YYYY-MM-DD (Art. 35(11))."),
) -> None:
    """Record (or replace) the DPIA of an activity (audited)."""
    from privacyops.errors import InvalidInput
    from privacyops.policy import load_configured_policy
    from privacyops.registers.dpia import DpiaRegister
    from privacyops.settings import get_settings
    from privacyops.store import open_database

    try:
        review_date = date.fromisoformat(review)
    except ValueError:
        raise InvalidInput(
            "--review: expected a date YYYY-MM-DD",
            details=[{"loc": ["review"], "msg": "expected YYYY-MM-DD"}],
        ) from None
    settings = get_settings()
    db = open_database(settings)
    try:
        register = DpiaRegister(db, load_configured_policy(settings).current)
        fields = {
            "description": description,
            "necessity": necessity,
            "risks": risks,
            "measures": measures,
            "dpo_advice": dpo_advice,
            "review_date": review_date,
        }
        _print(register.add(activity, fields, actor=cli_actor()))
    finally:
        db.dispose()
