"""Submitting a rights request and passing its identity checks, written once for the tests.

- :func:`code_in` / :func:`last_code` / :func:`phone_code`: the one-time codes as the person
  receives them (by e-mail through the test SMTP server, by text in the phone outbox file);
- :func:`submit_and_verify`: through the service (both factors when the type needs two);
- :func:`submit_and_verify_http`: through the JSON API, as a person's browser would.
"""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi.testclient import TestClient
from tests.conftest import SmtpSink

from privacyops.policy.schema import PolicyBook
from privacyops.rights.service import RightsService
from privacyops.rights.workflow import RequestType

CODE = re.compile(r"\b(\d{6})\b")


def code_in(text: str) -> str:
    """The six-digit code in a message's text."""
    found = CODE.search(text)
    assert found, text
    return found.group(1)


def last_code(smtp: SmtpSink, to: str) -> str:
    """The code in the last e-mail to ``to``."""
    return code_in(smtp.body(smtp.to(to)[-1]))


def phone_texts(service: RightsService) -> list[dict[str, str]]:
    """The texts sent to phones so far (the development phone sender's outbox)."""
    path = service.settings.data_dir / "phone-outbox.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def phone_code(service: RightsService) -> str:
    """The code in the last text sent to a phone."""
    return code_in(phone_texts(service)[-1]["text"])


def submit_and_verify(
    service: RightsService, smtp: SmtpSink, kind: str, email: str, **kw: Any
) -> Any:
    """Submit a request and pass the e-mail code, then the phone code when ``kind`` needs a
    second factor; returns the receipt (``request_id``, ``token``)."""
    phone = kw.pop("phone", "+4721929300")
    receipt = service.submit(kind, email, phone=phone, **kw)
    service.verify(receipt.request_id, receipt.token, last_code(smtp, email))
    if service.needs_second_factor(RequestType(kind)):
        service.verify(receipt.request_id, receipt.token, phone_code(service), factor="second")
    return receipt


def submit_and_verify_http(client: TestClient, smtp: SmtpSink, **body: Any) -> dict[str, Any]:
    """``POST /api/v1/rights/requests`` and its ``/verify`` with the e-mailed code; returns the
    receipt (``request_id``, ``token``) once the request answers ``verified``."""
    response = client.post("/api/v1/rights/requests", json=body)
    assert response.status_code == 202, response.text
    receipt: dict[str, Any] = response.json()
    verified = client.post(
        f"/api/v1/rights/requests/{receipt['request_id']}/verify",
        json={"code": last_code(smtp, body["email"])},
        headers={"X-Request-Token": receipt["token"]},
    )
    assert verified.status_code == 200, verified.text
    assert verified.json()["state"] == "verified"
    return receipt


def decide_recipients(
    service: RightsService,
    request_id: str,
    decision: str = "disproportionate",
    note: str = "The recipient keeps no copy we could reach (test)",
) -> list[str]:
    """Record the DPO's Art. 19 decision on every recipient of the request that has no
    address (the request then goes on to its answer); returns their ids."""
    open_ones = [
        r["recipient_id"]
        for r in service.staff_recipients(request_id)
        if r["status"] == "unreachable"
    ]
    for rid in open_ones:
        service.decide_recipient(request_id, rid, decision, note, actor="staff:test")
    return open_ones


def all_recipients_reachable(book: PolicyBook) -> PolicyBook:
    """The policy with an Art. 19 address for every recipient and no processors named on its
    channels: every notice can be sent, so no request waits for the DPO's Art. 19 decision
    (for tests about something else, such as batching)."""
    current = book.current
    recipients = [
        r.model_copy(update={"notify_email": f"privacy@{r.id}.example"}) for r in current.recipients
    ]
    channels = [c.model_copy(update={"processors": []}) for c in current.channels]
    manifest = current.model_copy(update={"recipients": recipients, "channels": channels})
    return book.model_copy(update={"versions": [*book.versions[:-1], manifest]})
