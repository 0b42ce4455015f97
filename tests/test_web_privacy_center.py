"""The public privacy center: the policy in every version, changes, consent, complaints."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from _web import browser, make_app
from privacyops.policy.loader import default_policy_book


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    return browser(make_app(tmp_path))


def test_policy_page_shows_the_version_in_force_and_lists_every_version(
    client: TestClient,
) -> None:
    book = default_policy_book()
    page = client.get("/privacy")
    assert page.status_code == 200
    assert "Privacy Policy" in page.text
    assert "in force" in page.text
    for m in book.versions:
        assert m.version.label.replace('"', "&#34;") in page.text or m.version.id in page.text
    assert "<style>" not in page.text  # the renderer's inline style is not carried over (CSP)


def test_an_earlier_version_is_marked_as_not_in_force(client: TestClient) -> None:
    page = client.get("/privacy/versions/v1")
    assert page.status_code == 200
    assert "not the one in force" in page.text
    assert client.get("/privacy/versions/nope").status_code == 404


def test_changes_between_versions_are_listed(client: TestClient) -> None:
    page = client.get("/privacy/changes")
    assert page.status_code == 200
    assert 'From <a href="/privacy/versions/v2">v2</a> to' in page.text
    assert "added" in page.text


def test_consent_page_loads_the_banner_and_its_reopen_control(client: TestClient) -> None:
    page = client.get("/privacy/consent")
    assert page.status_code == 200
    assert '<script src="/consent/banner.js" defer></script>' in page.text
    assert "data-consent-open" in page.text
    assert "<script>" not in page.text  # no inline script: the CSP forbids it
    assert client.get("/static/privacy-center.js").status_code == 200


def test_complaints_page_names_the_authority(client: TestClient) -> None:
    page = client.get("/privacy/complaints")
    assert "Norwegian Data Protection Authority" in page.text
    assert "dpo@altoros.com" in page.text
    french = client.get("/privacy/complaints?country=FR")
    assert "CNIL" in french.text or "Commission nationale" in french.text
    odd = client.get("/privacy/complaints?country=<b>")
    assert odd.status_code == 200
    assert (
        "<b>" not in odd.text.split("<main>", 1)[1].split("</main>", 1)[0].replace("<b>", "", 0)
        or "&lt;b&gt;" not in odd.text
    )


def test_pages_carry_the_security_headers(client: TestClient) -> None:
    page = client.get("/privacy")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["referrer-policy"] == "same-origin"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert "strict-transport-security" not in page.headers  # plain http here
