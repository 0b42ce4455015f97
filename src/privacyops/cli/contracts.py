"""``privacyops contracts``: contracts with processors and joint controllers (GDPR Art. 26,
28) and transfer impact assessments (Art. 44-46), and what is missing or overdue."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import TYPE_CHECKING, Any

import typer

from privacyops.cli.intake import cli_actor
from privacyops.cli.registers import open_registers

if TYPE_CHECKING:
    from privacyops.registers.contracts import ContractRegister

app = typer.Typer(
    rich_markup_mode=None,  # plain help, fast: see cli/app.py
    help="Processor contracts (Art. 28 DPA, Art. 26), SCC modules, TIAs, DPF checks.",
    no_args_is_help=True,
)


@contextmanager
def _register() -> Iterator[ContractRegister]:
    from privacyops.registers.contracts import ContractRegister

    with open_registers() as (db, manifest, _):
        yield ContractRegister(db, manifest)


def _print(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


def _date(name: str, text: str | None) -> date | None:
    from privacyops.errors import InvalidInput

    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            f"--{name.replace('_', '-')}: expected a date YYYY-MM-DD",
            details=[{"loc": [name], "msg": "expected YYYY-MM-DD"}],
        ) from None


@app.command("set")
def set_(
    processor: str = typer.Argument(..., help="The processor's id in the policy."),
    kind: str | None = typer.Option(None, "--kind", help="art28_dpa or art26_arrangement."),
    signed_on: str | None = typer.Option(None, "--signed-on", help="YYYY-MM-DD."),
    review_on: str | None = typer.Option(None, "--review-on", help="YYYY-MM-DD."),
    scc_module: int | None = typer.Option(None, "--scc-module", help="SCC module 1-4."),
    tia_on: str | None = typer.Option(None, "--tia-on", help="TIA date, YYYY-MM-DD."),
    tia_outcome: str | None = typer.Option(None, "--tia-outcome", help="What the TIA found."),
    tia_measures: str | None = typer.Option(None, "--tia-measures", help="Extra measures."),
    dpf_checked_on: str | None = typer.Option(None, "--dpf-checked-on", help="YYYY-MM-DD."),
) -> None:
    """Record or change the contract with a processor (only the options given; audited)."""
    given: dict[str, Any] = {
        "kind": kind,
        "signed_on": _date("signed_on", signed_on),
        "review_on": _date("review_on", review_on),
        "scc_module": scc_module,
        "tia_on": _date("tia_on", tia_on),
        "tia_outcome": tia_outcome,
        "tia_measures": tia_measures,
        "dpf_checked_on": _date("dpf_checked_on", dpf_checked_on),
    }
    with _register() as register:
        fields = {k: v for k, v in given.items() if v is not None}
        _print(register.set(processor, fields, actor=cli_actor()))


@app.command("list")
def list_() -> None:
    """The contracts recorded."""
    with _register() as register:
        _print(register.records())


@app.command()
def report(
    fail: bool = typer.Option(False, "--fail", help="Exit 1 when anything is found."),
) -> None:
    """What is missing or overdue: contracts, review dates, SCC modules, TIAs, DPF checks."""
    with _register() as register:
        found = register.report()
    _print([f.as_dict() for f in found])
    if fail and found:
        raise typer.Exit(1)
