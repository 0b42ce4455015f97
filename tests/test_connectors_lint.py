"""Dataset files: lint (with file:line) and the `privacyops dataset` commands."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml

from _connectors_shop import DATASET, fill
from privacyops.connectors import SQLConnector, lint_dataset, load_dataset
from privacyops.errors import InvalidInput

REPO = Path(__file__).resolve().parents[1]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "ds.yml"
    path.write_text(text)
    return path


def messages(tmp_path: Path, text: str, **kw: Any) -> list[str]:
    return [str(p) for p in lint_dataset(load_dataset(write(tmp_path, text)), **kw)]


def test_schema_errors_carry_file_and_line(tmp_path: Path) -> None:
    text = DATASET.replace("masking: nullify\n", "masking: shred\n", 1)
    with pytest.raises(InvalidInput) as info:
        load_dataset(write(tmp_path, text))
    (item,) = info.value.details
    line = text.splitlines().index("          masking: shred") + 1
    assert item["where"] == f"{tmp_path / 'ds.yml'}:{line}"
    assert "nullify" in item["msg"]


def test_yaml_syntax_error_has_a_line(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as info:
        load_dataset(write(tmp_path, "dataset:\n  name: [x\n"))
    assert info.value.details[0]["line"] is not None


def test_unknown_reference_and_category(tmp_path: Path) -> None:
    text = DATASET.replace("references: customer.id}", "references: client.id}", 1).replace(
        "[user.name]", "[user.nickname]"
    )
    found = messages(tmp_path, text)
    line_ref = next(i for i, s in enumerate(text.splitlines(), 1) if "client.id" in s)
    assert any(
        f"ds.yml:{line_ref}: error:" in m and "unknown collection client" in m for m in found
    )
    assert any("unknown data category user.nickname" in m for m in found)


def test_undeclared_category_against_the_policy(tmp_path: Path) -> None:
    found = messages(tmp_path, DATASET, declared_categories=["user.contact", "user.name"])
    assert any("user.device.ip_address is not declared by the policy" in m for m in found)
    assert not any("user.contact.email is not declared" in m for m in found)


def test_cycle_is_an_error(tmp_path: Path) -> None:
    text = DATASET.replace(
        "        - name: created_at\n",
        "        - name: created_at\n          references: login.id\n",
    )
    assert any("reference cycle" in m for m in messages(tmp_path, text))


def test_unreachable_personal_data_is_an_error(tmp_path: Path) -> None:
    text = DATASET + (
        "    - name: newsletter\n"
        "      fields:\n"
        "        - {name: id, primary_key: true}\n"
        "        - {name: address, categories: [user.contact.email]}\n"
    )
    assert any(
        "newsletter holds personal data but no identity" in m for m in messages(tmp_path, text)
    )


def test_no_identity_at_all(tmp_path: Path) -> None:
    text = DATASET.replace("identity: ", "# identity: ")
    assert any("no field is an identity" in m for m in messages(tmp_path, text))


def test_deleting_referenced_rows_needs_the_children_too(tmp_path: Path) -> None:
    text = DATASET.replace(
        "{name: address_id, references: address.id, masking: nullify}",
        "{name: address_id, references: address.id}",
    )
    assert any(
        "address rows are deleted but orders.address_id" in m for m in messages(tmp_path, text)
    )


def test_masking_a_key_is_an_error(tmp_path: Path) -> None:
    text = DATASET.replace(
        "- {name: id, primary_key: true}\n        - {name: customer_id, "
        "references: customer.id}\n        - {name: street",
        "- {name: id, primary_key: true, masking: nullify}\n        - "
        "{name: customer_id, references: customer.id}\n        - {name: street",
    )
    assert any("address.id is a key other rows point to" in m for m in messages(tmp_path, text))


def test_live_database_unknown_table_and_column(db_url: str, tmp_path: Path) -> None:
    engine = fill(db_url)
    text = DATASET.replace("{name: street,", "{name: street_name,").replace(
        "- name: login\n", "- name: logins\n"
    )
    found = messages(tmp_path, text, engine=engine)
    assert any("column address.street_name does not exist" in m for m in found)
    assert any("table logins does not exist" in m for m in found)


def test_undeclared_foreign_key_is_a_warning(db_url: str, tmp_path: Path) -> None:
    engine = fill(db_url)
    text = DATASET.replace("{name: order_id, references: orders.id}", "{name: order_id}")
    found = messages(tmp_path, text, engine=engine)
    assert any("warning" in m and "order_line.order_id -> orders.id" in m for m in found)


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "privacyops", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO / "src")},
        timeout=120,
        check=False,
    )


def test_generate_drafts_a_dataset_that_lints_and_runs(db_url: str, tmp_path: Path) -> None:
    engine = fill(db_url)
    out = tmp_path / "draft.yml"
    done = cli("dataset", "generate", db_url, "--name", "shop", "-o", str(out))
    assert done.returncode == 0, done.stderr
    data = yaml.safe_load(out.read_text())["dataset"]
    tables = {c["name"]: {f["name"]: f for f in c["fields"]} for c in data["collections"]}
    assert set(tables) == {"customer", "address", "orders", "order_line", "login"}
    assert tables["customer"]["email"]["identity"] == "email"
    assert tables["customer"]["email"]["categories"] == ["user.contact.email"]
    assert tables["customer"]["phone"]["categories"] == ["user.contact.phone_number"]
    assert tables["customer"]["id"]["identity"] == "customer_id"
    assert tables["orders"]["customer_id"]["references"] == ["customer.id"]
    assert tables["login"]["ip"]["categories"] == ["user.device.ip_address"]
    assert tables["address"]["street"]["masking"] == "nullify"

    lint = cli("dataset", "lint", str(out), "--url", db_url, "--no-policy")
    assert lint.returncode == 0, lint.stdout + lint.stderr
    parsed = load_dataset(out)
    result = SQLConnector(parsed.dataset, engine, salt=b"s").erase({"email": "ada@example.com"})
    assert result.affected["customer"] == 1
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT name FROM customer WHERE id = 1")).scalar() is None


def test_lint_command_prints_locations_and_fails(tmp_path: Path) -> None:
    path = write(tmp_path, DATASET.replace("[user.name]", "[user.nickname]"))
    done = cli("dataset", "lint", str(path), "--no-policy")
    assert done.returncode == 2
    line = next(i for i, s in enumerate(path.read_text().splitlines(), 1) if "user.nickname" in s)
    assert f"{path}:{line}: error: customer.name: unknown data category user.nickname" in (
        done.stdout.replace("\n", " ")
    )
    assert "Traceback" not in done.stderr


def test_lint_command_ok(tmp_path: Path) -> None:
    done = cli("dataset", "lint", str(write(tmp_path, DATASET)), "--no-policy")
    assert done.returncode == 0
    assert "ok" in done.stdout


def test_lint_command_checks_the_policy_in_force(tmp_path: Path) -> None:
    # The seed policy declares the IP address (Albacross, policy 2.2.1), not bank accounts.
    text = DATASET.replace("[user.device.ip_address]", "[user.financial.bank_account]")
    done = cli("dataset", "lint", str(write(tmp_path, text)))
    assert done.returncode == 2
    assert "is not declared by the policy" in done.stdout
    assert "user.contact.email is not declared" not in done.stdout
