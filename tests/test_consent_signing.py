"""The receipt-signing key: created once in data_dir, signatures verify, tampering is caught."""

from __future__ import annotations

import copy
import stat
from pathlib import Path

import pytest

from privacyops.consent.signing import load_signing_key, sign_document, verify_document
from privacyops.errors import ConfigurationError, VerificationFailed
from privacyops.settings import Settings


def test_key_is_created_once_private_and_reused(settings: Settings) -> None:
    first = load_signing_key(settings)
    path = settings.data_dir / "consent-signing.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_signing_key(settings).id == first.id


def test_missing_key_without_create_is_a_configuration_error(settings: Settings) -> None:
    with pytest.raises(ConfigurationError):
        load_signing_key(settings, create=False)


def test_signed_document_verifies_and_any_change_is_caught(settings: Settings) -> None:
    key = load_signing_key(settings)
    doc = sign_document({"consentReceiptID": "r1", "purposes": [{"granted": False}]}, key)
    payload, key_id = verify_document(doc, trusted_public_key=key.public_b64)
    assert payload["consentReceiptID"] == "r1"
    assert key_id == key.id
    forged = copy.deepcopy(doc)
    forged["receipt"]["purposes"][0]["granted"] = True
    with pytest.raises(VerificationFailed):
        verify_document(forged)


def test_a_receipt_signed_by_another_key_is_not_trusted(settings: Settings, tmp_path: Path) -> None:
    ours = load_signing_key(settings)
    theirs = load_signing_key(Settings(data_dir=tmp_path / "other"))
    doc = sign_document({"x": 1}, theirs)
    verify_document(doc)  # self-consistent ...
    with pytest.raises(VerificationFailed):  # ... but not by the key we trust
        verify_document(doc, trusted_public_key=ours.public_b64)


@pytest.mark.parametrize(
    "bad", [[], {"receipt": {}}, {"receipt": {}, "signature": {"alg": "RS256"}}]
)
def test_malformed_receipts_fail_verification(bad: object) -> None:
    with pytest.raises(VerificationFailed):
        verify_document(bad)
