"""Every message to a person about their request, from the templates in
``rights/templates/messages/`` (plain text, gettext-ready): changing the wording touches no
Python.

Each template has a ``subject`` and a ``body`` block. The first message of every request (the
code) and every later one that leaves the person's data in use include the right to object,
told apart from the rest (``_object.txt.j2``; GDPR Art. 21(4): "at the latest at the time of
the first communication"); a refusal, an overridden objection, an erasure that keeps
data and a restriction to be lifted carry the complaint and judicial remedy routes
(``_remedies.txt.j2``; GDPR Art. 12(4), 77-79).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from privacyops.policy.schema import Manifest
from privacyops.rights.authorities import answer_complaint
from privacyops.rights.texts import TEXT_ENV
from privacyops.settings import Settings
from privacyops.templating import render_message as render_blocks

__all__ = ["answer_message", "further_actions", "people_context", "render_message"]


def render_message(name: str, context: Mapping[str, Any]) -> tuple[str, str]:
    """The subject and body of ``messages/<name>.txt.j2`` rendered with ``context``."""
    return render_blocks(TEXT_ENV, f"messages/{name}.txt.j2", context)


def people_context(
    manifest: Manifest, settings: Settings, country: str | None = None
) -> dict[str, Any]:
    """What every message needs: the controller, where to use a right, where to complain."""
    base = settings.base_url.rstrip("/")
    return {
        "organization": manifest.organization,
        "requests_url": f"{base}/privacy/requests/new",
        "complaints_url": f"{base}/privacy/complaints",
        "request_email": manifest.rights.request_email
        or (manifest.dpo.email if manifest.dpo else ""),
        "authority": answer_complaint(country, manifest.contact_point.country).authority,
    }


def further_actions(manifest: Manifest, settings: Settings) -> str:
    """The remedies of a refused request as plain text (the status page and API)."""
    template = TEXT_ENV.get_template("messages/further_actions.txt.j2")
    return " ".join(template.render(people_context(manifest, settings)).split())


def _names(manifest: Manifest, ids: list[str]) -> list[str]:
    out = []
    for value in ids:
        try:
            out.append(manifest.category(value).name)
        except KeyError:
            out.append(value.replace("_", " "))
    return out


_OUTCOME_KEYS = (
    "other_systems",
    "recipients_notified",
    "not_notified",
    "erased",
    "kept",
    "corrected",
    "not_held",
    "restricted",
    "decision",
    "reason",
    "withdrawn",
)


def answer_message(
    manifest: Manifest,
    settings: Settings,
    kind: str,
    request_ref: str,
    outcome: Mapping[str, Any],
    details: Mapping[str, Any],
) -> tuple[str, str]:
    """The answer to an erasure, rectification, restriction, objection, consent withdrawal or
    complaint request, from its outcome."""
    result = dict(outcome)
    for key in _OUTCOME_KEYS:  # what a type does not record, its template sees as empty
        result.setdefault(key, None)
    if kind == "erasure":
        channels = {c.id: c.name for c in manifest.channels}
        result["kept"] = [
            {**k, "channel_name": channels.get(k.get("channel", ""), k.get("channel", ""))}
            for k in result.get("kept") or []
        ]
    if kind == "rectification":
        result["corrected_names"] = _names(manifest, list(result.get("corrected") or []))
        result["not_held_names"] = _names(manifest, list(result.get("not_held") or []))
    context = {
        **people_context(manifest, settings, details.get("country")),
        "request_ref": request_ref,
        "outcome": result,
        "objection": details.get("objection", "direct_marketing"),
    }
    return render_message(f"answer_{kind}", context)
