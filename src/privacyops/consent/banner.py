"""The consent banner generated from the policy manifest: categories, vendors, texts, versions.

The banner lists every website tracker the manifest declares (``Processor.tracker``), grouped
by its consent category, each with the link to its privacy policy. Its texts ship as JSON in
``texts/<language>.json``: English and the languages of the controller group's countries.

Two fingerprints make a consent record provable (GDPR Art. 7(1)): ``text_hash`` is the SHA-256
of exactly what the banner showed in one language (texts, category names, vendor names and
links), and ``banner_version`` changes whenever the script, its style or any text changes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from privacyops.policy.schema import ConsentCategory, Manifest
from privacyops.settings import Settings

__all__ = [
    "CATEGORIES",
    "KNOWN_COOKIES",
    "LANGUAGES_BY_COUNTRY",
    "SCRIPT_VERSION",
    "Banner",
    "Vendor",
    "asset",
    "available_languages",
    "build_banner",
    "canonical_json",
    "demo_asset",
    "load_texts",
]

SCRIPT_VERSION = "1.0.0"
#: Banner categories in display order; "necessary" is always on and never asked for.
CATEGORIES: tuple[str, ...] = tuple(c.value for c in ConsentCategory)
_HERE = Path(__file__).parent
_TEXTS = _HERE / "texts"
_STATIC = _HERE / "static"

#: Languages shown for a controller entity's country (ISO 3166-1 alpha-2 -> BCP 47).
#: Belarus gets both official languages; Russian is the one most of its web audience reads.
LANGUAGES_BY_COUNTRY: dict[str, tuple[str, ...]] = {
    "NO": ("nb",),
    "FI": ("fi",),
    "AR": ("es",),
    "ES": ("es",),
    "PL": ("pl",),
    "BY": ("ru", "be"),
    "RU": ("ru",),
    "US": ("en",),
    "GB": ("en",),
}


#: First-party cookies the best-known trackers set, used to clear them on withdrawal when the
#: manifest lists none for a tracker (``Tracker.cookies`` wins when given). A trailing ``*``
#: matches a prefix. Cookies on the vendor's own domain cannot be deleted by the site.
KNOWN_COOKIES: dict[str, tuple[str, ...]] = {
    "google-analytics": ("_ga", "_ga_*", "_gid", "_gat*", "__utm*"),
    "google-tag-manager": ("_gcl_*",),
    "google-adwords": ("_gcl_*", "_gac_*"),
    "google-adwords-tools": ("_gcl_*", "_gac_*"),
    "hotjar": ("_hj*",),
    "hubspot": ("__hstc", "__hssc", "__hssrc", "hubspotutk", "__hs_*"),
    "facebook-ads-conversion-tracking": ("_fbp", "_fbc"),
    "facebook-audience-network": ("_fbp", "_fbc"),
    "facebook-social-graph": ("_fbp", "_fbc"),
    "bing-ads": ("_uetsid", "_uetvid", "_uetmsclkid"),
    "linkedin-ads": ("li_fat_id", "_gcl_au"),
    "linkedin-widgets": ("li_*",),
    "twitter-ads": ("_twclid", "muc_ads"),
    "onesignal": ("__OS*", "onesignal*"),
    "sharethis": ("__sharethis_*",),
    "addthis": ("__atuv*", "at-*"),
    "albacross": ("_alb*",),
    "tawk": ("__tawk*", "Tawk_*", "TawkConnectionTime"),
    "wistia": ("wistia*",),
}


def canonical_json(value: Any) -> bytes:
    """The one byte form used for every hash and signature: sorted keys, no spaces, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@lru_cache(maxsize=8)
def asset(name: str) -> bytes:
    """The bytes of a banner asset: ``banner.js`` or ``banner.css``."""
    if name not in ("banner.js", "banner.css"):
        raise KeyError(name)
    return (_STATIC / name).read_bytes()


def demo_asset(name: str) -> bytes:
    """A file of the demo page (``static/demo``): a page with blocked tags to try the banner."""
    if name not in ("index.html", "analytics.js", "widget.html"):
        raise KeyError(name)
    return (_STATIC / "demo" / name).read_bytes()


def available_languages() -> tuple[str, ...]:
    """Every language a translation ships for."""
    return tuple(sorted(p.stem for p in _TEXTS.glob("*.json")))


@lru_cache(maxsize=16)
def load_texts(language: str) -> dict[str, Any]:
    """The banner texts of one language (a fresh copy is not needed: callers never mutate)."""
    if language not in available_languages():
        raise KeyError(language)
    data: dict[str, Any] = json.loads((_TEXTS / f"{language}.json").read_text(encoding="utf-8"))
    return data


@dataclass(frozen=True)
class Vendor:
    """A tracker as the banner lists it."""

    id: str
    name: str
    category: str
    policy_url: str | None
    cookies: tuple[str, ...] = ()

    def as_config(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "policy": self.policy_url,
            "cookies": list(self.cookies),
        }


@dataclass(frozen=True)
class Banner:
    """Everything the banner shows for one policy version, in every language it speaks."""

    policy_version: str
    organization: str
    vendors: tuple[Vendor, ...]
    languages: tuple[str, ...]
    texts: dict[str, dict[str, Any]]
    text_hashes: dict[str, str]
    banner_version: str
    lifetime_days: int
    gpc_refuses: tuple[str, ...]
    policy_url: str
    _by_id: dict[str, Vendor] = field(default_factory=dict, repr=False, compare=False)

    def vendor(self, vendor_id: str) -> Vendor:
        """The vendor with this id (KeyError when the manifest declares no such tracker)."""
        return self._by_id[vendor_id]

    def vendors_of(self, category: str) -> list[Vendor]:
        return [v for v in self.vendors if v.category == category]

    def categories_config(self) -> list[dict[str, Any]]:
        return [
            {"id": c, "vendors": [v.as_config() for v in self.vendors_of(c)]} for c in CATEGORIES
        ]

    def choose_language(self, requested: str | None, accept_language: str | None = None) -> str:
        """The best language the banner speaks for a ``lang`` parameter or Accept-Language."""
        wanted: list[str] = []
        if requested:
            wanted.append(requested)
        if accept_language:
            for part in accept_language.split(","):
                wanted.append(part.split(";")[0].strip())
        for tag in wanted:
            tag = tag.lower().replace("_", "-")
            primary = tag.split("-")[0]
            # Norwegian: "no" and "nn" readers get Bokmål, the text we ship.
            if primary in ("no", "nn"):
                primary = "nb"
            if primary in self.languages:
                return primary
        return "en" if "en" in self.languages else self.languages[0]

    def config(self, language: str, *, gpc: bool, endpoint: str) -> dict[str, Any]:
        """The JSON the script fetches from ``/api/v1/consent/config``."""
        return {
            "banner_version": self.banner_version,
            "policy_version": self.policy_version,
            "language": language,
            "languages": list(self.languages),
            "texts": self.texts[language],
            "text_hash": self.text_hashes[language],
            "categories": self.categories_config(),
            "lifetime_days": self.lifetime_days,
            "gpc_refuses": list(self.gpc_refuses),
            "gpc": gpc,
            "endpoint": endpoint,
            "policy_url": self.policy_url,
        }


def _languages_for(countries: Iterable[str]) -> tuple[str, ...]:
    shipped = set(available_languages())
    found = ["en"]
    for country in countries:
        for lang in LANGUAGES_BY_COUNTRY.get(country, ()):
            if lang in shipped and lang not in found:
                found.append(lang)
    return tuple(found)


def _vendors(manifest: Manifest) -> tuple[Vendor, ...]:
    out = []
    for p in manifest.trackers:
        if p.tracker is None:  # pragma: no cover - Manifest.trackers filters these
            continue
        out.append(
            Vendor(
                id=p.id,
                name=p.name,
                category=p.tracker.consent_category.value,
                policy_url=str(p.privacy_policy_urls[0]) if p.privacy_policy_urls else None,
                cookies=tuple(p.tracker.cookies) or KNOWN_COOKIES.get(p.id, ()),
            )
        )
    return tuple(out)


def _shown_texts(language: str, organization: str) -> dict[str, Any]:
    texts = json.loads(json.dumps(load_texts(language)))
    texts["intro"] = texts["intro"].replace("{organization}", organization)
    return dict(texts)


def text_hash(language: str, texts: dict[str, Any], categories: list[dict[str, Any]]) -> str:
    """SHA-256 (hex) of what the banner shows in ``language``: its texts and vendor list."""
    shown = {"language": language, "texts": texts, "categories": categories}
    return hashlib.sha256(canonical_json(shown)).hexdigest()


def policy_url(settings: Settings) -> str:
    """Where the banner links to the privacy policy."""
    return settings.consent_policy_url or settings.base_url.rstrip("/") + "/privacy"


def build_banner(
    manifest: Manifest, settings: Settings, *, countries: Iterable[str] | None = None
) -> Banner:
    """The banner for ``manifest`` (the version in force) under ``settings``.

    Args:
        manifest: the policy version in force.
        settings: the settings in force (lifetime, GPC categories, policy link).
        countries: countries whose languages the banner speaks besides English; default the
            countries of ``manifest``'s entities. The service passes those of every version,
            so visitors of an entity an older version named still read the banner.
    """
    vendors = _vendors(manifest)
    languages = _languages_for(countries or [e.country for e in manifest.entities])
    categories = [
        {"id": c, "vendors": [v.as_config() for v in vendors if v.category == c]}
        for c in CATEGORIES
    ]
    texts = {lang: _shown_texts(lang, manifest.organization) for lang in languages}
    hashes = {lang: text_hash(lang, texts[lang], categories) for lang in languages}
    version_src = hashlib.sha256()
    version_src.update(SCRIPT_VERSION.encode())
    version_src.update(asset("banner.js"))
    version_src.update(asset("banner.css"))
    for lang in languages:
        version_src.update(hashes[lang].encode())
    banner_version = f"{SCRIPT_VERSION}+{version_src.hexdigest()[:12]}"
    return Banner(
        policy_version=manifest.version.id,
        organization=manifest.organization,
        vendors=vendors,
        languages=languages,
        texts=texts,
        text_hashes=hashes,
        banner_version=banner_version,
        lifetime_days=settings.consent_lifetime_days,
        gpc_refuses=tuple(settings.gpc_refuses),
        policy_url=policy_url(settings),
        _by_id={v.id: v for v in vendors},
    )
