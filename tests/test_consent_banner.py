"""The banner generated from the manifest: categories, vendors, languages, size, GPC, CORS."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from privacyops.consent.banner import (
    CATEGORIES,
    available_languages,
    build_banner,
    load_texts,
    text_hash,
)
from privacyops.policy import default_policy_book
from privacyops.settings import Settings
from privacyops.web.app import create_app

SITE = "https://www.example.com"


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    settings = settings.model_copy(update={"site_origins": [SITE]})
    with TestClient(create_app(settings)) as c:
        yield c


def test_config_lists_every_tracker_of_the_manifest_by_category(client: TestClient) -> None:
    config = client.get("/api/v1/consent/config").json()
    manifest = default_policy_book().current
    assert [c["id"] for c in config["categories"]] == list(CATEGORIES)
    listed = {v["id"]: (c["id"], v) for c in config["categories"] for v in c["vendors"]}
    assert set(listed) == {p.id for p in manifest.trackers}
    for p in manifest.trackers:
        assert p.tracker is not None
        category, vendor = listed[p.id]
        assert category == p.tracker.consent_category.value
        assert vendor["name"] == p.name
        if p.privacy_policy_urls:
            assert vendor["policy"] == str(p.privacy_policy_urls[0])
    assert config["policy_version"] == manifest.version.id
    assert config["gpc"] is False
    assert config["gpc_refuses"] == ["advertising"]
    assert config["lifetime_days"] == 182


def test_languages_are_english_and_those_of_the_controllers_countries(client: TestClient) -> None:
    config = client.get("/api/v1/consent/config").json()
    assert config["languages"][0] == "en"
    assert {"nb", "fi", "es", "pl"} <= set(config["languages"])


def test_every_translation_has_every_text() -> None:
    english = load_texts("en")
    for lang in available_languages():
        texts = load_texts(lang)
        assert set(texts) == set(english), lang
        assert set(texts["categories"]) == set(CATEGORIES), lang
        for key, value in texts.items():
            if key == "categories":
                for cat in value.values():
                    assert cat["name"].strip(), lang
                    assert cat["description"].strip(), lang
            else:
                assert isinstance(value, str), (lang, key)
                assert value.strip(), (lang, key)
        assert "{organization}" in texts["intro"], lang
        assert "{categories}" in texts["gpc_note"], lang
        assert texts["accept_all"] != texts["reject_all"], lang


@pytest.mark.parametrize(
    ("lang", "accept", "expected"),
    [
        ("nb", None, "nb"),
        ("no-NO", None, "nb"),
        (None, "fi-FI,fi;q=0.9,en;q=0.5", "fi"),
        (None, "es-AR", "es"),
        ("pl", "fi", "pl"),
        ("xx", "zz", "en"),
        (None, None, "en"),
    ],
)
def test_language_negotiation(
    client: TestClient, lang: str | None, accept: str | None, expected: str
) -> None:
    headers = {"Accept-Language": accept} if accept else {}
    params = {"lang": lang} if lang else {}
    config = client.get("/api/v1/consent/config", params=params, headers=headers).json()
    assert config["language"] == expected
    assert config["texts"]["accept_all"] == load_texts(expected)["accept_all"]


def test_text_hash_is_the_hash_of_what_is_shown(client: TestClient) -> None:
    en = client.get("/api/v1/consent/config?lang=en").json()
    pl = client.get("/api/v1/consent/config?lang=pl").json()
    assert en["text_hash"] != pl["text_hash"]
    assert en["banner_version"] == pl["banner_version"]
    assert en["text_hash"] == text_hash("en", en["texts"], en["categories"])
    assert "Altoros" in en["texts"]["intro"]


def test_banner_version_changes_when_a_text_changes(settings: Settings) -> None:
    manifest = default_policy_book().current
    one = build_banner(manifest, settings)
    renamed = manifest.model_copy(update={"organization": "Someone Else"})
    two = build_banner(renamed, settings)
    assert one.banner_version != two.banner_version
    assert one.text_hashes["en"] != two.text_hashes["en"]


def test_script_style_and_config_fit_in_15_kb_gzipped(client: TestClient) -> None:
    js = client.get("/consent/banner.js")
    css = client.get("/consent/banner.css")
    assert js.headers["content-type"].startswith("text/javascript")
    assert css.headers["content-type"].startswith("text/css")
    largest = max(
        (
            client.get(f"/api/v1/consent/config?lang={lang}").content
            for lang in available_languages()
        ),
        key=len,
    )
    total = len(gzip.compress(js.content + css.content + largest, 9))
    assert total <= 15 * 1024, total


def test_banner_assets_answer_304_for_their_etag(client: TestClient) -> None:
    first = client.get("/consent/banner.js")
    again = client.get("/consent/banner.js", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304


def test_gpc_header_is_reported_to_the_banner(client: TestClient) -> None:
    assert client.get("/api/v1/consent/config", headers={"Sec-GPC": "1"}).json()["gpc"] is True
    assert client.get("/api/v1/consent/config", headers={"Sec-GPC": "0"}).json()["gpc"] is False


def test_well_known_gpc_json(client: TestClient) -> None:
    response = client.get("/.well-known/gpc.json")
    assert response.status_code == 200
    body = response.json()
    assert body["gpc"] is True
    assert len(body["lastUpdate"]) == 10
    assert body["lastUpdate"][4] == "-"


def test_cors_allows_only_the_sites_origins(client: TestClient) -> None:
    ok = client.get("/api/v1/consent/config", headers={"Origin": SITE})
    assert ok.headers["access-control-allow-origin"] == SITE
    bad = client.get("/api/v1/consent/config", headers={"Origin": "https://evil.example"})
    assert bad.status_code == 403
    assert bad.json()["error"]["code"] == "forbidden"
    pre = client.options(
        "/api/v1/consent",
        headers={"Origin": SITE, "Access-Control-Request-Method": "POST"},
    )
    assert pre.status_code == 204
    assert "POST" in pre.headers["access-control-allow-methods"]
    assert pre.headers["access-control-allow-origin"] == SITE


def test_script_blocks_by_category_and_sets_consent_mode(client: TestClient) -> None:
    script = client.get("/consent/banner.js").text
    # The blocking contract the README documents, and Google Consent Mode v2 signals.
    for needle in ('"text/plain"', "data-category", "data-vendor", "data-src"):
        assert needle in script
    for signal in ("ad_storage", "analytics_storage", "ad_user_data", "ad_personalization"):
        assert signal in script
    assert json.dumps("default") in script
    assert json.dumps("update") in script
