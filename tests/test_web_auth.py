"""Staff accounts through the browser and the API: login, sessions, CSRF, tokens, the CLI."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from _web import PASSWORD, browser, csrf, database, login, make_app
from privacyops.accounts import StaffSession, StaffUser, create_api_token
from privacyops.cli.app import app as cli_app
from privacyops.store.base import utcnow


@pytest.fixture
def client(tmp_path: Path, db_url: str) -> TestClient:
    return browser(make_app(tmp_path, db_url))


def test_login_sets_a_safe_session_cookie_and_opens_the_dashboard(client: TestClient) -> None:
    page = client.get("/login")
    response = client.post(
        "/login",
        data={
            "email": "DPO@example.com ",
            "password": PASSWORD,
            "csrf_token": csrf(page.text),
            "next": "/dashboard",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/dashboard"
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert "secure" not in cookie  # plain http here; see the https test
    dashboard = client.get("/dashboard")
    assert dashboard.status_code == 200
    assert "dpo@example.com" in dashboard.text


def test_session_cookie_is_secure_when_served_over_https(tmp_path: Path) -> None:
    client = TestClient(
        make_app(tmp_path, base_url="https://privacy.example.com"),
        base_url="https://testserver",
    )
    page = client.get("/login")
    assert "max-age=31536000" in page.headers["strict-transport-security"]
    response = client.post(
        "/login",
        data={"email": "dpo@example.com", "password": PASSWORD, "csrf_token": csrf(page.text)},
        follow_redirects=False,
    )
    assert "secure" in response.headers["set-cookie"].lower()


def test_wrong_password_says_so_and_keeps_the_email(client: TestClient) -> None:
    page = client.get("/login")
    response = client.post(
        "/login",
        data={"email": "dpo@example.com", "password": "nope", "csrf_token": csrf(page.text)},
    )
    assert response.status_code == 401
    assert "The e-mail or password is not right." in response.text
    assert 'value="dpo@example.com"' in response.text
    assert "nope" not in response.text
    assert client.get("/dashboard", follow_redirects=False).status_code == 303


def test_unknown_email_gets_the_same_answer_as_a_wrong_password(client: TestClient) -> None:
    page = client.get("/login")
    response = client.post(
        "/login",
        data={"email": "who@example.com", "password": PASSWORD, "csrf_token": csrf(page.text)},
    )
    assert response.status_code == 401
    assert "The e-mail or password is not right." in response.text


def test_a_replayed_login_form_is_refused(client: TestClient) -> None:
    token = csrf(client.get("/login").text)
    data = {"email": "dpo@example.com", "password": PASSWORD, "csrf_token": token}
    assert client.post("/login", data=data, follow_redirects=False).status_code == 303
    client.cookies.delete("privacyops_session")
    again = client.post("/login", data=data, follow_redirects=False)
    assert again.status_code == 400
    assert "expired or was already sent" in again.text
    assert 'value="dpo@example.com"' in again.text


@pytest.mark.parametrize("token", ["", "x.y.z", "a.1.b", "garbage"])
def test_a_forged_csrf_token_is_refused(client: TestClient, token: str) -> None:
    client.get("/login")
    response = client.post(
        "/login", data={"email": "dpo@example.com", "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 400


def test_a_token_from_another_visitor_is_refused(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    alice, mallory = browser(app), browser(app)
    token = csrf(mallory.get("/login").text)
    alice.get("/login")
    response = alice.post(
        "/login", data={"email": "dpo@example.com", "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 400


def test_next_never_leaves_the_site(client: TestClient) -> None:
    page = client.get("/login?next=//evil.example/x")
    response = client.post(
        "/login",
        data={
            "email": "dpo@example.com",
            "password": PASSWORD,
            "csrf_token": csrf(page.text),
            "next": "https://evil.example/",
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/dashboard"


def test_expired_session_sends_back_to_login_with_a_message(client: TestClient) -> None:
    login(client, "dpo")
    db = database(client.app)  # type: ignore[arg-type]
    with db.session() as session:
        session.execute(sa.update(StaffSession).values(expires_at=utcnow() - timedelta(1)))
    response = client.get("/dashboard", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/dashboard&expired=1"
    assert "Your session has expired" in client.get(response.headers["location"]).text


def test_idle_session_ends(client: TestClient) -> None:
    login(client, "dpo")
    db = database(client.app)  # type: ignore[arg-type]
    with db.session() as session:
        session.execute(sa.update(StaffSession).values(last_seen_at=utcnow() - timedelta(hours=2)))
    assert client.get("/dashboard", follow_redirects=False).status_code == 303


def test_logout_ends_the_session_on_the_server(client: TestClient) -> None:
    login(client, "dpo")
    cookie = client.cookies.get("privacyops_session")
    token = csrf(client.get("/dashboard").text)
    out = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert out.status_code == 303
    client.cookies.set("privacyops_session", cookie or "")
    assert client.get("/dashboard", follow_redirects=False).status_code == 303


def test_login_is_rate_limited(tmp_path: Path) -> None:
    client = browser(make_app(tmp_path, login_attempts_per_minute=3))
    codes = []
    for _ in range(4):
        token = csrf(client.get("/login").text)
        codes.append(
            client.post(
                "/login", data={"email": "x@example.com", "password": "y", "csrf_token": token}
            ).status_code
        )
    assert codes == [401, 401, 401, 429]


def test_api_token_scopes(client: TestClient) -> None:
    db = database(client.app)  # type: ignore[arg-type]
    with db.session() as session:
        _, metrics_token = create_api_token(session, "prometheus", ["metrics:read"])
        _, other_token = create_api_token(session, "reader", ["audit:read"])
        stored = session.scalar(sa.text("SELECT token_hash FROM staff_api_tokens LIMIT 1"))
    assert metrics_token not in str(stored)
    ok = client.get("/metrics", headers={"Authorization": f"Bearer {metrics_token}"})
    assert ok.status_code == 200
    assert "privacyops_http_requests_total" in ok.text
    denied = client.get("/metrics", headers={"Authorization": f"Bearer {other_token}"})
    assert denied.status_code == 403
    assert denied.json()["error"]["code"] == "forbidden"
    anonymous = client.get("/metrics")
    assert anonymous.status_code == 401
    bad = client.get("/metrics", headers={"Authorization": "Bearer pops_not-a-token"})
    assert bad.status_code == 401
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {other_token}"})
    assert me.json() == {"kind": "token", "name": "reader", "role": None, "scopes": ["audit:read"]}


def test_admin_creates_and_revokes_a_token_in_the_dashboard(client: TestClient) -> None:
    login(client, "admin")
    page = client.get("/dashboard/staff")
    created = client.post(
        "/dashboard/staff/tokens",
        data={"csrf_token": csrf(page.text), "name": "ci", "scope_metrics:read": "on"},
    )
    assert created.status_code == 201
    token = created.text.split("<code>pops_", 1)[1].split("</code>", 1)[0]
    headers = {"Authorization": f"Bearer pops_{token}"}
    assert client.get("/metrics", headers=headers).status_code == 200
    db = database(client.app)  # type: ignore[arg-type]
    with db.session() as session:
        token_id = session.scalar(sa.text("SELECT id FROM staff_api_tokens"))
    revoked = client.post(
        f"/dashboard/staff/tokens/{token_id}/revoke", data={"csrf_token": csrf(created.text)}
    )
    assert revoked.status_code == 200
    assert client.get("/metrics", headers=headers).status_code == 401


def test_admin_user_form_reports_each_problem_and_stores_nothing(client: TestClient) -> None:
    login(client, "admin")
    page = client.get("/dashboard/staff")
    response = client.post(
        "/dashboard/staff",
        data={"csrf_token": csrf(page.text), "email": "x" * 300, "role": "king", "password": ""},
    )
    assert response.status_code == 422
    assert "E-mail is too long" in response.text
    assert "Role: choose one of the options offered." in response.text
    assert "Password is required." in response.text
    db = database(client.app)  # type: ignore[arg-type]
    with db.session() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(StaffUser)) == 4


def test_operator_cannot_open_the_staff_page(client: TestClient) -> None:
    login(client, "operator")
    response = client.get("/dashboard/staff")
    assert response.status_code == 403
    assert "Your role does not allow this." in response.text


def test_cli_creates_staff_and_tokens(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    result = runner.invoke(
        cli_app,
        ["admin", "create", "--email", "new@example.com", "--role", "dpo", "--password-stdin"],
        input=PASSWORD + "\n",
    )
    assert result.exit_code == 0, result.output
    assert "created staff user new@example.com (dpo)" in result.output
    again = runner.invoke(
        cli_app,
        ["admin", "create", "--email", "new@example.com", "--role", "dpo", "--password-stdin"],
        input=PASSWORD + "\n",
    )
    assert again.exit_code != 0
    result = runner.invoke(
        cli_app, ["admin", "token", "create", "--name", "prom", "--scope", "metrics:read"]
    )
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1].startswith("pops_")
    listed = runner.invoke(cli_app, ["admin", "token", "list"])
    assert "prom" in listed.output
    assert "pops_" in listed.output  # the prefix only
    users = runner.invoke(cli_app, ["admin", "list"])
    assert "new@example.com" in users.output


def test_cli_refuses_an_unknown_role_and_a_short_password() -> None:
    runner = CliRunner()
    bad_role = runner.invoke(
        cli_app,
        ["admin", "create", "--email", "a@example.com", "--role", "king", "--password-stdin"],
        input=PASSWORD + "\n",
    )
    assert bad_role.exit_code != 0
    short = runner.invoke(
        cli_app,
        ["admin", "create", "--email", "a@example.com", "--role", "dpo", "--password-stdin"],
        input="short\n",
    )
    assert short.exit_code != 0


def test_a_form_sent_after_the_session_expired_says_so_and_saves_nothing(
    client: TestClient,
) -> None:
    login(client, "admin")
    page = client.get("/dashboard/staff")
    db = database(client.app)  # type: ignore[arg-type]
    with db.session() as session:
        session.execute(sa.update(StaffSession).values(expires_at=utcnow() - timedelta(1)))
    response = client.post(
        "/dashboard/staff",
        data={
            "csrf_token": csrf(page.text),
            "email": "late@example.com",
            "role": "dpo",
            "password": PASSWORD,
        },
    )
    assert response.status_code == 401
    assert "Your session has expired" in response.text
    assert "nothing was saved" in response.text
    with db.session() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(StaffUser)) == 4


def test_metrics_are_for_admins_and_monitoring_tokens(client: TestClient) -> None:
    login(client, "dpo")
    assert client.get("/metrics").status_code == 403
    admin = browser(client.app)  # type: ignore[arg-type]
    login(admin, "admin")
    scraped = admin.get("/metrics")
    assert scraped.status_code == 200
    assert 'route="/login"' in scraped.text  # labelled by route template
