"""Schemathesis over ``/openapi.json``: generated calls to every documented operation,
anonymously and with a staff token, a fixed seed and a bounded number of examples each.
No answer is a 5xx, and every answer with a declared status matches its declared schema.

The operations are driven one by one through their Hypothesis strategies (schemathesis's
pytest plugin does not run on this pytest); every failing operation is reported at once."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, seed, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance
from tests._live import NO_RATE_LIMITS
from tests._web import database, make_app

from privacyops.accounts import SCOPES, create_api_token

pytestmark = [pytest.mark.hostile, pytest.mark.slow]

#: Examples per operation and caller: enough to reach each operation's error paths, few
#: enough to keep the suite's cost near a minute.
EXAMPLES = 6
SITE = "https://www.example.com"
CHECKS = [not_a_server_error, response_schema_conformance]


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, str]:
    app = make_app(tmp_path_factory.mktemp("schemathesis"), site_origins=[SITE], **NO_RATE_LIMITS)
    with database(app).session() as session:
        _, token = create_api_token(session, "schemathesis", sorted(SCOPES))
    return schemathesis.openapi.from_asgi("/openapi.json", app), token


def _findings(schema: Any, headers: dict[str, str]) -> list[str]:
    found: list[str] = []
    calls: list[int] = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @seed(22)
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def check(case: Any) -> None:
            response = case.call(headers=headers)
            calls.append(response.status_code)
            case.validate_response(response, checks=CHECKS)

        try:
            check()
        except Exception as exc:
            found.append(f"{operation.label}: {str(exc).strip().splitlines()[0][:300]}")
    assert len(calls) > 200, "schemathesis made too few calls to mean anything"
    assert any(200 <= c < 300 for c in calls)
    return found


def test_anonymous(api: tuple[Any, str]) -> None:
    schema, _ = api
    assert _findings(schema, {}) == []


def test_with_a_staff_token(api: tuple[Any, str]) -> None:
    schema, token = api
    assert _findings(schema, {"Authorization": f"Bearer {token}"}) == []
