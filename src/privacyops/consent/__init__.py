"""Consent: the banner generated from the policy's trackers, script blocking, Global Privacy
Control, consent records that prove themselves, and the check back-end systems ask.

Public API::

    from privacyops.consent import ConsentService, build_banner, verify_document
"""

from privacyops.consent.banner import CATEGORIES, Banner, Vendor, build_banner
from privacyops.consent.gpc import gpc_signal, well_known_document
from privacyops.consent.service import ConsentService
from privacyops.consent.signing import SigningKey, load_signing_key, sign_document, verify_document

__all__ = [
    "CATEGORIES",
    "Banner",
    "ConsentService",
    "SigningKey",
    "Vendor",
    "build_banner",
    "gpc_signal",
    "load_signing_key",
    "sign_document",
    "verify_document",
    "well_known_document",
]
