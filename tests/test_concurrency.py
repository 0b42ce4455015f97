"""Every public and staff write endpoint at 50 concurrent clients over real HTTP, with a bulk
import running in another process: no 5xx ("database is locked" was one), and every
acknowledged write stored exactly once (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from tests._live import NO_RATE_LIMITS, live_server
from tests._web import database, make_app
from tests.conftest import SmtpSink

from privacyops.accounts import create_api_token
from privacyops.audit import AuditLog

pytestmark = [pytest.mark.concurrency, pytest.mark.slow]

CLIENTS = 50
SITE = "https://www.example.com"
CODE = re.compile(r"\b(\d{6})\b")
SRC = Path(__file__).resolve().parents[1] / "src"


def _consent(config: dict[str, Any], n: int) -> dict[str, Any]:
    categories = {c["id"]: True for c in config["categories"]}
    return {
        "visitor_id": f"{n:032x}",
        "action": "accept",
        "categories": categories,
        "vendors": {v["id"]: True for c in config["categories"] for v in c["vendors"]},
        "banner_version": config["banner_version"],
        "policy_version": config["policy_version"],
        "language": config["language"],
        "text_hash": config["text_hash"],
        "page_url": f"{SITE}/",
        "gpc": False,
    }


async def _code(smtp: SmtpSink, to: str, after: int) -> str:
    for _ in range(600):  # the mail goes out after the commit: wait for it (bounded)
        mails = smtp.to(to)
        if len(mails) > after:
            found = CODE.search(smtp.body(mails[-1]))
            assert found
            return found.group(1)
        await asyncio.sleep(0.05)
    raise AssertionError(f"no code mailed to {to}")


async def _client(
    n: int,
    http: httpx.AsyncClient,
    smtp: SmtpSink,
    staff: dict[str, str],
    config: dict[str, Any],
    statuses: Counter[int],
    acknowledged: dict[str, list[str]],
) -> None:
    """One client's writes: intake (public and staff), consent, a rights request submitted,
    resent, verified and extended by staff."""

    async def post(path: str, ok: int, **kwargs: Any) -> httpx.Response:
        response = await http.post(path, **kwargs)
        statuses[response.status_code] += 1
        assert response.status_code < 500, (path, response.status_code, response.text)
        assert response.status_code == ok, (path, response.status_code, response.text)
        return response

    email = f"c{n}@example.com"
    await post("/api/v1/intake/web_form", 202, json={"email": email, "name": f"Client {n}"})
    acknowledged["web_form"].append(email)
    staff_email = f"s{n}@example.com"
    await post(
        "/api/v1/intake/customer",
        201,
        json={"email": staff_email, "company_address": f"{n} Road"},
        headers=staff,
    )
    acknowledged["customer"].append(staff_email)
    await post("/api/v1/consent", 201, json=_consent(config, n), headers={"Origin": SITE})
    acknowledged["consent"].append(f"{n:032x}")
    who = f"r{n}@example.com"
    receipt = await post("/api/v1/rights/requests", 202, json={"type": "access", "email": who})
    body = receipt.json()
    acknowledged["rights"].append(body["request_id"])
    token = {"X-Request-Token": body["token"]}
    path = f"/api/v1/rights/requests/{body['request_id']}"
    await _code(smtp, who, 0)
    await post(f"{path}/resend", 200, json={}, headers=token)
    code = await _code(smtp, who, 1)
    verified = await post(f"{path}/verify", 200, json={"code": code}, headers=token)
    assert verified.json()["state"] == "verified"
    await post(
        f"/api/v1/rights/staff/requests/{body['request_id']}/extend",
        200,
        json={"reason": "Many systems to search."},
        headers=staff,
    )


async def _drive(base: str, smtp: SmtpSink, staff: dict[str, str]) -> tuple[Counter[int], Any]:
    statuses: Counter[int] = Counter()
    acknowledged: dict[str, list[str]] = {
        k: [] for k in ("web_form", "customer", "consent", "rights")
    }
    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=120) as http:
        config = (await http.get("/api/v1/consent/config?lang=en")).json()
        await asyncio.gather(
            *(_client(n, http, smtp, staff, config, statuses, acknowledged) for n in range(CLIENTS))
        )
    return statuses, acknowledged


def test_fifty_concurrent_clients_write_everything_exactly_once(
    tmp_path: Path, db_url: str, smtp_server: SmtpSink
) -> None:
    app = make_app(
        tmp_path,
        db_url,
        smtp_port=smtp_server.port,
        second_factor="none",
        runner_enabled=False,
        site_origins=[SITE],
        **NO_RATE_LIMITS,
    )
    db = database(app)
    with db.session() as session:
        _, token = create_api_token(
            session, "desk", ["intake:write", "requests:read", "requests:write"]
        )
    staff = {"Authorization": f"Bearer {token}"}
    rows = tmp_path / "crm.csv"
    rows.write_text(
        "email,name\n" + "".join(f"i{n}@example.com,Imported {n}\n" for n in range(200))
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PRIVACYOPS_")},
        "PYTHONPATH": os.environ.get("PYTHONPATH", str(SRC)),
        "PRIVACYOPS_DATA_DIR": str(app.state.settings.data_dir),
        "PRIVACYOPS_DATABASE_URL": db_url,
    }
    importer = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "privacyops",
            "intake",
            "import",
            str(rows),
            "-c",
            "web_form",
            "--batch-size",
            "10",
            "--json",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        with live_server(app) as base:
            statuses, acknowledged = asyncio.run(_drive(base, smtp_server, staff))
    finally:
        out, _ = importer.communicate(timeout=300)
    assert importer.returncode == 0, out
    assert "Traceback" not in out
    assert not [s for s in statuses if s >= 500]

    with db.engine.connect() as conn:

        def count(sql: str) -> dict[Any, int]:
            return {row[0]: int(row[1]) for row in conn.execute(sa.text(sql))}

        records = count("SELECT channel, count(*) FROM personal_data_records GROUP BY channel")
        consent = count("SELECT visitor_id, count(*) FROM consent_records GROUP BY visitor_id")
        rights = count("SELECT public_id, count(*) FROM rights_requests GROUP BY public_id")
        extended = conn.execute(
            sa.text("SELECT count(*) FROM rights_requests WHERE extended_at IS NOT NULL")
        ).scalar_one()
    assert records == {"web_form": CLIENTS + 200, "customer": CLIENTS}
    assert consent == dict.fromkeys(acknowledged["consent"], 1)
    assert rights == dict.fromkeys(acknowledged["rights"], 1)
    assert extended == CLIENTS
    assert AuditLog(db).verify().ok


def test_parallel_bad_resends_are_counted_and_stall_nothing(
    tmp_path: Path, db_url: str, smtp_server: SmtpSink
) -> None:
    """A wrong request token on resend once held the write lock while counting the failure
    through a second connection: a 30 s stall, 500s for everyone, and no limit."""
    limits = {**NO_RATE_LIMITS, "rights_failures_per_hour": 20}
    app = make_app(tmp_path, db_url, smtp_port=smtp_server.port, second_factor="none", **limits)

    async def drive(base: str) -> dict[str, list[httpx.Response]]:
        async with httpx.AsyncClient(base_url=base, timeout=120) as http:
            first = await http.post(
                "/api/v1/rights/requests", json={"type": "access", "email": "real@example.com"}
            )
            assert first.status_code == 202, first.text
            target = first.json()["request_id"]
            bad = [
                http.post(
                    f"/api/v1/rights/requests/{target if n % 2 else 'no-such-id'}/resend",
                    json={},
                    headers={"X-Request-Token": f"wrong-{n}"},
                )
                for n in range(20)
            ]
            intake = [
                http.post("/api/v1/intake/web_form", json={"email": f"p{n}@example.com"})
                for n in range(10)
            ]
            rights = [
                http.post(
                    "/api/v1/rights/requests", json={"type": "access", "email": f"q{n}@example.com"}
                )
                for n in range(5)
            ]
            answers = await asyncio.gather(*bad, *intake, *rights)
            over = await http.post(
                f"/api/v1/rights/requests/{target}/resend",
                json={},
                headers={"X-Request-Token": "wrong-again"},
            )
            no_token = await http.post(f"/api/v1/rights/requests/{target}/resend", json={})
            return {
                "bad": list(answers[:20]),
                "intake": list(answers[20:30]),
                "rights": list(answers[30:]),
                "after": [over, no_token],
            }

    with live_server(app) as base:
        got = asyncio.run(drive(base))
    assert [r.status_code for r in got["bad"]] == [400] * 20
    assert {r.json()["error"]["code"] for r in got["bad"]} == {"verification_failed"}
    assert [r.status_code for r in got["intake"]] == [202] * 10
    assert [r.status_code for r in got["rights"]] == [202] * 5
    over, no_token = got["after"]
    # the twenty failures were counted: the limit (20 an hour) now refuses this client
    assert over.status_code == 429, over.text
    assert over.json()["error"]["code"] == "rate_limited"
    assert 400 <= no_token.status_code < 500
    with database(app).engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT count(*) FROM personal_data_records")).scalar_one()
        requests = conn.execute(sa.text("SELECT count(*) FROM rights_requests")).scalar_one()
    assert stored == 10
    assert requests == 6


def test_a_deadlock_on_postgresql_is_retried(db_url: str) -> None:
    """Two writers locking two rows in opposite order: PostgreSQL aborts one (40P01);
    ``run_write`` runs it again and both land."""
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite writers queue on one lock: no deadlock to retry")
    import threading

    from privacyops.store import Database

    db = Database(db_url)
    with db.begin() as conn:
        conn.execute(sa.text("CREATE TABLE pair (id int PRIMARY KEY, n int NOT NULL)"))
        conn.execute(sa.text("INSERT INTO pair VALUES (1, 0), (2, 0)"))
    both_hold_one = threading.Barrier(2, timeout=30)
    attempts: Counter[str] = Counter()

    def writer(first: int, second: int) -> Any:
        def work(session: Any) -> None:
            attempts[f"{first}"] += 1
            bump = sa.text("UPDATE pair SET n = n + 1 WHERE id = :id")
            session.execute(bump, {"id": first})
            if attempts[f"{first}"] == 1:
                both_hold_one.wait()
            session.execute(bump, {"id": second})

        return lambda: db.run_write(work)

    threads = [threading.Thread(target=writer(1, 2)), threading.Thread(target=writer(2, 1))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    with db.engine.connect() as conn:
        counts = dict(conn.execute(sa.text("SELECT id, n FROM pair")).all())
    db.dispose()
    assert counts == {1: 2, 2: 2}  # each writer's two updates, once each
    assert sum(attempts.values()) == 3  # one of them ran twice
