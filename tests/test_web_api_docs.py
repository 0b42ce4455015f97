"""The OpenAPI explorer works without internet: Swagger UI's files are served locally."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from _web import make_app


def test_api_docs_load_swagger_ui_from_this_service(tmp_path: Path) -> None:
    client = TestClient(make_app(tmp_path))
    page = client.get("/api/docs")
    assert page.status_code == 200
    assert "https://" not in page.text  # nothing from a CDN
    assert "/api/docs/assets/swagger-ui-bundle.js" in page.text
    assert "script-src 'self' 'unsafe-inline';" in page.headers["content-security-policy"]
    script = client.get("/api/docs/assets/swagger-ui-bundle.js")
    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]
    assert "SwaggerUIBundle" in script.text
    assert client.get("/api/docs/assets/swagger-ui.css").status_code == 200
