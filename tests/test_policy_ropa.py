"""Records of processing (GDPR Art. 30(1)): the files a DPO opens, from the shipped policy."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import openpyxl
import pytest
import yaml
from typer.testing import CliRunner

from privacyops.cli.app import app
from privacyops.errors import NotFound
from privacyops.policy import default_policy_book
from privacyops.policy.generate import minimal_manifest_data
from privacyops.policy.ropa import COLUMNS, build_ropa

runner = CliRunner()
VERSIONS = [m.version.id for m in default_policy_book().versions]


def _activities(version: str) -> int:
    m = default_policy_book().get(version)
    return sum(max(1, len(c.purposes)) for c in m.channels)


def _csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


@pytest.mark.parametrize("version", VERSIONS)
def test_csv_has_one_row_per_activity_with_every_art_30_field(version: str) -> None:
    result = runner.invoke(app, ["policy", "ropa", "--version", version, "--format", "csv"])
    assert result.exit_code == 0, result.output
    rows = _csv_rows(result.stdout)
    assert list(rows[0]) == list(COLUMNS.values())
    assert len(rows) == _activities(version)
    for row in rows:
        assert row["Policy version"] == version
        for title in COLUMNS.values():
            assert row[title].strip(), (row["Activity id"], title)
        assert (
            "Aleksey Lekontsev, dpo@altoros.com" in row["Data protection officer (Art. 30(1)(a))"]
        )
        assert "Altoros Americas LLC" in row["Controller(s) and contact (Art. 30(1)(a))"]
        assert "Altoros Norge AS" in row["Representative (Art. 30(1)(a), 27)"]
        assert "data encryption" in row["Security measures (Art. 30(1)(g), 32(1))"]
    ids = [row["Activity id"] for row in rows]
    assert len(set(ids)) == len(ids)


def _customer_retention(version: str) -> str:
    result = runner.invoke(app, ["policy", "ropa", "--version", version])
    rows = _csv_rows(result.stdout)
    found = {
        row["Time limits for erasure (Art. 30(1)(f))"]
        for row in rows
        if row["Activity id"].startswith("customer/")
    }
    assert len(found) == 1
    return found.pop()


def test_retention_and_controllers_follow_each_version() -> None:
    assert _customer_retention("v1").startswith("10 years")
    assert _customer_retention("v2").startswith("6 years")
    assert _customer_retention("v3").startswith("6 years")
    v1 = _csv_rows(runner.invoke(app, ["policy", "ropa", "--version", "v1"]).stdout)
    v3 = _csv_rows(runner.invoke(app, ["policy", "ropa", "--version", "v3"]).stdout)
    transfers = "Third-country transfers and safeguards (Art. 30(1)(e), 49(1))"
    assert "Altoros Development LLC (BY): standard contractual clauses" in v1[0][transfers]
    assert "(BY)" not in v3[0][transfers]
    assert "Altoros Development LLC" in v1[0]["Controller(s) and contact (Art. 30(1)(a))"]
    assert "Altoros Norge AS" in v3[0]["Controller(s) and contact (Art. 30(1)(a))"]


def test_default_is_the_current_version() -> None:
    rows = _csv_rows(runner.invoke(app, ["policy", "ropa"]).stdout)
    assert {row["Policy version"] for row in rows} == {VERSIONS[-1]}


def test_xlsx_opens_with_headings_and_rows(tmp_path: Path) -> None:
    out = tmp_path / "ropa.xlsx"
    result = runner.invoke(app, ["policy", "ropa", "--format", "xlsx", "--output", str(out)])
    assert result.exit_code == 0, result.output
    wb = openpyxl.load_workbook(out)
    ws = wb["Records of processing"]
    rows = list(ws.iter_rows(values_only=True))
    assert list(rows[0]) == list(COLUMNS.values())
    assert len(rows) - 1 == _activities(VERSIONS[-1])
    assert ws.freeze_panes == "A2"
    gmail = [r for r in rows[1:] if r[1] == "web_form/answer-request"]
    assert gmail
    assert "Privacy Shield, invalid since 16 July 2020" in str(gmail[0][11])


def test_json_and_csv_to_a_file(tmp_path: Path) -> None:
    result = runner.invoke(app, ["policy", "ropa", "--format", "json", "--version", "v2"])
    body = json.loads(result.stdout)
    assert len(body["records"]) == _activities("v2")
    assert set(body["records"][0]) == set(COLUMNS)
    out = tmp_path / "ropa.csv"
    result = runner.invoke(app, ["policy", "ropa", "--output", str(out)])
    assert result.exit_code == 0
    assert len(_csv_rows(out.read_text(encoding="utf-8"))) == _activities(VERSIONS[-1])


def test_xlsx_needs_a_file() -> None:
    result = runner.invoke(app, ["policy", "ropa", "--format", "xlsx"])
    assert result.exit_code == 2
    assert "xlsx is binary: give a file" in result.output


def test_unknown_version_is_not_found() -> None:
    result = runner.invoke(app, ["policy", "ropa", "--version", "v9"])
    assert isinstance(result.exception, NotFound)
    assert "no policy version 'v9' (versions: v1, v2, v3)" in str(result.exception)


def test_another_book_by_path(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump(minimal_manifest_data()), encoding="utf-8")
    rows = _csv_rows(runner.invoke(app, ["policy", "ropa", "--policy", str(path)]).stdout)
    assert [row["Activity id"] for row in rows] == ["customers/contract"]
    transfers = rows[0]["Third-country transfers and safeguards (Art. 30(1)(e), 49(1))"]
    assert transfers == "Mailer (SE): within the EEA, no transfer"
    assert rows[0]["Categories of recipients (Art. 30(1)(d))"] == "Mailer (processor)"
    assert rows[0]["Legal basis (Art. 6(1))"] == "contract"


@pytest.mark.parametrize("version", VERSIONS)
def test_every_third_party_appears_with_its_role_and_its_transfer(version: str) -> None:
    m = default_policy_book().get(version)
    rows = build_ropa(m)
    recipients = " ".join(r.recipients for r in rows)
    transfers = " ".join(r.transfers for r in rows)
    third_parties = [p.name for p in m.processors] + [r.name for r in m.recipients]
    assert len(third_parties) == (45 if version == "v1" else 46)
    for name in third_parties:
        assert f"{name} (" in recipients, name
        assert f"{name} (" in transfers, name
    assert "Facebook Audience Network (joint controller, no Art. 26 arrangement described)" in (
        recipients
    )
    assert "Skype (independent controller)" in recipients
    assert "Organizers of the event (independent controller)" in recipients
    assert "Skype (country not stated): the provider's own terms" in transfers
    assert "Hotjar (MT): within the EEA, no transfer" in transfers
    assert "Meta Platforms, Inc. is certified under the EU-US Data Privacy Framework" in transfers
    if version == "v3":
        assert (
            "Altoros Americas LLC (US): standard contractual clauses (Art. 46(2)(c)); "
            "no transfer impact assessment on record"
        ) in transfers
