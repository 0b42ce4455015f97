"""``export``: the copy of the person's data, and how they receive it (GDPR Art. 15(3), 20(1)).

An access export waits until every connected system has answered
(:func:`~privacyops.rights.systems.gather` raises ``Pending`` until then): the person gets one
complete answer, never a partial one. Once made, the systems' records kept for it are dropped
(the export holds them). The link and (separately, by phone when there is one) the password
are sent; the file is reached once through :mod:`privacyops.rights.downloads`.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from privacyops.connectors import ConnectorResult, drop_task_records
from privacyops.rights.answer import answer_for
from privacyops.rights.downloads import export_link, save_export
from privacyops.rights.exports import (
    ExportBundle,
    describe_record,
    encrypted_pdf,
    new_password,
    portable,
    zip_bundle,
)
from privacyops.rights.messages import people_context, render_message
from privacyops.rights.models import ConnectorAnswer
from privacyops.rights.outcome import SystemStatus
from privacyops.rights.steps.base import Step
from privacyops.rights.systems import gather
from privacyops.rights.workflow import RequestType
from privacyops.store import utcnow

__all__ = ["build_bundle", "export"]


def build_bundle(step: Step, connectors: list[ConnectorResult] | None = None) -> ExportBundle:
    """Everything an access or portability export holds; for access, ``connectors`` (default:
    :func:`~privacyops.rights.systems.gather`, which raises ``Pending`` while a system has not
    answered)."""
    service, row = step.service, step.row
    records = service.registry.records_for(step.session, row.subject_ref) if row.subject_ref else []
    kind = RequestType(row.type)
    if kind is RequestType.PORTABILITY:
        records = portable(records)
    if kind not in (RequestType.ACCESS, RequestType.PORTABILITY):
        connectors = []
    elif connectors is None:
        connectors = gather(step)
    return ExportBundle(
        controller=service.policy.current.organization,
        request_ref=row.public_id,
        kind=kind.value,
        generated_at=utcnow(),
        parts=[describe_record(service.policy, r) for r in records],
        connectors=connectors,
        answer=(
            answer_for(service, step.session, row, records, connectors, step.ctx.details)
            if kind is RequestType.ACCESS
            else None
        ),
    )


def export(step: Step) -> dict[str, Any]:
    """Render the export, store it, and send the link and (separately) the password."""
    service, row = step.service, step.row
    bundle = build_bundle(step)
    if bundle.connectors:
        for answer in step.session.scalars(
            sa.select(ConnectorAnswer).where(ConnectorAnswer.request_id == row.id)
        ):
            answer.records_sealed = None
        drop_task_records(step.session, row.public_id)
        outcome = step.outcome.without("waiting_for", "retries")
        outcome.other_systems = [
            SystemStatus(system=c.connector, status=c.status, records=c.total)
            for c in bundle.connectors
        ]
        outcome.store(row)
    pdf = RequestType(row.type) is RequestType.ACCESS and service.settings.export_pdf
    password = new_password() if pdf else None
    if password is not None:
        content, name, media = (
            encrypted_pdf(bundle, password),
            "personal-data.pdf",
            "application/pdf",
        )
    else:
        content, name, media = zip_bundle(bundle), "personal-data.zip", "application/zip"
    token, expires = save_export(service, step.session, row, content, name, media)
    words = {
        **people_context(service.policy.current, service.settings),
        "request_ref": row.public_id,
        "access": RequestType(row.type) is RequestType.ACCESS,
        "expires": f"{expires:%Y-%m-%d %H:%M} UTC",
        "link": export_link(service, token),
        "password": password,
    }
    step.say("answer", *render_message("export_ready", words))
    if password is not None:
        channel = "phone" if step.ctx.details.get("phone") else "email"
        step.say("password", *render_message("export_password", words), channel=channel)
    return {
        "parts": len(bundle.parts),
        "systems": len(bundle.connectors),
        "system_records": sum(c.total for c in bundle.connectors),
        "format": media,
        "bytes": len(content),
    }
