"""``privacyops dpia``: which processing activities need a data protection impact assessment
(GDPR Art. 35), and the register of DPIA records."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import typer

from privacyops.cli.intake import cli_actor
from privacyops.cli.registers import open_registers

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
    from privacyops.registers.dpia import DpiaRegister, screen

    with open_registers() as (db, manifest, _):
        if all_:
            _print([s.as_dict() for s in screen(manifest)])
        else:
            _print(DpiaRegister(db, manifest).report())


@app.command("list")
def list_() -> None:
    """The DPIA records."""
    from privacyops.registers.dpia import DpiaRegister

    with open_registers() as (db, manifest, _):
        _print(DpiaRegister(db, manifest).records())


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
    from privacyops.registers.dpia import DpiaRegister

    try:
        review_date = date.fromisoformat(review)
    except ValueError:
        raise InvalidInput(
            "--review: expected a date YYYY-MM-DD",
            details=[{"loc": ["review"], "msg": "expected YYYY-MM-DD"}],
        ) from None
    with open_registers() as (db, manifest, _):
        register = DpiaRegister(db, manifest)
        fields = {
            "description": description,
            "necessity": necessity,
            "risks": risks,
            "measures": measures,
            "dpo_advice": dpo_advice,
            "review_date": review_date,
        }
        _print(register.add(activity, fields, actor=cli_actor()))
