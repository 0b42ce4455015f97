"""The issue's "done when": an access and an erasure request for a person present in the
registry, a SQL dataset (PostgreSQL in the postgresql run) and the local CRM server."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pikepdf
import pytest
import sqlalchemy as sa
from tests._rights import decide_recipients, phone_texts, submit_and_verify
from tests.conftest import SmtpSink
from tests.test_rights_workflow import LINK, ingest

from _connectors_shop import dataset_yaml, fill
from _crm_server import CONNECTOR_YAML, CRM, TOKEN, seed, serve
from privacyops.connectors import load_connectors
from privacyops.rights.downloads import open_export
from privacyops.rights.engine import tick
from privacyops.rights.factory import build_service
from privacyops.rights.service import RightsService
from privacyops.settings import Settings
from privacyops.store import Database


@pytest.fixture
def world(
    tmp_path: Path, db_url: str, smtp_server: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[RightsService, CRM, sa.Engine]]:
    monkeypatch.setenv("CRM_TOKEN", TOKEN)
    # PostgreSQL: the shop's tables live in the test schema; SQLite: in a file of their own
    # (a connected system is never privacyops' own SQLite file).
    shop_url = db_url if db_url.startswith("postgresql") else f"sqlite:///{tmp_path / 'shop.db'}"
    shop = fill(shop_url)
    crm = CRM()
    seed(crm)
    with serve(crm) as base_url:
        folder = tmp_path / "connectors"
        folder.mkdir()
        (folder / "shop.yml").write_text(dataset_yaml(shop_url))
        (folder / "crm.yml").write_text(CONNECTOR_YAML.format(base_url=base_url))
        settings = Settings(
            data_dir=tmp_path / "data",
            database_url=db_url,
            smtp_port=smtp_server.port,
            second_factor="phone_code",
            connectors_dir=folder,
            connector_hash_salt="pepper",
        )
        db = Database(db_url, master_key=b"k" * 32)
        db.upgrade()
        service = build_service(settings, db=db, connectors=load_connectors(settings, db))
        yield service, crm, shop
        db.dispose()


def test_access_export_lists_what_each_system_returned(world: Any, smtp_server: SmtpSink) -> None:
    service, _crm, _shop = world
    ingest(service, "ada@example.com")
    receipt = submit_and_verify(service, smtp_server, "access", "ada@example.com")
    tick(service)
    assert service.status(receipt.request_id, receipt.token)["state"] == "completed"
    token = LINK.search(smtp_server.body(smtp_server.to("ada@example.com")[-1]))
    assert token
    password = phone_texts(service)[-1]["text"].rsplit(": ", 1)[1]
    _, _, content = open_export(service, token.group(1))
    with pikepdf.open(io.BytesIO(content), password=password) as pdf:
        data = json.loads(pdf.attachments["data.json"].get_file().read_bytes())
    systems = {s["connector"]: s for s in data["other_systems"]}
    assert systems["Shop database"]["status"] == "done"
    assert systems["Shop database"]["records"]["customer"][0]["name"] == "Ada"
    assert len(systems["Company CRM"]["records"]["contacts"]) == 3
    assert data["parts"]  # and the registry's own record


def test_erasure_reaches_registry_database_and_crm(world: Any, smtp_server: SmtpSink) -> None:
    service, crm, shop = world
    ingest(service, "ada@example.com")
    receipt = submit_and_verify(service, smtp_server, "erasure", "ada@example.com")
    tick(service)
    decide_recipients(service, receipt.request_id)  # Art. 19: recipients with no address
    tick(service)
    status = service.status(receipt.request_id, receipt.token)
    assert status["state"] == "completed"
    other = {s["system"]: s for s in status["outcome"]["other_systems"]}
    assert other["Shop database"] == {"system": "Shop database", "status": "done", "erased": 7}
    assert other["Company CRM"]["erased"] == 10
    with shop.connect() as conn:
        assert conn.execute(sa.text("SELECT name FROM customer WHERE id = 1")).scalar() is None
        assert (
            conn.execute(sa.text("SELECT count(*) FROM login WHERE customer_id = 1")).scalar() == 0
        )
    assert set(crm.contacts) == {4}


def test_connectors_dir_is_the_default_and_manual_tasks_carry_the_request(
    tmp_path: Path, db_url: str, smtp_server: SmtpSink
) -> None:
    from privacyops.connectors import list_tasks

    folder = tmp_path / "connectors"
    folder.mkdir()
    (folder / "trello.yml").write_text(
        "connector: {name: trello, type: manual, system: Trello, processor: trello}\n"
    )
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=db_url,
        smtp_port=smtp_server.port,
        second_factor="phone_code",
        connectors_dir=folder,
    )
    db = Database(db_url, master_key=b"k" * 32)
    db.upgrade()
    service = build_service(settings, db=db)  # connectors from PRIVACYOPS_CONNECTORS_DIR
    assert [c.name for c in service.connectors] == ["Trello"]
    ingest(service, "ada@example.com")
    receipt = submit_and_verify(service, smtp_server, "erasure", "ada@example.com")
    tick(service)
    status = service.status(receipt.request_id, receipt.token)
    assert status["outcome"]["other_systems"] == [
        {"system": "Trello", "status": "pending", "erased": 0}
    ]
    (task,) = list_tasks(db)
    assert task.request_ref == receipt.request_id
    assert task.action == "erasure"
    db.dispose()
