"""SQL connector: access and erasure over real SQLite and PostgreSQL databases."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import sqlalchemy as sa

from _connectors_shop import DATASET, EVIL, fill
from privacyops.connectors import RemoteSystem, SQLConnector, TaskSystem, lint_dataset, load_dataset
from privacyops.errors import ConfigurationError, Conflict


@pytest.fixture
def dataset_file(tmp_path: Path) -> Path:
    path = tmp_path / "shop.yml"
    path.write_text(DATASET)
    return path


def test_dataset_lints_clean_against_the_live_database(db_url: str, dataset_file: Path) -> None:
    engine = fill(db_url)
    problems = lint_dataset(load_dataset(dataset_file), engine=engine)
    assert [p for p in problems if p.severity == "error"] == []


def test_access_follows_references_from_an_email(db_url: str, dataset_file: Path) -> None:
    engine = fill(db_url)
    connector = SQLConnector(load_dataset(dataset_file).dataset, engine, salt=b"s")
    assert isinstance(connector, RemoteSystem)
    assert not isinstance(connector, TaskSystem)
    result = connector.access({"email": "ada@example.com"})
    assert result.connector == "Shop database"
    assert result.status == "done"
    assert [r["name"] for r in result.records["customer"]] == ["Ada"]
    assert sorted(r["id"] for r in result.records["orders"]) == [100, 101]
    assert [r["product"] for r in result.records["order_line"]] == ["engine"]
    assert [r["street"] for r in result.records["address"]] == ["1 Analytical St"]
    assert sorted(r["ip"] for r in result.records["login"]) == ["10.0.0.0", "10.0.0.1", "10.0.0.2"]
    assert result.total == 1 + 2 + 1 + 1 + 3


def test_access_by_phone_and_by_customer_id(db_url: str, dataset_file: Path) -> None:
    engine = fill(db_url)
    connector = SQLConnector(load_dataset(dataset_file).dataset, engine, salt=b"s")
    by_phone = connector.access({"phone": "+449999"})
    assert [r["email"] for r in by_phone.records["customer"]] == ["bob@example.com"]
    by_id = connector.access({"customer_id": "2"})
    assert [r["id"] for r in by_id.records["orders"]] == [102]


def test_unknown_person_gives_no_records(db_url: str, dataset_file: Path) -> None:
    engine = fill(db_url)
    connector = SQLConnector(load_dataset(dataset_file).dataset, engine, salt=b"s")
    assert connector.access({"email": "nobody@example.com"}).records == {}


def test_sql_metacharacters_are_bound_parameters(db_url: str, dataset_file: Path) -> None:
    engine = fill(db_url)
    connector = SQLConnector(load_dataset(dataset_file).dataset, engine, salt=b"s")
    result = connector.access({"email": EVIL})
    assert [r["name"] for r in result.records["customer"]] == ["Evil"]
    connector.erase({"email": EVIL})
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM customer")).scalar() == 3


def test_erasure_masks_and_deletes_in_foreign_key_order(db_url: str, dataset_file: Path) -> None:
    engine = fill(db_url)
    connector = SQLConnector(load_dataset(dataset_file).dataset, engine, salt=b"pepper")
    result = connector.erase({"email": "ada@example.com"})
    assert result.affected == {"login": 3, "orders": 2, "address": 1, "customer": 1}
    with engine.connect() as conn:
        ada = conn.execute(sa.text("SELECT email, name, phone FROM customer WHERE id = 1")).one()
        assert ada.name is None
        assert ada.phone == "REDACTED"
        assert len(ada.email) == 40
        assert "ada" not in ada.email
        assert (
            conn.execute(sa.text("SELECT count(*) FROM address WHERE customer_id = 1")).scalar()
            == 0
        )
        assert (
            conn.execute(sa.text("SELECT count(*) FROM login WHERE customer_id = 1")).scalar() == 0
        )
        assert (
            conn.execute(
                sa.text("SELECT count(*) FROM orders WHERE customer_id = 1 AND address_id IS NULL")
            ).scalar()
            == 2
        )
        # the other customer is untouched
        bob = conn.execute(sa.text("SELECT email, name FROM customer WHERE id = 2")).one()
        assert (bob.email, bob.name) == ("bob@example.com", "Bob")
        assert (
            conn.execute(sa.text("SELECT count(*) FROM login WHERE customer_id = 2")).scalar() == 2
        )
    # after erasure the e-mail no longer finds the person
    assert connector.access({"email": "ada@example.com"}).records == {}


def test_rectification_writes_the_corrected_values_by_data_category(
    db_url: str, dataset_file: Path
) -> None:
    engine = fill(db_url)
    connector = SQLConnector(load_dataset(dataset_file).dataset, engine, salt=b"s")
    result = connector.rectify(
        {"email": "ada@example.com"},
        {"user.name": "Ada King", "user.contact.address.city": "Ockham", "user.job_title": "x"},
    )
    assert result.status == "done"
    assert result.action == "rectification"
    assert result.affected == {"customer": 1, "address": 1}  # no field holds a job title
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT name FROM customer WHERE id = 1")).scalar() == (
            "Ada King"
        )
        assert conn.execute(sa.text("SELECT city FROM address WHERE id = 10")).scalar() == (
            "Ockham"
        )
        # the other customer, and the keys that tie rows together, are untouched
        assert conn.execute(sa.text("SELECT name FROM customer WHERE id = 2")).scalar() == "Bob"
        assert conn.execute(sa.text("SELECT city FROM address WHERE id = 11")).scalar() == "Leeds"
    # a changed identity is corrected too, and the person is then found by it
    connector.rectify({"email": "ada@example.com"}, {"user.contact.email": "ada@king.example"})
    assert connector.access({"email": "ada@example.com"}).records == {}
    assert connector.access({"email": "ada@king.example"}).records["customer"][0]["id"] == 1
    # nobody found: nothing changed
    assert connector.rectify({"email": "nobody@example.com"}, {"user.name": "X"}).affected == {}


def test_keyed_hash_is_stable_for_equal_values(db_url: str, dataset_file: Path) -> None:
    engine = fill(db_url)
    connector = SQLConnector(load_dataset(dataset_file).dataset, engine, salt=b"pepper")
    connector.erase({"email": "ada@example.com"})
    with engine.begin() as conn:
        first = conn.execute(sa.text("SELECT email FROM customer WHERE id = 1")).scalar()
        conn.execute(sa.text("UPDATE customer SET email = 'ada@example.com' WHERE id = 1"))
    connector.erase({"email": "ada@example.com"})
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT email FROM customer WHERE id = 1")).scalar() == first


def test_hash_masking_without_a_salt_is_refused(dataset_file: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError):
        SQLConnector(load_dataset(dataset_file).dataset, f"sqlite:///{tmp_path / 'x.db'}")


def test_many_identities_in_one_request(db_url: str, dataset_file: Path) -> None:
    engine = fill(db_url)
    connector = SQLConnector(load_dataset(dataset_file).dataset, engine, salt=b"s")
    emails = ["ada@example.com", "bob@example.com"] + [f"x{i}@e.com" for i in range(2500)]
    result = connector.access({"email": emails})
    assert len(result.records["customer"]) == 2
    assert len(result.records["login"]) == 5


def test_erasure_blocked_by_an_undeclared_table_is_rolled_back(
    db_url: str, dataset_file: Path
) -> None:
    engine = fill(db_url)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "CREATE TABLE review (id INTEGER PRIMARY KEY, "
                "login_id INTEGER REFERENCES login(id))"
            )
        )
        conn.execute(sa.text("INSERT INTO review VALUES (1, 0)"))
    connector = SQLConnector(load_dataset(dataset_file).dataset, engine, salt=b"s")
    with pytest.raises(Conflict):
        connector.erase({"email": "ada@example.com"})
    with engine.connect() as conn:  # nothing half-done
        assert conn.execute(sa.text("SELECT name FROM customer WHERE id = 1")).scalar() == "Ada"
        assert conn.execute(sa.text("SELECT count(*) FROM login")).scalar() == 5


def test_dataset_in_yaml_example_of_docs_is_valid(tmp_path: Path) -> None:
    doc = Path(__file__).resolve().parents[1] / "docs" / "connectors.md"
    text = doc.read_text()
    block = text.split("```yaml\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "doc.yml"
    path.write_text(textwrap.dedent(block))
    problems = lint_dataset(load_dataset(path))
    assert [p for p in problems if p.severity == "error"] == []
