"""Personal data in free text: sources read from real files, the known-person search, the
detectors (checksums with Hypothesis), redaction, the CLI and the HTTP API (token scope)."""

from __future__ import annotations

import json
import mailbox
from email.message import EmailMessage
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from tests._web import make_app
from typer.testing import CliRunner

from privacyops.accounts import create_api_token
from privacyops.cli.app import app as cli_app
from privacyops.errors import InvalidInput
from privacyops.text import Person, PersonMatcher, TextDoc, find, read_path, redact, scan
from privacyops.text.checks import iban_valid, luhn_valid

NOTE = (
    "Call note. Spoke with ÅSE  NÆSS-Ødegård? no: with Ms Ase Nass about the refund.\n"
    "Her number: 0047 (0) 22-00.00.00, mail ANN.Smith@Acme.example.\n"
)


def _message(sender: str, body: str, msgid: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "support@acme.example"
    message["Subject"] = "Refund"
    message["Message-ID"] = msgid
    message.set_content(body)
    return message


def _ann() -> Person:
    return Person(
        emails=["ann.smith@acme.example"], phones=["+47 22 00 00 00"], names=["Ann Smith"]
    )


def _mbox(path: Path) -> Path:
    box = mailbox.mbox(path)
    box.add(_message("Ann Smith <ann.smith@acme.example>", "Hi, refund me please.", "<m1@x>"))
    box.add(_message("Bob Jones <bob@acme.example>", "Smith, Ann called on 22 00 00 00.", "<m2@x>"))
    box.add(
        _message("Carl <carl@acme.example>", "Nothing about her. Annsmith is a shop.", "<m3@x>")
    )
    box.flush()
    box.close()
    return path


def test_mbox_and_maildir_mentions_with_passages(tmp_path: Path) -> None:
    mbox = _mbox(tmp_path / "support.mbox")
    maildir = mailbox.Maildir(tmp_path / "Maildir")
    maildir.add(_message("A. Smith <x@y.example>", "Regards, A. Smith", "<d1@x>"))
    mentions = list(
        find([*read_path(mbox).docs(), *read_path(tmp_path / "Maildir").docs()], _ann())
    )
    assert {(m.doc_id, m.kind) for m in mentions} == {
        ("<m1@x>", "name"),
        ("<m1@x>", "email"),
        ("<m2@x>", "name"),
        ("<m2@x>", "phone"),
        ("<d1@x>", "name"),
    }
    phone = next(m for m in mentions if m.kind == "phone")
    assert "22 00 00 00" in phone.passage
    assert "Smith, Ann" in phone.passage


def test_folded_names_phones_and_emails_in_any_format() -> None:
    person = Person(emails=["ann.smith@acme.example"], phones=["+4722000000"], names=["Åse Næss"])
    doc = TextDoc("notes", "n1", NOTE)
    found = [(NOTE[m.start : m.end], m.kind) for m in PersonMatcher(person).mentions(doc)]
    assert ("Ms Ase Nass", "name") not in found  # æ folds to "ae", not "a": another name
    assert ("0047 (0) 22-00.00.00", "phone") in found
    assert ("ANN.Smith@Acme.example", "email") in found
    assert ("ÅSE  NÆSS", "name") not in found  # two spaces: not the written name
    assert ("Åse Næss", "name") in [
        (t[m.start : m.end], m.kind)
        for t in ["Åse Næss wrote"]
        for m in PersonMatcher(person).mentions(TextDoc("s", "1", t))
    ]


def test_longer_address_and_longer_number_are_not_mentions() -> None:
    text = "ann.smith@acme.example.org, xann.smith@acme.example, +47 22 00 00 001"
    assert list(PersonMatcher(_ann()).spans(text)) == []


def test_exports_and_folders(tmp_path: Path) -> None:
    (tmp_path / "chat.jsonl").write_text(
        json.dumps({"id": "c1", "message": "ask a. smith"}) + "\n", encoding="utf-8"
    )
    (tmp_path / "tickets.csv").write_text("id,message\nt1,From SMITH ANN\n", encoding="utf-8")
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "call.md").write_text("# Call\nAnn Smith, +47 22000000\n")
    found = [
        (m.source.rsplit("/", 1)[-1], m.doc_id, m.kind)
        for name in ("chat.jsonl", "tickets.csv", "notes")
        for m in find(read_path(tmp_path / name, text_field="message").docs(), _ann())
    ]
    assert found == [
        ("chat.jsonl", "c1", "name"),
        ("tickets.csv", "t1", "name"),
        ("notes", "call.md", "name"),
        ("notes", "call.md", "phone"),
    ]


def test_source_declared_in_yaml_and_its_errors(tmp_path: Path) -> None:
    _mbox(tmp_path / "support.mbox")
    (tmp_path / "support.yml").write_text(
        "text_source:\n  name: support\n  type: mbox\n  path: support.mbox\n"
        "  categories: [correspondence]\n  retention_days: 730\n  rewritable: true\n"
    )
    source = read_path(tmp_path / "support.yml")
    assert (source.name, source.retention_days, source.rewritable) == ("support", 730, True)
    assert len(list(source.docs())) == 3
    (tmp_path / "bad.yml").write_text("text_source:\n  name: x\n  type: gmail\n  path: x\n")
    with pytest.raises(InvalidInput) as err:
        read_path(tmp_path / "bad.yml")
    assert err.value.details[0]["where"].endswith("bad.yml:3")
    (tmp_path / "bad.jsonl").write_text('{"id": 1}\n')
    with pytest.raises(InvalidInput, match="record 1 has no text"):
        list(read_path(tmp_path / "bad.jsonl").docs())


def test_detectors_label_each_kind() -> None:
    text = (
        "From: Bob Jones <bob@acme.example>\nDear Ms Smith,\ncall +44 20 7946 0958, "
        "IBAN GB82 WEST 1234 5698 7654 32, card 4111 1111 1111 1111, from 10.1.2.3 "
        "or 2001:db8::1, see https://acme.example/a?b=1.\n"
        "Regards,\nBob Jones\nAcme Widgets Ltd\n12 Baker Street\nLondon NW1 6XE\n"
    )
    got = {(text[s.start : s.end], s.label) for s in scan(text)}
    assert got == {
        ("Bob Jones", "PERSON"),
        ("bob@acme.example", "EMAIL_ADDRESS"),
        ("Smith", "PERSON"),
        ("+44 20 7946 0958", "PHONE_NUMBER"),
        ("GB82 WEST 1234 5698 7654 32", "IBAN_CODE"),
        ("4111 1111 1111 1111", "CREDIT_CARD"),
        ("10.1.2.3", "IP_ADDRESS"),
        ("2001:db8::1", "IP_ADDRESS"),
        ("https://acme.example/a?b=1", "URL"),
        ("Acme Widgets Ltd", "ORGANIZATION"),
        ("12 Baker Street\nLondon NW1 6XE", "LOCATION"),
    }


def test_numbers_that_fail_their_checksum_are_not_cards_or_ibans() -> None:
    text = "order 4111 1111 1111 1112, ref GB82 WEST 1234 5698 7654 33, at 12:30 on 2024-05-01"
    labels = {s.label for s in scan(text)}
    assert "CREDIT_CARD" not in labels
    assert "IBAN_CODE" not in labels


@given(st.text(alphabet="0123456789", min_size=12, max_size=18))
def test_luhn_round_trip(body: str) -> None:
    check = next(d for d in "0123456789" if luhn_valid(body + d))
    assert luhn_valid(body + check)
    assert not luhn_valid(body + str((int(check) + 1) % 10))


@given(
    st.sampled_from(["NO", "DE", "GB", "FR"]),
    st.text(alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=11, max_size=28),
)
def test_iban_round_trip(country: str, account: str) -> None:
    moved = account + country + "00"
    digits = int("".join(str(int(c, 36)) for c in moved))
    iban = f"{country}{98 - digits % 97:02d}{account}"
    assert iban_valid(iban)
    assert not iban_valid(iban[:2] + f"{(int(iban[2:4]) + 1) % 100:02d}" + iban[4:])


def test_redact_replaces_spans_with_tags() -> None:
    text = "Mail ann@acme.example or call +47 22 00 00 00."
    assert redact(text, scan(text)) == "Mail [EMAIL_ADDRESS] or call [PHONE_NUMBER]."


def test_cli_scan_redact_find(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps({"id": 7, "text": "Please ring +47 22 00 00 00"}) + "\n")
    runner = CliRunner()
    out = runner.invoke(cli_app, ["text", "scan", str(source)])
    assert out.exit_code == 0, out.output
    row = json.loads(out.output)
    assert row["id"] == 7
    assert [(s["start"], s["end"], s["label"]) for s in row["spans"]] == [(12, 27, "PHONE_NUMBER")]
    out = runner.invoke(cli_app, ["text", "redact", str(source)])
    assert json.loads(out.output)["text"] == "Please ring [PHONE_NUMBER]"
    mbox = _mbox(tmp_path / "support.mbox")
    out = runner.invoke(cli_app, ["text", "find", "--phone", "+4722000000", str(mbox), str(source)])
    assert out.exit_code == 0, out.output
    assert [(r["id"], r["kind"]) for r in map(json.loads, out.output.splitlines())] == [
        ("<m2@x>", "phone"),
        ("7", "phone"),
    ]
    bad = tmp_path / "bad.jsonl"
    bad.write_text("not json\n")
    out = runner.invoke(cli_app, ["text", "scan", str(bad)])
    assert out.exit_code != 0
    assert "Traceback" not in out.output


@pytest.fixture
def web(tmp_path: Path) -> FastAPI:
    return make_app(tmp_path)


def _token(app: FastAPI, scope: str) -> dict[str, str]:
    with app.state.db.session() as session:
        _, token = create_api_token(session, f"t-{scope}", [scope])
    return {"Authorization": f"Bearer {token}"}


def test_api_needs_the_text_scope(web: FastAPI) -> None:
    client = TestClient(web)
    body = {"texts": [{"id": "a", "text": "mail ann@acme.example"}]}
    assert client.post("/api/v1/text/scan", json=body).status_code == 401
    wrong = _token(web, "requests:read")
    assert client.post("/api/v1/text/scan", json=body, headers=wrong).status_code == 403
    ok = _token(web, "text:scan")
    got = client.post("/api/v1/text/scan", json=body, headers=ok)
    assert got.json() == {
        "results": [
            {"id": "a", "spans": [{"start": 5, "end": 21, "label": "EMAIL_ADDRESS", "score": 1.0}]}
        ]
    }
    red = client.post("/api/v1/text/redact", json=body, headers=ok).json()
    assert red["results"][0]["text"] == "mail [EMAIL_ADDRESS]"
    assert red["results"][0]["removed"] == {"EMAIL_ADDRESS": 1}
    found = client.post(
        "/api/v1/text/find", json={**body, "emails": ["Ann@Acme.example"]}, headers=ok
    ).json()
    assert [(m["id"], m["kind"], m["start"]) for m in found["mentions"]] == [("a", "email", 5)]
    none = client.post("/api/v1/text/find", json=body, headers=ok)
    assert none.status_code == 400
    assert "Traceback" not in none.text
    bad_phone = client.post(
        "/api/v1/text/find", json={**body, "phones": ["not a phone"]}, headers=ok
    )
    assert bad_phone.status_code == 400
    assert "not a phone" not in bad_phone.text  # the value is never echoed


def test_compound_surnames_and_initials() -> None:
    person = Person(names=["Lucie De Oliveira"])
    text = "Copy to L. De Oliveira and to Oliveira, Lucie; not to Lucie Olivier."
    found = [text[s:e] for s, e, _ in sorted(PersonMatcher(person).spans(text))]
    assert found == ["L. De Oliveira", "Oliveira, Lucie"]


def test_jcb_fifteen_digit_card() -> None:
    card = "180001911541407"
    assert [(s.label, s.start) for s in scan(f"card {card} please")] == [("CREDIT_CARD", 5)]


def test_erasure_rewrites_a_rewritable_mbox(tmp_path: Path) -> None:
    from privacyops.text.erase import erase_from_mailbox
    from privacyops.text.sources import TextSource

    path = _mbox(tmp_path / "support.mbox")
    source = TextSource(name="support", type="mbox", path=path, rewritable=True)
    changed = erase_from_mailbox(source, PersonMatcher(_ann()))
    assert changed == ["<m1@x>", "<m2@x>"]
    assert list(find(source.docs(), _ann())) == []
    texts = [doc.text for doc in source.docs()]
    assert "From: [PERSON] <[EMAIL_ADDRESS]>" in texts[0]
    assert "[PERSON] called on [PHONE_NUMBER]." in texts[1]
    assert "Nothing about her." in texts[2]
    with pytest.raises(InvalidInput):
        erase_from_mailbox(source.model_copy(update={"rewritable": False}), PersonMatcher(_ann()))
