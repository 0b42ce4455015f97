"""Schemathesis over ``/openapi.json``: generated calls to every documented operation,
anonymously and with a staff token, a fixed seed and a bounded number of examples each.
No answer is a 5xx, and every answer with a declared status matches its declared schema."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, seed, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance
from tests._live import NO_RATE_LIMITS
from tests._web import database, make_app

from privacyops.accounts import SCOPES, create_api_token

pytestmark = [pytest.mark.hostile, pytest.mark.slow]

#: Examples per operation and caller: enough to reach each operation's error paths, few
#: enough to keep the suite's cost under a minute.
EXAMPLES = 8
SITE = "https://www.example.com"
CHECKS = [not_a_server_error, response_schema_conformance]


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Any:
    app = make_app(tmp_path_factory.mktemp("schemathesis"), site_origins=[SITE], **NO_RATE_LIMITS)
    with database(app).session() as session:
        _, token = create_api_token(session, "schemathesis", sorted(SCOPES))
    app.state.schemathesis_token = token
    return schemathesis.openapi.from_asgi("/openapi.json", app)


schema = schemathesis.pytest.from_fixture("api")


@schema.parametrize()
@seed(22)
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_anonymous(case: Any) -> None:
    case.call_and_validate(checks=CHECKS)


@schema.parametrize()
@seed(22)
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_with_a_staff_token(case: Any) -> None:
    token = case.operation.schema.app.state.schemathesis_token
    case.call_and_validate(checks=CHECKS, headers={"Authorization": f"Bearer {token}"})
