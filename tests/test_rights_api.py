"""The rights HTTP API and CLI: one error shape, nothing revealed, staff routes behind auth."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pikepdf
import pytest
from fastapi.testclient import TestClient
from tests._rights import last_code, submit_and_verify_http
from tests._web import database, make_app
from tests.conftest import SmtpSink
from typer.testing import CliRunner

from privacyops.accounts import create_api_token
from privacyops.cli.app import app as cli_app
from privacyops.store.registry import IdentityIn, RecordIn, Registry, Submission

LINK = re.compile(r"/api/v1/rights/exports/(\S+)")


@pytest.fixture
def client(tmp_path: Path, db_url: str, smtp_server: SmtpSink) -> TestClient:
    app = make_app(
        tmp_path, db_url, smtp_port=smtp_server.port, second_factor="none", runner_enabled=False
    )
    return TestClient(app)


def staff_headers(client: TestClient, *scopes: str) -> dict[str, str]:
    with database(client.app).session() as session:  # type: ignore[arg-type]
        _, token = create_api_token(session, "desk", list(scopes))
    return {"Authorization": f"Bearer {token}"}


def submit(client: TestClient, **body: Any) -> dict[str, Any]:
    response = client.post("/api/v1/rights/requests", json=body)
    assert response.status_code == 202, response.text
    data: dict[str, Any] = response.json()
    return data


def assert_error(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert "example.com" not in response.text  # no personal data echoed


def test_access_request_over_http_end_to_end(client: TestClient, smtp_server: SmtpSink) -> None:
    Registry(database(client.app)).ingest(  # type: ignore[arg-type]
        Submission(
            [IdentityIn("email", "ada@example.com")],
            RecordIn(
                channel="web_form",
                legal_basis="consent",
                policy_version="v3",
                payload={"name": "Ada"},
            ),
        )
    )
    receipt = submit_and_verify_http(client, smtp_server, type="access", email="ada@example.com")
    headers = {"X-Request-Token": receipt["token"]}
    result = CliRunner().invoke(
        cli_app,
        ["request", "run"],
        env={
            "PRIVACYOPS_DATA_DIR": str(client.app.state.settings.data_dir),  # type: ignore[attr-defined]
            "PRIVACYOPS_DATABASE_URL": client.app.state.settings.effective_database_url,  # type: ignore[attr-defined]
            "PRIVACYOPS_SMTP_PORT": str(smtp_server.port),
            "PRIVACYOPS_SECOND_FACTOR": "none",
        },
    )
    assert result.exit_code == 0, result.output
    status = client.get(f"/api/v1/rights/requests/{receipt['request_id']}", headers=headers)
    assert status.json()["state"] == "completed"
    assert status.json()["clock"]["deadline"]
    mails = smtp_server.to("ada@example.com")
    link = LINK.search(smtp_server.body(mails[-2]))  # the link, then the password
    password = smtp_server.body(mails[-1]).rsplit(": ", 1)[1].strip()
    assert link
    # looking at the link (a mail scanner, a second click) spends nothing
    for _ in range(2):
        page = client.get(f"/api/v1/rights/exports/{link.group(1)}")
        assert page.status_code == 200
        assert "Download my data" in page.text
    first = client.post(f"/api/v1/rights/exports/{link.group(1)}")
    assert first.status_code == 200
    assert first.headers["cache-control"] == "no-store"
    with pikepdf.open(io.BytesIO(first.content), password=password) as pdf:
        data = json.loads(pdf.attachments["data.json"].get_file().read_bytes())
    assert data["parts"][0]["data"] == {"name": "Ada"}
    assert_error(client.post(f"/api/v1/rights/exports/{link.group(1)}"), 400, "verification_failed")
    used = client.get(f"/api/v1/rights/exports/{link.group(1)}", headers={"accept": "text/html"})
    assert used.status_code == 410
    assert "This link no longer works" in used.text


def test_bad_input_gets_one_error_shape_and_reveals_nothing(
    client: TestClient, smtp_server: SmtpSink
) -> None:
    assert_error(
        client.post("/api/v1/rights/requests", json={"type": "delete", "email": "a@example.com"}),
        400,
        "invalid_input",
    )
    assert_error(
        client.post("/api/v1/rights/requests", json={"type": "access", "email": "nope"}),
        400,
        "invalid_input",
    )
    assert_error(
        client.post("/api/v1/rights/requests", json={"type": "access"}), 422, "invalid_input"
    )
    receipt = submit(client, type="complaint", email="a@example.com")
    rid = receipt["request_id"]
    for headers, body in (
        ({"X-Request-Token": receipt["token"]}, {"code": "12345x"}),
        ({"X-Request-Token": "someone-elses"}, {"code": last_code(smtp_server, "a@example.com")}),
    ):
        assert_error(
            client.post(f"/api/v1/rights/requests/{rid}/verify", json=body, headers=headers),
            400,
            "verification_failed",
        )
    assert_error(client.get(f"/api/v1/rights/requests/{rid}"), 422, "invalid_input")
    assert_error(
        client.get(f"/api/v1/rights/requests/{rid}", headers={"X-Request-Token": "x"}),
        400,
        "verification_failed",
    )
    assert_error(
        client.post("/api/v1/rights/exports/forged-token-000000"), 400, "verification_failed"
    )
    # a known and an unknown person get byte-identical answers apart from the ids
    Registry(database(client.app)).ingest(  # type: ignore[arg-type]
        Submission(
            [IdentityIn("email", "known@example.com")],
            RecordIn(channel="web_form", legal_basis="consent", policy_version="v3"),
        )
    )
    one = submit(client, type="erasure", email="known@example.com")
    two = submit(client, type="erasure", email="unknown@example.com")
    assert {k: v for k, v in one.items() if k not in ("request_id", "token")} == {
        k: v for k, v in two.items() if k not in ("request_id", "token")
    }


def test_submissions_are_rate_limited_per_client(
    tmp_path: Path, db_url: str, smtp_server: SmtpSink
) -> None:
    app = make_app(
        tmp_path, db_url, smtp_port=smtp_server.port, rights_submit_per_hour=3, runner_enabled=False
    )
    client = TestClient(app)
    for n in range(3):
        submit(client, type="complaint", email=f"p{n}@example.com")
    response = client.post(
        "/api/v1/rights/requests", json={"type": "complaint", "email": "p9@example.com"}
    )
    assert_error(response, 429, "rate_limited")
    assert int(response.headers["retry-after"]) > 0


def test_staff_routes_need_a_scope(client: TestClient, smtp_server: SmtpSink) -> None:
    receipt = submit(client, type="complaint", email="s@example.com")
    rid = receipt["request_id"]
    assert_error(client.get("/api/v1/rights/staff/requests"), 401, "authentication_required")
    reader = staff_headers(client, "requests:read")
    listed = client.get("/api/v1/rights/staff/requests", headers=reader)
    assert [r["request_id"] for r in listed.json()] == [rid]
    assert_error(
        client.post(
            f"/api/v1/rights/staff/requests/{rid}/extend",
            json={"reason": "complex"},
            headers=reader,
        ),
        403,
        "forbidden",
    )
    writer = staff_headers(client, "requests:read", "requests:write")
    extended = client.post(
        f"/api/v1/rights/staff/requests/{rid}/extend", json={"reason": "complex"}, headers=writer
    )
    assert extended.json()["clock"]["extended"] is True
    refused = client.post(
        f"/api/v1/rights/staff/requests/{rid}/refuse", json={"reason": "not ours"}, headers=writer
    )
    assert refused.json()["state"] == "refused"
    assert_error(
        client.post(
            f"/api/v1/rights/staff/requests/{rid}/refuse", json={"reason": "again"}, headers=writer
        ),
        409,
        "invalid_transition",
    )
    assert_error(
        client.get("/api/v1/rights/staff/requests/rnope", headers=reader), 404, "not_found"
    )
    assert_error(
        client.get("/api/v1/rights/staff/requests?state=bogus", headers=reader),
        400,
        "invalid_input",
    )


def test_authority_endpoint(client: TestClient) -> None:
    assert client.get("/api/v1/rights/authorities/NO").json()["name"] == "Datatilsynet"
    assert_error(client.get("/api/v1/rights/authorities/XX"), 400, "invalid_input")


def test_cli_submit_verify_status(
    tmp_path: Path, smtp_server: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PRIVACYOPS_SMTP_PORT", str(smtp_server.port))
    runner = CliRunner()
    out = runner.invoke(
        cli_app,
        [
            "request",
            "submit",
            "restriction",
            "--email",
            "c@example.com",
            "-d",
            "ground=legal_claims",
            "--json",
        ],
    )
    assert out.exit_code == 0, out.output
    receipt = json.loads(out.output)
    code = last_code(smtp_server, "c@example.com")
    out = runner.invoke(
        cli_app,
        [
            "request",
            "verify",
            receipt["request_id"],
            "--code",
            code,
            "--token",
            receipt["token"],
            "--json",
        ],
    )
    assert json.loads(out.output)["state"] == "verified"
    out = runner.invoke(cli_app, ["request", "list", "--json"])
    assert [r["request_id"] for r in json.loads(out.output)] == [receipt["request_id"]]
    out = runner.invoke(cli_app, ["request", "list"])
    assert out.exit_code == 0
    bad = runner.invoke(cli_app, ["request", "submit", "nonsense", "--email", "c@example.com"])
    assert bad.exit_code != 0
