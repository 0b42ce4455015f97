"""Global Privacy Control (W3C GPC, Working Draft): the ``Sec-GPC`` header, the
``navigator.globalPrivacyControl`` flag, and the ``/.well-known/gpc.json`` support resource.

A GPC signal is a refusal: of the categories named in ``Settings.gpc_refuses`` (default
advertising, i.e. "sale or sharing" in the CCPA/CPRA sense, Cal. Civ. Code §1798.135(e) and CCPA
Regulations §7025). It never grants anything.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

__all__ = ["GPC_HEADER", "gpc_signal", "well_known_document"]

GPC_HEADER = "sec-gpc"

#: The day this service started honouring GPC; the earliest "lastUpdate" it can publish.
GPC_SUPPORT_SINCE = dt.date(2026, 11, 29)


def gpc_signal(headers: Mapping[str, str]) -> bool:
    """Whether a request carries a GPC signal: ``Sec-GPC: 1`` (W3C GPC §3.1: exactly "1";
    any other value means no signal)."""
    value = headers.get(GPC_HEADER) or headers.get("Sec-GPC")
    return value is not None and value.strip() == "1"


def well_known_document(last_update: dt.date | None) -> dict[str, Any]:
    """The GPC support resource (W3C GPC §3.5): ``{"gpc": true, "lastUpdate": "YYYY-MM-DD"}``.

    Args:
        last_update: when the site's GPC handling last changed (the policy version's effective
            date); never earlier than :data:`GPC_SUPPORT_SINCE`.
    """
    day = max(last_update or GPC_SUPPORT_SINCE, GPC_SUPPORT_SINCE)
    return {"gpc": True, "lastUpdate": day.isoformat()}
