"""Consent receipts: a visitor's or data subject's consent history, signed by the service.

The receipt carries the fields of the Kantara Initiative Consent Receipt Specification v1.1
(``version``, ``jurisdiction``, ``consentTimestamp``, ``collectionMethod``,
``consentReceiptID``, ``language``, ``piiPrincipalId``, ``piiControllers``, ``policyUrl``,
``services``/``purposes``, ``sensitive``, ``spiCat``) and the record elements of ISO/IEC TS
27560:2023 (notice shown, event history with each state, expiry). It is signed with the
service's Ed25519 key (:mod:`privacyops.consent.signing`) and verified with
``privacyops consent verify-receipt FILE``.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from privacyops.consent.banner import CATEGORIES, Banner
from privacyops.consent.signing import SigningKey, sign_document
from privacyops.errors import NotFound
from privacyops.policy.schema import EntityRole, Manifest

__all__ = ["RECEIPT_VERSION", "build_receipt"]

RECEIPT_VERSION = "KI-CR-v1.1.0"
_PII_CATEGORIES = {
    "necessary": ["cookies"],
    "analytics": ["cookies", "usage_data"],
    "advertising": ["cookies", "usage_data"],
    "widgets": ["cookies", "usage_data"],
}


def _controllers(manifest: Manifest) -> list[dict[str, Any]]:
    found = manifest.entities_with(EntityRole.CONTROLLER) or [manifest.contact_point]
    out = []
    for entity in found:
        out.append(
            {
                "piiController": entity.legal_name,
                "onBehalf": False,
                "contact": manifest.dpo.name if manifest.dpo else None,
                "address": entity.address,
                "email": entity.contact.email or (manifest.dpo.email if manifest.dpo else None),
                "phone": entity.contact.phone,
                "piiControllerUrl": str(manifest.website) if manifest.website else None,
            }
        )
    return out


def _purposes(banner: Banner, latest: dict[str, Any]) -> list[dict[str, Any]]:
    texts = banner.texts.get(latest["language"]) or banner.texts["en"]
    purposes = []
    for category in CATEGORIES:
        vendors = banner.vendors_of(category)
        granted = bool(latest["categories"].get(category))
        purposes.append(
            {
                "purpose": texts["categories"][category]["name"],
                "purposeCategory": [category],
                "consentType": "NOT_REQUIRED" if category == "necessary" else "EXPLICIT",
                "piiCategory": _PII_CATEGORIES[category],
                "primaryPurpose": category == "necessary",
                "termination": (
                    f"{banner.lifetime_days} days after the choice, or withdrawal at any time"
                ),
                "thirdPartyDisclosure": bool(vendors),
                "thirdPartyName": [v.name for v in vendors if latest["vendors"].get(v.id)],
                "state": "granted" if granted else "refused",
            }
        )
    return purposes


def build_receipt(
    records: list[dict[str, Any]],
    *,
    manifest: Manifest,
    banner: Banner,
    key: SigningKey,
    principal: str,
    marketing: list[dict[str, Any]] | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The signed receipt of ``records`` (oldest first, as :func:`records.history` gives them).

    Args:
        records: the consent history.
        manifest: the policy version in force (controller, policy link).
        banner: the banner in force (category names, vendors, lifetime).
        key: the service's signing key.
        principal: the PII principal's pseudonymous id (``visitor:<id>`` or ``subject:<id>``).
        marketing: marketing e-mail consents of the subject, if any.

    Raises:
        NotFound: there is nothing to put in a receipt.
    """
    if not records and not marketing:
        raise NotFound("No consent is recorded for this visitor or data subject.")
    moment = now or datetime.now(UTC)
    payload: dict[str, Any] = {
        "version": RECEIPT_VERSION,
        "jurisdiction": manifest.contact_point.country,
        "collectionMethod": "website consent banner (privacyops)",
        "consentReceiptID": uuid.uuid4().hex,
        "issuedAt": moment.isoformat().replace("+00:00", "Z"),
        "piiPrincipalId": principal,
        "piiControllers": _controllers(manifest),
        "policyUrl": banner.policy_url,
        "sensitive": False,
        "spiCat": [],
        "history": records,
        "marketingEmail": marketing or [],
    }
    if records:
        latest = records[-1]
        created = datetime.fromisoformat(latest["created_at"].replace("Z", "+00:00"))
        payload.update(
            {
                "consentTimestamp": int(created.timestamp()),
                "language": latest["language"],
                "policyVersion": latest["policy_version"],
                "notice": {
                    "bannerVersion": latest["banner_version"],
                    "textHash": latest["text_hash"],
                    "textHashAlgorithm": "SHA-256",
                    "language": latest["language"],
                },
                "services": [{"service": "Website", "purposes": _purposes(banner, latest)}],
                "expiry": latest["expires_at"],
            }
        )
    return sign_document(payload, key)
