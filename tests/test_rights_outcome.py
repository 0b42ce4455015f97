"""The request outcome's stored JSON: what the runner of earlier versions wrote is read and
written back unchanged, so a request in flight in a database resumes with its outcome intact."""

from __future__ import annotations

from typing import Any

import pytest

from privacyops.rights.models import RightsRequest
from privacyops.rights.outcome import Outcome, SystemStatus

# The shapes the runner wrote before the outcome was typed (rights/runner.py at a561fb0),
# key for key, at the points a request can stop: waiting for systems, for staff, or answered.
WRITTEN_BEFORE: dict[str, dict[str, Any]] = {
    "access waiting for a failed system": {
        "other_systems": [
            {"system": "crm", "status": "done", "records": 3},
            {"system": "shop", "status": "failed", "records": 0},
        ],
        "waiting_for": ["shop"],
        "retries": 2,
    },
    "erasure answered": {
        "erased": 4,
        "method": "delete",
        "kept": [
            {
                "record": 7,
                "channel": "invoices",
                "reason": "kept to comply with a legal obligation (GDPR Art. 17(3)(b))",
            }
        ],
        "other_systems": [{"system": "crm", "status": "done", "erased": 2}],
        "not_notified": ["Printer Ltd"],
        "recipients_notified": ["Mailer Inc"],
    },
    "erasure of no one": {"erased": 0, "kept": [], "other_systems": []},
    "rectification with a manual system": {
        "corrected": ["name"],
        "not_held": ["phone"],
        "other_systems": [
            {"system": "trello", "status": "pending"},
            {"system": "crm", "status": "done", "corrected": 1},
        ],
    },
    "restriction of no one": {
        "restricted": False,
        "ground": "You contest the accuracy of your data (Art. 18(1)(a)).",
        "restriction": None,
    },
    "objection awaiting the balancing test": {
        "objection": "Processing based on legitimate interests (Art. 21(1)).",
        "restriction": 12,
    },
    "objection decided": {
        "objection": "Processing based on legitimate interests (Art. 21(1)).",
        "decision": "uphold",
        "reason": "no compelling grounds",
    },
    "direct marketing": {
        "objection": "Direct marketing, including profiling for it (Art. 21(2)-(3)).",
        "result": "direct marketing stopped",
    },
    "consent withdrawal": {"withdrawn": ["Newsletter"], "opt_ins": 1},
    "complaint": {
        "complaint": {
            "authority": {"country": "NO", "name": "Datatilsynet", "note": None},
            "reason": "where you live",
            "judicial_remedy": "the courts",
        }
    },
}


@pytest.mark.parametrize("shape", list(WRITTEN_BEFORE.values()), ids=list(WRITTEN_BEFORE))
def test_an_outcome_written_before_reads_and_writes_back_unchanged(shape: dict[str, Any]) -> None:
    row = RightsRequest(outcome=shape)
    Outcome.of(row).store(row)
    assert row.outcome == shape
    assert list(row.outcome) == list(shape)  # the answer lists the keys in this order


def test_keys_it_does_not_know_are_kept() -> None:
    row = RightsRequest(outcome={"erased": 1, "from_a_later_version": {"x": 1}})
    outcome = Outcome.of(row)
    outcome.not_notified = []
    outcome.store(row)
    assert row.outcome == {"erased": 1, "not_notified": [], "from_a_later_version": {"x": 1}}


def test_a_key_set_to_none_is_kept_and_an_unset_key_is_absent() -> None:
    outcome = Outcome(restricted=False, restriction=None)
    row = RightsRequest()
    outcome.store(row)
    assert row.outcome == {"restricted": False, "restriction": None}
    outcome.without("restriction").store(row)
    assert row.outcome == {"restricted": False}


def test_a_system_status_keeps_only_its_counts() -> None:
    row = RightsRequest()
    Outcome(other_systems=[SystemStatus(system="crm", status="failed")]).store(row)
    assert row.outcome == {"other_systems": [{"system": "crm", "status": "failed"}]}
