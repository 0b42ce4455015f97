"""Proof and reporting: signed receipts (and their CLI verification), rates per category per
day, and the back-end check "may I use this person's data for P / by V?"."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from privacyops.accounts import create_api_token
from privacyops.consent.models import ConsentRecord
from privacyops.consent.records import ChoiceIn, RequestContext
from privacyops.consent.service import ConsentService
from privacyops.settings import Settings
from privacyops.store import IdentityIn, Registry, open_database, utcnow
from privacyops.web.app import create_app

SITE = "https://www.example.com"
REPO = Path(__file__).resolve().parents[1]
V1 = "a" * 32
V2 = "b" * 32


@pytest.fixture
def service(settings: Settings, db_url: str) -> Iterator[ConsentService]:
    settings = settings.model_copy(update={"site_origins": [SITE], "database_url": db_url})
    svc = ConsentService(settings, db=open_database(settings))
    yield svc
    svc.close()
    svc.db.dispose()


def record(
    service: ConsentService,
    action: str,
    visitor: str = V1,
    *,
    grant: tuple[str, ...] = (),
    refuse_vendors: tuple[str, ...] = (),
    gpc: bool = False,
) -> str:
    banner = service.banner
    if action == "accept":
        grant = ("analytics", "advertising", "widgets")
    choice = ChoiceIn(
        visitor_id=visitor,
        action=action,  # type: ignore[arg-type]  # the Literal is checked by pydantic
        categories={
            "necessary": True,
            **{c: c in grant for c in ("analytics", "advertising", "widgets")},
        },
        vendors=dict.fromkeys(refuse_vendors, False),
        banner_version=banner.banner_version,
        policy_version=banner.policy_version,
        language="en",
        text_hash=banner.text_hashes["en"],
        page_url=f"{SITE}/",
        gpc=gpc,
    )
    stored = service.record(choice, RequestContext(ip="198.51.100.9", user_agent="UA/1"))
    return stored.record_id


def test_receipt_holds_the_history_and_verifies(service: ConsentService, tmp_path: Path) -> None:
    first = record(service, "reject")
    second = record(service, "accept")
    document = service.receipt(visitor_id=V1)
    receipt = document["receipt"]
    assert receipt["version"] == "KI-CR-v1.1.0"
    assert receipt["piiPrincipalId"] == f"visitor:{V1}"
    assert receipt["jurisdiction"] == service.book.current.contact_point.country
    assert receipt["piiControllers"]
    assert [r["record_id"] for r in receipt["history"]] == [first, second]
    assert receipt["history"][1]["previous_record_id"] == first
    assert receipt["notice"]["textHash"] == service.banner.text_hashes["en"]
    purposes = {p["purposeCategory"][0]: p for p in receipt["services"][0]["purposes"]}
    assert purposes["analytics"]["state"] == "granted"
    assert purposes["analytics"]["consentType"] == "EXPLICIT"
    assert purposes["necessary"]["consentType"] == "NOT_REQUIRED"
    assert document["signature"]["alg"] == "Ed25519"

    path = tmp_path / "receipt.json"
    path.write_text(json.dumps(document))
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO / "src"),
        "PRIVACYOPS_DATA_DIR": str(service.settings.data_dir),
    }
    ok = subprocess.run(
        [sys.executable, "-m", "privacyops", "consent", "verify-receipt", str(path)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr
    assert "valid" in ok.stdout
    assert "this installation's key" in ok.stdout

    receipt["history"][0]["action"] = "accept"  # rewrite history
    path.write_text(json.dumps(document))
    bad = subprocess.run(
        [sys.executable, "-m", "privacyops", "consent", "verify-receipt", str(path)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert bad.returncode == 6
    assert "altered" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_receipt_of_nobody_is_not_found(service: ConsentService) -> None:
    from privacyops.errors import NotFound

    with pytest.raises(NotFound):
        service.receipt(visitor_id=V2)


def test_rates_per_category_per_day(service: ConsentService) -> None:
    record(service, "accept", V1)
    record(service, "reject", V2)
    record(service, "custom", "c" * 32, grant=("analytics",))
    record(service, "gpc", "d" * 32, gpc=True)
    rates = {r.category: r for r in service.stats(days=2)}
    assert rates["analytics"].answers == 3
    assert rates["analytics"].opt_in == 2
    assert rates["advertising"].opt_in == 1
    assert rates["advertising"].opt_out == 2
    assert rates["widgets"].gpc == 1
    assert round(rates["analytics"].opt_in_rate, 3) == 0.667


def test_state_asks_again_when_the_consent_is_too_old(service: ConsentService) -> None:
    record(service, "accept")
    with service.db.session() as session:
        session.execute(sa.update(ConsentRecord).values(expires_at=utcnow() - timedelta(seconds=1)))
    state = service.state(V1)
    assert state["ask"] is True
    assert "lifetime" in state["reason"]
    decision = service.check(vendor="google-analytics", visitor_id=V1)
    assert not decision.allow
    assert "expired" in decision.reason


def _tracker(service: ConsentService, category: str) -> str:
    return next(v.id for v in service.banner.vendors if v.category == category)


def test_check_follows_the_banner_choice_per_vendor(service: ConsentService) -> None:
    analytics = _tracker(service, "analytics")
    advertising = _tracker(service, "advertising")
    assert not service.check(vendor=analytics, visitor_id=V1).allow  # nothing recorded
    record(service, "custom", grant=("analytics",))
    allowed = service.check(vendor=analytics, visitor_id=V1)
    assert allowed.allow
    assert allowed.rule == "banner_consent"
    assert allowed.record_id
    denied = service.check(vendor=advertising, visitor_id=V1)
    assert not denied.allow
    assert "not given" in denied.reason
    record(service, "custom", grant=("analytics",), refuse_vendors=(analytics,))
    assert not service.check(vendor=analytics, visitor_id=V1).allow
    assert not service.check(vendor="no-such-vendor", visitor_id=V1).allow


def test_check_honours_restriction_suppression_and_opt_in(service: ConsentService) -> None:
    registry = Registry(service.db)
    email = "ada@example.com"
    subject = registry.get_or_create_subject(
        [IdentityIn("email", email), IdentityIn("visitor_id", V1)]
    )
    record(service, "accept")
    analytics = _tracker(service, "analytics")
    assert service.check(vendor=analytics, email=email).allow  # linked through the registry

    marketing = next(p for p in service.book.current.purposes if p.direct_marketing)
    no_opt_in = service.check(purpose=marketing.id, email=email)
    assert not no_opt_in.allow
    assert no_opt_in.rule == "opt_in"
    assert "implied by a submission is not consent" in no_opt_in.reason

    registry.suppress(email, reason="objection")
    suppressed = service.check(purpose=marketing.id, email=email)
    assert not suppressed.allow
    assert suppressed.rule == "suppression"
    assert "Art. 21(3)" in suppressed.reason

    registry.restrict(subject, "objection_pending")
    restricted = service.check(vendor=analytics, subject_id=subject.public_id)
    assert not restricted.allow
    assert restricted.rule == "restriction"
    assert "Art. 18" in restricted.reason


def test_check_uses_the_purposes_legal_basis(service: ConsentService) -> None:
    contract = next(
        p
        for p in service.book.current.purposes
        if p.legal_basis is not None and p.legal_basis.value == "contract"
    )
    decision = service.check(purpose=contract.id, subject_id="unknown-subject")
    assert decision.allow
    assert decision.rule == "legal_basis"
    assert not service.check(purpose="no-such-purpose", visitor_id=V1).allow


@pytest.fixture
def api(service: ConsentService) -> Iterator[tuple[TestClient, str]]:
    app = create_app(service.settings, db=service.db)
    with service.db.session() as session:
        _, token = create_api_token(session, "crm", ["consent:read"])
    with TestClient(app) as client:
        yield client, token
    other = getattr(app.state, "consent", None)
    if other is not None:
        other.close()


def test_check_endpoint_needs_a_token_and_answers_with_the_reason(
    api: tuple[TestClient, str], service: ConsentService
) -> None:
    client, token = api
    body: dict[str, Any] = {"vendor": _tracker(service, "analytics"), "visitor_id": V1}
    assert client.post("/api/v1/consent/check", json=body).status_code == 401
    answer = client.post(
        "/api/v1/consent/check", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 200
    assert answer.json()["allow"] is False
    assert answer.json()["reason"]
    stats = client.get("/api/v1/consent/stats", headers={"Authorization": f"Bearer {token}"})
    assert stats.status_code == 200
    assert stats.json()["rates"] == []
