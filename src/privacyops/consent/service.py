"""The consent service: one object per application holding the banner, the signing key, the
record writer and the rate limiter, built from the settings and the policy in force."""

from __future__ import annotations

import threading
from functools import cached_property
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from privacyops.consent.banner import Banner, build_banner
from privacyops.consent.gpc import well_known_document
from privacyops.consent.signing import SigningKey, load_signing_key
from privacyops.policy import PolicyBook, load_configured_policy
from privacyops.settings import Settings

if TYPE_CHECKING:
    from typing import Any

__all__ = ["ConsentService", "origin_of"]


def origin_of(url: str) -> str | None:
    """``scheme://host[:port]`` of a URL, lower-cased; None when it has no scheme or host."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    default = {"http": 80, "https": 443}[parts.scheme]
    try:
        port = parts.port
    except ValueError:
        return None
    host = parts.hostname.lower()
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    suffix = f":{port}" if port is not None and port != default else ""
    return f"{parts.scheme}://{host}{suffix}"


class ConsentService:
    """Consent for one application: what the banner shows and what the site may load.

    Args:
        settings: the settings in force.
        book: the policy book (default: the configured one, see
            :func:`privacyops.policy.load_configured_policy`).
    """

    def __init__(self, settings: Settings, book: PolicyBook | None = None) -> None:
        self.settings = settings
        self.book = book or load_configured_policy(settings)
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"ConsentService(policy={self.book.current.version.id!r})"

    @cached_property
    def banner(self) -> Banner:
        """The banner of the policy version in force."""
        countries = [e.country for m in self.book.versions for e in m.entities]
        return build_banner(self.book.current, self.settings, countries=countries)

    @cached_property
    def signing_key(self) -> SigningKey:
        """The receipt-signing key (created in data_dir on first use)."""
        with self._lock:
            return load_signing_key(self.settings)

    @cached_property
    def allowed_origins(self) -> frozenset[str]:
        """Origins that may call the public consent API: ``site_origins`` and the service's own."""
        found = {origin_of(o) for o in [*self.settings.site_origins, self.settings.base_url]}
        return frozenset(o for o in found if o)

    def gpc_document(self) -> dict[str, Any]:
        """``/.well-known/gpc.json``."""
        return well_known_document(self.book.current.version.effective_from)
