"""Every JSON endpoint answers errors in the one shape, and every page form rejects bad input
with a page, never a traceback."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from _web import all_routes, make_app
from privacyops.settings import Settings
from privacyops.web.app import create_app

_API = sorted(
    (method, path)
    for path, methods, _ in all_routes(create_app(Settings(data_dir=Path("/nowhere"))))
    for method in methods - {"HEAD", "OPTIONS"}
    if path.startswith(("/api/v1/", "/opendsr/")) or path in ("/metrics",)
)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    return make_app(tmp_path_factory.mktemp("shape"))


def _shape(body: Any) -> None:
    assert set(body) == {"error"}
    error = body["error"]
    assert isinstance(error["code"], str)
    assert error["code"]
    assert isinstance(error["message"], str)
    assert error["message"]
    assert set(error) <= {"code", "message", "details"}
    for item in error.get("details", []):
        assert "input" not in item  # the rejected value is never echoed


@pytest.mark.parametrize(("method", "path"), _API, ids=lambda v: str(v))
def test_errors_of_every_json_endpoint_have_the_one_shape(
    app: FastAPI, method: str, path: str
) -> None:
    client = TestClient(app)
    url = re.sub(r"\{[^}]+\}", "no-such-thing", path)
    kwargs: dict[str, Any] = {}
    if method in ("POST", "PUT", "PATCH", "DELETE"):
        kwargs["content"] = b"{not json"
        kwargs["headers"] = {"content-type": "application/json"}
    response = client.request(method, url, **kwargs)
    if method == "GET" and response.status_code < 400:
        pytest.skip("a public GET that answers without error")
    assert response.status_code >= 400, (method, path, response.status_code)
    assert response.headers["content-type"].startswith("application/json")
    _shape(response.json())
    assert "Traceback" not in response.text


def test_unknown_route_and_wrong_method(app: FastAPI) -> None:
    client = TestClient(app)
    _shape(client.get("/api/v1/no-such-thing").json())
    wrong = client.delete("/healthz")
    assert wrong.status_code == 405
    _shape(wrong.json())


def test_oversized_body_is_refused_with_413(app: FastAPI) -> None:
    client = TestClient(app)
    response = client.post(
        "/api/v1/rights/requests",
        content=b"x" * 2_000_000,
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 413
    _shape(response.json())


def test_a_page_error_is_a_page(app: FastAPI) -> None:
    client = TestClient(app, headers={"accept": "text/html"})
    response = client.get("/privacy/versions/nope")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "There is no policy version with this name." in response.text
