"""Processor contracts and transfer impact assessments (GDPR Art. 26, 28, 44-46)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from privacyops.audit import AuditLog
from privacyops.errors import InvalidInput
from privacyops.policy import default_policy_book
from privacyops.registers.contracts import ContractRegister
from privacyops.store import Database

TODAY = date(2026, 12, 4)


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database(db_url, master_key=b"M" * 32)
    database.upgrade()
    yield database
    database.dispose()


def _codes(register: ContractRegister, processor: str) -> set[str]:
    return {f.code for f in register.report(TODAY) if f.processor == processor}


def test_missing_overdue_and_scc_without_tia(db: Database) -> None:
    register = ContractRegister(db, default_policy_book().current)
    assert _codes(register, "hubspot") == {"no_contract"}
    register.set(
        "hubspot",
        {"kind": "art28_dpa", "signed_on": date(2024, 1, 10), "review_on": TODAY + timedelta(1)},
        actor="staff:1",
    )
    assert _codes(register, "hubspot") == set()
    register.set("hubspot", {"scc_module": 2}, actor="staff:1")
    assert _codes(register, "hubspot") == {"scc_without_tia"}
    register.set(
        "hubspot",
        {"tia_on": date(2025, 6, 1), "tia_outcome": "Acceptable with encryption at rest."},
        actor="staff:1",
    )
    assert _codes(register, "hubspot") == set()
    register.set("hubspot", {"review_on": TODAY - timedelta(days=1)}, actor="staff:1")
    assert _codes(register, "hubspot") == {"review_overdue"}
    assert AuditLog(db).tail(1)[0].action == "contract.record"
    assert [r["processor"] for r in register.records()] == ["hubspot"]


def test_bad_input_is_refused(db: Database) -> None:
    register = ContractRegister(db, default_policy_book().current)
    with pytest.raises(InvalidInput, match="not a processor"):
        register.set("nobody", {"kind": "art28_dpa"}, actor="x")
    with pytest.raises(InvalidInput, match="kind"):
        register.set("hubspot", {"kind": "handshake"}, actor="x")
    with pytest.raises(InvalidInput, match="scc_module"):
        register.set("hubspot", {"kind": "art28_dpa", "scc_module": 7}, actor="x")
    with pytest.raises(InvalidInput, match="required for a new contract"):
        register.set("hubspot", {"scc_module": 2}, actor="x")
    assert register.records() == []


def test_cli_contracts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from privacyops.cli.app import app

    monkeypatch.setenv("PRIVACYOPS_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.sqlite'}")
    runner = CliRunner()
    done = runner.invoke(
        app, ["contracts", "set", "zoom", "--kind", "art28_dpa", "--scc-module", "2"]
    )
    assert done.exit_code == 0, done.output
    out = runner.invoke(app, ["contracts", "report", "--fail"])
    assert out.exit_code == 1
    zoom = {f["code"] for f in json.loads(out.output) if f["processor"] == "zoom"}
    assert zoom == {"not_signed", "no_review_date", "scc_without_tia"}
    bad = runner.invoke(app, ["contracts", "set", "zoom", "--tia-on", "yesterday"])
    assert bad.exit_code != 0
