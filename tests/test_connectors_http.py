"""HTTP connector against a real local CRM server (contacts, notes, deals)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from _crm_server import CONNECTOR_YAML, CRM, TOKEN, seed, serve
from privacyops.connectors import HTTPConnector, RemoteSystem, TaskSystem, load_connector_file
from privacyops.errors import ConfigurationError, DependencyUnavailable, InvalidInput
from privacyops.settings import Settings


@pytest.fixture
def crm() -> CRM:
    crm = CRM()
    seed(crm)
    return crm


@pytest.fixture
def connector(
    crm: CRM, tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> Iterator[HTTPConnector]:
    monkeypatch.setenv("CRM_TOKEN", TOKEN)
    with serve(crm) as base_url:
        path = tmp_path / "crm.yml"
        path.write_text(CONNECTOR_YAML.format(base_url=base_url))
        loaded = load_connector_file(path, settings)
        assert isinstance(loaded, HTTPConnector)
        yield loaded


def test_access_follows_pages_and_parents(connector: HTTPConnector) -> None:
    assert isinstance(connector, RemoteSystem)
    assert not isinstance(connector, TaskSystem)
    result = connector.access({"email": "ada@example.com"})
    assert result.connector == "Company CRM"
    assert result.kind == "http"
    assert sorted(c["id"] for c in result.records["contacts"]) == [1, 2, 3]  # 2 pages
    assert {c["source"] for c in result.records["contacts"]} == {"full record"}  # read
    assert sorted(n["id"] for n in result.records["notes"]) == [10, 11]
    assert sorted(d["id"] for d in result.records["deals"]) == [100, 101, 102, 103, 104]
    assert result.total == 10


def test_erasure_reaches_the_server(connector: HTTPConnector, crm: CRM) -> None:
    result = connector.erase({"email": "ada@example.com"})
    assert result.affected == {"deals": 5, "notes": 2, "contacts": 3}
    assert set(crm.contacts) == {4}
    assert set(crm.notes) == {12}
    assert crm.deals[100]["contact_email"] == "erased-100@invalid"
    assert crm.deals[100]["owner_note"] is None
    assert crm.deals[200]["contact_email"] == "bob@example.com"
    # notes were deleted before their contacts
    deletes = [c for c in crm.calls if c.startswith("DELETE")]
    assert deletes.index("DELETE /api/notes/10") < deletes.index("DELETE /api/contacts/1")
    assert connector.access({"email": "ada@example.com"}).records == {}


@pytest.mark.parametrize("fault", ["503", "garbage", "slow"])
def test_passing_faults_are_retried(connector: HTTPConnector, crm: CRM, fault: str) -> None:
    crm.faults.extend([fault, fault])
    result = connector.access({"email": "ada@example.com"})
    assert result.total == 10


def test_a_server_that_stays_down_is_not_reported_done(connector: HTTPConnector, crm: CRM) -> None:
    crm.faults.extend(["503"] * 20)
    with pytest.raises(DependencyUnavailable) as info:
        connector.erase({"email": "ada@example.com"})
    assert "ada" not in info.value.message
    assert len(crm.contacts) == 4  # nothing erased


def test_a_server_that_is_not_there(
    tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRM_TOKEN", TOKEN)
    path = tmp_path / "crm.yml"
    path.write_text(CONNECTOR_YAML.format(base_url="http://127.0.0.1:9"))
    connector = load_connector_file(path, settings)
    with pytest.raises(DependencyUnavailable):
        connector.access({"email": "ada@example.com"})


def test_wrong_token_is_a_configuration_error(
    connector: HTTPConnector, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRM_TOKEN", "wrong")
    with pytest.raises(ConfigurationError):
        connector.access({"email": "ada@example.com"})


def test_connector_file_errors_have_lines(tmp_path: Path, settings: Settings) -> None:
    text = CONNECTOR_YAML.format(base_url="http://127.0.0.1:1").replace(
        'method: DELETE, path: "/notes', 'method: ZAP, path: "/notes'
    )
    path = tmp_path / "crm.yml"
    path.write_text(text)
    with pytest.raises(InvalidInput) as info:
        load_connector_file(path, settings)
    line = next(i for i, s in enumerate(text.splitlines(), 1) if "ZAP" in s)
    assert any(d["where"] == f"{path}:{line}" for d in info.value.details)


def test_identity_with_url_metacharacters_is_quoted(connector: HTTPConnector, crm: CRM) -> None:
    crm.contacts[9] = {"id": 9, "email": "a&b=c/../x@example.com", "name": "Odd"}
    result = connector.access({"email": "a&b=c/../x@example.com"})
    assert [c["id"] for c in result.records["contacts"]] == [9]
