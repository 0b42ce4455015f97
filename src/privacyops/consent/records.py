"""Turning a visitor's choice into a consent record, and reading records back.

:func:`prepare_record` validates a choice strictly against the banner in force (unknown
categories or vendors, a stale banner, a text hash that is not the one shown: refused, nothing
stored) and applies Global Privacy Control; :class:`~privacyops.consent.writer.ConsentWriter`
stores the prepared rows durably. :func:`current_state` and :func:`history` read them.
"""

from __future__ import annotations

import ipaddress
import json
import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

import orjson
import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from privacyops.consent.banner import CATEGORIES, Banner
from privacyops.consent.models import ConsentRecord
from privacyops.errors import Conflict, InvalidChoice, InvalidInput, UndeclaredData
from privacyops.store import utcnow

__all__ = [
    "ACTIONS",
    "ChoiceIn",
    "RequestContext",
    "StoredRecord",
    "current_state",
    "history",
    "origin_of",
    "page_url_without_query",
    "prepare_record",
    "record_to_dict",
    "truncate_ip",
]

#: What a record says happened (GDPR Art. 7(1), 7(3); W3C GPC).
ACTIONS: tuple[str, ...] = ("accept", "reject", "custom", "withdraw", "gpc")
Action = Literal["accept", "reject", "custom", "withdraw", "gpc"]
_REFUSABLE = tuple(c for c in CATEGORIES if c != "necessary")


class ChoiceIn(BaseModel):
    """A choice as the banner sends it (``POST /api/v1/consent``)."""

    model_config = ConfigDict(extra="forbid", strict=True, str_max_length=2048)

    visitor_id: str = Field(pattern=r"^[A-Za-z0-9_-]{16,56}$")
    action: Action
    categories: dict[str, bool] = Field(max_length=len(CATEGORIES))
    vendors: dict[str, bool] = Field(default_factory=dict, max_length=500)
    banner_version: str = Field(max_length=64)
    policy_version: str = Field(max_length=80)
    language: str = Field(max_length=16)
    text_hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    page_url: str | None = Field(default=None, max_length=2048)
    gpc: bool = False
    previous_record_id: str | None = Field(default=None, pattern=r"^[0-9a-f]{32}$")


@dataclass(frozen=True)
class RequestContext:
    """What the HTTP layer knows about the request a choice came with."""

    ip: str | None = None
    user_agent: str | None = None
    gpc_header: bool = False
    allowed_origins: frozenset[str] = frozenset()
    source: str = "banner"


@dataclass(frozen=True)
class StoredRecord:
    """What the writer answers once a record is durably stored."""

    record_id: str
    id: int
    created_at: datetime
    expires_at: datetime
    previous_record_id: str | None


def truncate_ip(ip: str | None) -> str | None:
    """The network of an address, never the address: IPv4 /24, IPv6 /48 (an IPv4-mapped IPv6
    address counts as IPv4). ``None`` for anything that is not an IP address."""
    if not ip:
        return None
    parts = ip.split(".")
    if len(parts) == 4 and all(p.isdigit() and len(p) <= 3 and int(p) < 256 for p in parts):
        return f"{int(parts[0])}.{int(parts[1])}.{int(parts[2])}.0/24"  # the common case, fast
    try:
        address = ipaddress.ip_address(ip.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


def page_url_without_query(url: str | None) -> tuple[str | None, str | None]:
    """``(scheme://host/path, origin)`` of a page URL; query and fragment dropped (they can carry
    personal data). ``(None, None)`` when there is no URL.

    Raises:
        InvalidInput: not an http(s) URL with a host.
    """
    if not url:
        return None, None
    if "?" in url or "#" in url:  # unique per visit often: not worth remembering
        return _page_url(url)
    return _known_page_url(url)


def _page_url(url: str) -> tuple[str, str | None]:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidChoice(
            "page_url must be an http(s) URL.", details=[{"loc": ["page_url"], "msg": "not a URL"}]
        )
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", "", "")), origin_of(url)


# A site has a bounded set of pages: splitting the same URL again for every visitor is waste.
_known_page_url = lru_cache(maxsize=4096)(_page_url)


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


def _problem(loc: list[str], msg: str) -> dict[str, Any]:
    return {"loc": loc, "msg": msg}


def prepare_record(
    choice: ChoiceIn,
    banner: Banner,
    context: RequestContext,
    *,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Validate ``choice`` against ``banner`` and build the row to store.

    Every category and every vendor gets an explicit state (refusals too). A GPC signal (the
    ``Sec-GPC: 1`` header or ``navigator.globalPrivacyControl``) refuses the banner's
    ``gpc_refuses`` categories whatever the payload says.

    Raises:
        UndeclaredData: a category or vendor the policy does not declare (422).
        InvalidInput: a contradiction (e.g. "accept" that refuses a category, a vendor granted
            in a refused category, "necessary" refused, a text hash that is not the one shown).
        Conflict: the banner or policy version is not the one in force (the page must reload).
    """
    unknown = [
        _problem(["categories", c], "not a banner category")
        for c in choice.categories
        if c not in CATEGORIES
    ]
    unknown += [
        _problem(["vendors", v], "not a tracker the policy declares")
        for v in choice.vendors
        if v not in banner._by_id
    ]
    if unknown:
        raise UndeclaredData(
            "The choice names something the policy does not declare.", details=unknown
        )
    if choice.banner_version != banner.banner_version:
        raise Conflict("The banner changed; reload the page and choose again.")
    if choice.policy_version != banner.policy_version:
        raise Conflict("The privacy policy changed; reload the page and choose again.")
    problems: list[dict[str, Any]] = []
    if choice.language not in banner.languages:
        problems.append(_problem(["language"], "not a language the banner speaks"))
    elif choice.text_hash != banner.text_hashes[choice.language]:
        problems.append(_problem(["text_hash"], "not the hash of the texts this banner shows"))
    if choice.categories.get("necessary") is False:
        problems.append(_problem(["categories", "necessary"], "strictly necessary is always on"))
    gpc = context.gpc_header or choice.gpc
    refused_by_gpc = set(banner.gpc_refuses) if gpc else set()
    if choice.action == "gpc" and not gpc:
        problems.append(_problem(["action"], "'gpc' needs a Global Privacy Control signal"))
    states: dict[str, bool] = {}
    for category in _REFUSABLE:
        given = choice.categories.get(category, False)
        if choice.action == "accept" and not given and category not in refused_by_gpc:
            problems.append(_problem(["categories", category], "'accept' grants every category"))
        if choice.action in ("reject", "withdraw") and given:
            problems.append(_problem(["categories", category], f"'{choice.action}' grants none"))
        if choice.action == "gpc" and given and category in refused_by_gpc:
            problems.append(_problem(["categories", category], "refused by the GPC signal"))
        states[category] = given and category not in refused_by_gpc
    vendors: dict[str, bool] = {}
    for vendor in banner.vendors:
        wanted = choice.vendors.get(vendor.id)
        on = True if vendor.category == "necessary" else states[vendor.category]
        if (
            wanted is True
            and vendor.category != "necessary"
            and not choice.categories.get(vendor.category, False)
        ):
            problems.append(_problem(["vendors", vendor.id], "granted in a refused category"))
        vendors[vendor.id] = on and wanted is not False
    page_url, page_origin = page_url_without_query(choice.page_url)
    if page_origin is not None and page_origin not in context.allowed_origins:
        problems.append(_problem(["page_url"], "not a page of the site"))
    if problems:
        raise InvalidChoice("The choice is not valid.", details=problems)
    moment = now or utcnow()
    return {
        # Unique, not secret (receipts are fetched by visitor or subject, never by record id):
        # the process's seeded PRNG avoids a system call per record.
        "record_id": f"{random.getrandbits(128):032x}",
        "visitor_id": choice.visitor_id,
        "subject_id": None,
        "created_at": moment,
        "action": choice.action,
        "analytics": states["analytics"],
        "advertising": states["advertising"],
        "widgets": states["widgets"],
        "vendors": orjson.dumps(vendors, option=orjson.OPT_SORT_KEYS).decode(),
        "gpc": gpc,
        "banner_version": banner.banner_version,
        "text_hash": choice.text_hash,
        "language": choice.language,
        "policy_version": banner.policy_version,
        "page_url": page_url,
        "ip_truncated": truncate_ip(context.ip),
        "user_agent": (context.user_agent or "")[:512] or None,
        "expires_at": moment + timedelta(days=banner.lifetime_days),
        "source": context.source,
    }


def record_to_dict(row: ConsentRecord | Mapping[str, Any], previous: str | None) -> dict[str, Any]:
    """A stored record as the API and receipts show it."""

    def get(key: str) -> Any:
        return row[key] if isinstance(row, Mapping) else getattr(row, key)

    categories = {"necessary": True} | {c: bool(get(c)) for c in _REFUSABLE}
    return {
        "record_id": get("record_id"),
        "visitor_id": get("visitor_id"),
        "subject_id": get("subject_id"),
        "created_at": _iso(get("created_at")),
        "action": get("action"),
        "categories": categories,
        "vendors": json.loads(get("vendors")),
        "gpc": bool(get("gpc")),
        "banner_version": get("banner_version"),
        "text_hash": get("text_hash"),
        "language": get("language"),
        "policy_version": get("policy_version"),
        "page_url": get("page_url"),
        "ip_truncated": get("ip_truncated"),
        "user_agent": get("user_agent"),
        "expires_at": _iso(get("expires_at")),
        "previous_record_id": previous,
        "source": get("source"),
    }


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def history(
    session: Session,
    *,
    visitor_id: str | None = None,
    subject_id: str | None = None,
    visitor_ids: list[str] | None = None,
) -> list[dict[str, Any]]:
    """Every record of a visitor or a data subject, oldest first, each linked to its previous.

    Args:
        visitor_id: a visitor's pseudonymous id.
        subject_id: a data subject's public id (records that name it).
        visitor_ids: further visitors to include (those the registry links to the subject).

    Raises:
        InvalidInput: neither ``visitor_id`` nor ``subject_id`` given.
    """
    if not visitor_id and not subject_id:
        raise InvalidInput("Name a visitor or a data subject.")
    visitors = [v for v in [visitor_id, *(visitor_ids or [])] if v]
    conditions: list[sa.ColumnElement[bool]] = []
    if visitors:
        conditions.append(ConsentRecord.visitor_id.in_(visitors))
    if subject_id:
        conditions.append(ConsentRecord.subject_id == subject_id)
    query = sa.select(ConsentRecord).where(sa.or_(*conditions)).order_by(ConsentRecord.id)
    rows = list(session.scalars(query).all())
    by_id = {r.id: r.record_id for r in rows}
    missing = {r.previous_id for r in rows if r.previous_id and r.previous_id not in by_id}
    if missing:
        found = session.execute(
            sa.select(ConsentRecord.id, ConsentRecord.record_id).where(
                ConsentRecord.id.in_(missing)
            )
        ).all()
        by_id.update({int(i): str(r) for i, r in found})
    return [record_to_dict(r, by_id.get(r.previous_id) if r.previous_id else None) for r in rows]


def current_state(
    session: Session, visitor_id: str, banner: Banner, *, now: datetime | None = None
) -> dict[str, Any]:
    """The visitor's last record and whether the banner must ask again (and why)."""
    row = session.scalars(
        sa.select(ConsentRecord)
        .where(ConsentRecord.visitor_id == visitor_id)
        .order_by(ConsentRecord.id.desc())
        .limit(1)
    ).first()
    moment = now or utcnow()
    if row is None:
        return {"visitor_id": visitor_id, "consent": None, "ask": True, "reason": "no choice yet"}
    previous = None
    if row.previous_id is not None:
        previous = session.scalar(
            sa.select(ConsentRecord.record_id).where(ConsentRecord.id == row.previous_id)
        )
    ask, reason = False, "the choice is in force"
    if row.policy_version != banner.policy_version:
        ask, reason = True, "the privacy policy changed since the choice"
    elif row.expires_at <= moment:
        ask, reason = True, "the choice is older than the consent lifetime"
    elif row.action == "gpc" and row.previous_id is None:
        ask, reason = True, "only a GPC signal was recorded; the banner was not answered"
    return {
        "visitor_id": visitor_id,
        "consent": record_to_dict(row, previous),
        "ask": ask,
        "reason": reason,
    }
