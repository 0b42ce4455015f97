"""The bad-input corpus: oversized, deeply nested, invalid UTF-8, SQL injection, NUL and path
traversal through every public write endpoint. No 5xx, no traceback, and a refused call
stores nothing (row counts of every table a public call writes stay as they were)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from tests._live import NO_RATE_LIMITS
from tests._web import database, make_app
from tests.conftest import SmtpSink

pytestmark = pytest.mark.hostile

SITE = "https://www.example.com"
TABLES = (
    "personal_data_records",
    "intake_quarantine",
    "consent_records",
    "rights_requests",
    "audit_events",
)
JSON_ENDPOINTS = (
    "/api/v1/intake/web_form",
    "/api/v1/intake/chatbot",
    "/api/v1/consent",
    "/api/v1/rights/requests",
    "/api/v1/rights/requests/r0000/verify",
    "/api/v1/rights/requests/r0000/resend",
    "/api/v1/consent/marketing",
)
SQLI = ["' OR '1'='1", "1; DROP TABLE personal_data_records; --", '" UNION SELECT * FROM users--']
TRAVERSAL = ["..%2F..%2Fetc%2Fpasswd", "%2e%2e%2f%2e%2e%2f", "..\\..\\windows", "%00", "%ff%fe"]


def _bodies() -> list[tuple[str, bytes]]:
    deep = b"[" * 100_000 + b"]" * 100_000
    return [
        ("oversized", b'{"email": "a@example.com", "name": "' + b"x" * 2_000_000 + b'"}'),
        ("deep-array", deep),
        ("deep-object", b'{"a":' * 50_000 + b"1" + b"}" * 50_000),
        ("invalid-utf8", b'{"email": "\xff\xfe@example.com", "name": "\xc3\x28"}'),
        ("nul", b'{"email": "a@example.com", "name": "a\\u0000b"}'),
        ("surrogate", b'{"email": "a@example.com", "name": "\\udc80"}'),
        ("not-json", b"<xml>hello</xml>"),
        ("huge-number", b'{"email": "a@example.com", "age": 1' + b"0" * 5000 + b"}"),
        *[
            (f"sqli-{n}", f'{{"email": "a@example.com", "name": "{s}"}}'.encode())
            for n, s in enumerate(SQLI)
        ],
        ("sqli-email", b'{"email": "x\' OR 1=1 --@example.com"}'),
    ]


def _counts(app: Any) -> dict[str, int]:
    with database(app).engine.connect() as conn:
        return {
            t: int(conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one()) for t in TABLES
        }


@pytest.fixture
def app(tmp_path: Path, smtp_server: SmtpSink) -> Any:
    return make_app(tmp_path, smtp_port=smtp_server.port, site_origins=[SITE], **NO_RATE_LIMITS)


def test_bad_bodies_on_every_public_write_endpoint(app: Any) -> None:
    client = TestClient(app, raise_server_exceptions=False)
    before = _counts(app)
    for name, body in _bodies():
        for endpoint in JSON_ENDPOINTS:
            response = client.post(
                endpoint,
                content=body,
                headers={"content-type": "application/json", "origin": SITE},
            )
            where = (name, endpoint, response.status_code, response.text[:200])
            assert response.status_code < 500, where
            assert "Traceback" not in response.text, where
            if response.status_code >= 400 and response.headers["content-type"].startswith(
                "application/json"
            ):
                assert set(response.json()) == {"error"}, where
            if response.status_code >= 400:
                assert _counts(app) == before, where
            else:
                before = _counts(app)  # an accepted injection string is only data


def test_path_traversal_and_injection_in_paths(app: Any) -> None:
    client = TestClient(app, raise_server_exceptions=False)
    before = _counts(app)
    for value in [*TRAVERSAL, *(s.replace(" ", "%20") for s in SQLI), "9" * 40]:
        for method, path in (
            ("GET", f"/api/v1/rights/requests/{value}"),
            ("POST", f"/api/v1/rights/requests/{value}/verify"),
            ("GET", f"/api/v1/rights/exports/{value}"),
            ("GET", f"/api/v1/rights/authorities/{value}"),
            ("POST", f"/api/v1/intake/{value}"),
            ("GET", f"/static/{value}"),
            ("GET", f"/privacy/versions/{value}"),
            ("GET", f"/consent/demo/{value}"),
            ("GET", f"/api/v1/notices/ack/{value}"),
        ):
            response = client.request(
                method, path, json={"code": "123456"}, headers={"X-Request-Token": "t"}
            )
            where = (method, path, response.status_code)
            assert response.status_code < 500, where
            assert "Traceback" not in response.text, where
            assert "root:" not in response.text, where  # no /etc/passwd
    assert _counts(app) == before
