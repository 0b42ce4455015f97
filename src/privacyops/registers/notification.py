"""The draft notification to the supervisory authority (GDPR Art. 33(3), 33(4)).

Every item of Art. 33(3) is a key of the draft; what is not known yet is listed under
``to_follow`` (Art. 33(4): the information may be provided in phases). The lead authority is
handed in by the caller (``rights.authorities.authority_for(manifest.contact_point.country)``),
so this package stays below ``rights``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from privacyops.policy.schema import Manifest
from privacyops.registers.affected import Affected
from privacyops.registers.breaches import BreachView
from privacyops.store.base import utcnow

__all__ = ["authority_notification"]


def _contact(manifest: Manifest) -> dict[str, Any]:
    if manifest.dpo is not None:
        return {
            "role": "data protection officer",
            "name": manifest.dpo.name,
            "email": manifest.dpo.email,
        }
    entity = manifest.contact_point
    return {"role": "contact point", "name": entity.legal_name, "email": entity.contact.email}


def authority_notification(
    breach: BreachView,
    affected: Affected,
    manifest: Manifest,
    authority: Mapping[str, Any],
) -> dict[str, Any]:
    """The notification as JSON-ready data, each Art. 33(3) item under its own key."""
    entity = manifest.contact_point
    categories = {c.id: c.name for c in manifest.data_categories}
    channels = {c.id: c.name for c in manifest.channels}
    data = breach.as_dict()
    to_follow = [
        item
        for item, value in (
            ("likely_consequences", breach.consequences),
            ("measures", breach.measures),
            ("risk_assessment", breach.risk),
        )
        if not value
    ]
    return {
        "kind": "personal data breach notification (GDPR Art. 33)",
        "generated_at": utcnow().astimezone(breach.zone).isoformat(),
        "breach_ref": breach.ref,
        "authority": dict(authority),
        "controller": {
            "organization": manifest.organization,
            "legal_name": entity.legal_name,
            "country": entity.country,
            "address": entity.address,
        },
        "timing": {
            "occurred_at": data["occurred_at"],
            "aware_at": data["aware_at"],
            "deadline": data["deadline"],
            "window": {"start": data["window_start"], "end": data["window_end"]},
            "late": breach.late,
            "late_reasons": breach.late_reasons,
        },
        # Art. 33(3)(a)
        "nature": {
            "title": breach.title,
            "description": breach.description,
            "systems": breach.systems,
            "channels": [channels.get(c, c) for c in breach.channels],
            "data_categories": [categories.get(c, c) for c in breach.data_categories],
            "approximate_people": affected.people,
            "approximate_records": affected.records,
            "records_by_category": {
                categories.get(c, c): n for c, n in affected.by_category.items()
            },
        },
        # Art. 33(3)(b)
        "contact": _contact(manifest),
        # Art. 33(3)(c)
        "likely_consequences": breach.consequences,
        # Art. 33(3)(d)
        "measures": breach.measures,
        "risk_assessment": breach.risk,
        "decision_reasons": breach.decision_reasons,
        "people_informed": bool(breach.risk and breach.risk["decision"] == "people"),
        # Art. 33(4)
        "phases": breach.phases,
        "to_follow": to_follow,
    }
