"""The access answer read as a person reads it (issue 15, item 2; GDPR Art. 15(1)-(3), 12(1)).

A person with a web-form record and a customer record, a banner choice, a confirmed marketing
opt-in and a member of staff who read their data asks for access. The answer is opened the
way they would open it: the PDF (decrypted with the password from the text message, its text
extracted with poppler's ``pdftotext``), the attached JSON, the attached CSV and the attached
HTML page. Each must name every Art. 15(1) item in words, with no internal code, and the same
in all four.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pikepdf
import pytest
import sqlalchemy as sa
from tests._rights import phone_texts
from tests._rights import submit_and_verify as confirm
from tests.conftest import SmtpSink
from tests.test_rights_workflow import LINK, ingest, make_service

from privacyops.audit import AuditLog
from privacyops.consent.records import ChoiceIn, RequestContext
from privacyops.consent.service import ConsentService
from privacyops.consent.signing import verify_document
from privacyops.rights.answer import AnswerInputs, access_answer
from privacyops.rights.authorities import authority_for
from privacyops.rights.downloads import open_export
from privacyops.rights.engine import tick
from privacyops.rights.service import RightsService
from privacyops.store import IdentityIn, RecordIn, Registry, Submission
from privacyops.store.models import PersonalDataRecord

EMAIL = "ada@example.com"

#: Each item of GDPR Art. 15 and what a person reads for it in the answer.
ITEMS: dict[str, list[str]] = {
    "15(1)(a) purposes": ["Why we use it", "Answer your request"],
    "legal basis in words": ["needed for a contract with you", "our legitimate interests"],
    "15(1)(b) categories": ["Kinds of data", "Name/surname"],
    "15(1)(c) recipients by role": [
        "Who receives it",
        "HubSpot",
        "processes it for us, only on our instructions",
    ],
    "15(1)(d) retention with start event and end date": [
        "How long we keep it",
        "6 years from the last time we delivered a service to you",
        "that is until",
    ],
    "15(1)(e) rectification, erasure, restriction, objection": [
        "Rectification",
        "Erasure",
        "Restriction",
        "Objection",
        "direct marketing",
    ],
    "15(1)(f) complaint to the authority": ["Art. 77", "Datatilsynet", "Postboks 458 Sentrum"],
    "15(1)(g) source": ["Where it came from", "it came to us from the CRM import"],
    "15(1)(h) automated decisions": ["based solely on automated processing", "Art. 22"],
    "15(2) transfers with their safeguard": [
        "Sent outside Europe",
        "United States",
        "standard contractual clauses",
    ],
    "the Privacy Shield said honestly": [
        "the EU-US Privacy Shield",
        "This is not a valid protection for the transfer",
        "Schrems II",
    ],
    "15(3) the copy of the data": ["Ada Lovelace", "Wants a quote"],
    "consent history": ["Your consents", "you refused all optional cookies", "you confirmed it"],
    "who read the data, without staff names": [
        "a member of our staff",
        "read your personal data",
    ],
    "judicial remedy": ["Art. 79"],
}

#: Internal codes a person must never read.
CODES = [
    "legitimate_interest",
    "processor_terms",
    "privacy_shield",
    "last_service_delivery",
    "record.read",
    "alice",
    "{",
    "}",
]


def missing(text: str) -> list[str]:
    """The Art. 15 items whose words are not all in ``text`` (whitespace-insensitive)."""
    flat = " ".join(text.split())
    return [item for item, words in ITEMS.items() if not all(w in flat for w in words)]


@pytest.fixture
def service(tmp_path: Path, db_url: str, smtp_server: SmtpSink) -> Iterator[RightsService]:
    svc = make_service(tmp_path, db_url, smtp_server, second_factor="phone_code")
    yield svc
    svc.db.dispose()


def _person(service: RightsService, smtp: SmtpSink) -> str:
    """Ada: a web-form record, a customer record from the CRM, a banner refusal, a confirmed
    marketing opt-in, and one reading of her data by a named member of staff."""
    subject = ingest(service, EMAIL, note_text="Wants a quote [click](http://evil.example)")
    delivered = datetime(2025, 3, 10, tzinfo=UTC)
    Registry(service.db).ingest(
        Submission(
            [IdentityIn("email", EMAIL)],
            RecordIn(
                channel="customer",
                legal_basis="contract",
                policy_version="v3",
                data_categories=["name", "company"],
                purposes=["crm-maintenance"],
                source_system="the CRM import",
                payload={"name": "Ada Lovelace", "company": "Analytical Engines"},
            ),
        )
    )
    with service.db.session() as session:
        session.execute(
            sa.update(PersonalDataRecord)
            .where(PersonalDataRecord.channel == "customer")
            .values(last_service_delivery_at=delivered)
        )
    consent = ConsentService(service.settings, service.policy, service.db)
    banner = consent.banner
    visitor = "v" * 32
    consent.record(
        ChoiceIn(
            visitor_id=visitor,
            action="reject",
            categories={"necessary": True},
            banner_version=banner.banner_version,
            policy_version=banner.policy_version,
            language="en",
            text_hash=banner.text_hashes["en"],
        ),
        RequestContext(ip="192.0.2.1"),
    )
    consent.request_marketing(EMAIL, visitor_id=visitor)
    token = smtp.body(smtp.to(EMAIL)[-1]).split("confirm?token=")[1].split()[0]
    consent.confirm_marketing(token)
    AuditLog(service.db).append(
        "record.read", actor="staff:alice.smith", subject_ref=subject, details={}
    )
    return subject


def _open(service: RightsService, smtp: SmtpSink, tmp_path: Path) -> dict[str, Any]:
    """What the person opens: the PDF's text and its attached files."""
    receipt = confirm(service, smtp, "access", EMAIL)
    tick(service)
    token = LINK.search(smtp.body(smtp.to(EMAIL)[-1]))
    assert token, service.status(receipt.request_id, receipt.token)
    password = phone_texts(service)[-1]["text"].rsplit(": ", 1)[1]
    _name, _media, content = open_export(service, token.group(1))
    plain = tmp_path / "answer.pdf"
    with pikepdf.open(io.BytesIO(content), password=password) as pdf:
        files = {n: f.get_file().read_bytes() for n, f in pdf.attachments.items()}
        pdf.save(plain)
    text = subprocess.run(
        ["pdftotext", "-layout", str(plain), "-"], check=True, capture_output=True, text=True
    ).stdout
    return {"pdf": text, **files}


def test_the_access_answer_names_every_art_15_item_in_every_format(
    service: RightsService, smtp_server: SmtpSink, tmp_path: Path
) -> None:
    _person(service, smtp_server)
    opened = _open(service, smtp_server, tmp_path)
    data = json.loads(opened["data.json"])
    json_text = " ".join(
        [section["heading"] for section in data["answer"]["sections"]]
        + [
            f"{e['label']}: {e['text']}"
            for section in data["answer"]["sections"]
            for entries in [section["entries"], *(p["entries"] for p in section["parts"])]
            for e in entries
        ]
    )
    rows = list(csv.DictReader(io.StringIO(opened["answer.csv"].decode())))
    csv_text = " ".join([r["section"] for r in rows] + [f"{r['label']}: {r['text']}" for r in rows])
    html = opened["answer.html"].decode()
    for name, text in (("PDF", opened["pdf"]), ("JSON", json_text), ("CSV", csv_text)):
        assert missing(text) == [], (name, text[-3000:])
        for code in CODES:
            assert code not in text, (name, code)
    assert missing(html) == []
    assert "alice" not in html
    # the end date is the start event plus the period: 6 years from 10 March 2025
    assert "until March 10, 2031" in csv_text
    # personal data is text, never markup: the link in the note stays letters
    assert 'href="http://evil.example"' not in html
    assert "[click](http://evil.example)" in csv_text
    # the same lines in the PDF as in the CSV
    pdf_flat = " ".join(opened["pdf"].split())
    assert all(" ".join(r["text"].split())[:40] in pdf_flat for r in rows if r["text"])
    # the signed receipt of the consents is attached, and verifies
    payload, _key = verify_document(json.loads(opened["consent-receipt.json"]))
    assert [r["action"] for r in payload["history"]] == ["reject"]
    assert data["consent_receipt"]["signature"]
    # and the machine-readable copy holds the data itself
    assert {"Ada Lovelace"} <= {p["data"].get("name") for p in data["parts"]}


def test_a_person_with_no_data_is_told_so_and_still_gets_rights_and_authority(
    service: RightsService,
) -> None:
    answer = access_answer(
        AnswerInputs(
            book=service.policy,
            request_ref="r0",
            generated_at=datetime.now(UTC),
            records=[],
            connectors=[],
            authority=authority_for("DE"),
            requests_url="https://example.org/privacy/requests/new",
            complaints_url="https://example.org/privacy/complaints",
        )
    )
    text = " ".join(b.text for b in answer.blocks)
    assert "We hold no personal data linked to the identity you confirmed." in text
    assert "Objection" in {b.label for b in answer.blocks}
    assert "Der Bundesbeauftragte" in text or "BfDI" in text
    assert "We have no record of a consent from you." in text


def test_an_unreached_clock_has_no_end_date_yet(
    service: RightsService, smtp_server: SmtpSink, tmp_path: Path
) -> None:
    """Customer data is kept 6 years from the last service delivery: with none recorded the
    answer says the period has not started, never a date it made up."""
    Registry(service.db).ingest(
        Submission(
            [IdentityIn("email", EMAIL), IdentityIn("phone", "+4721929300")],
            RecordIn(
                channel="customer",
                legal_basis="contract",
                policy_version="v3",
                data_categories=["name"],
                purposes=["crm-maintenance"],
                payload={"name": "Ada Lovelace"},
                collected_at=datetime.now(UTC) - timedelta(days=3),
            ),
        )
    )
    opened = _open(service, smtp_server, tmp_path)
    rows = list(csv.DictReader(io.StringIO(opened["answer.csv"].decode())))
    (kept,) = [r["text"] for r in rows if r["label"] == "How long we keep it"]
    assert "that event has not happened yet, so the period has not started" in kept
    assert "until" not in kept
