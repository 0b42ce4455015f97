"""OpenDSR (formerly OpenGDPR): controllers send us access, portability and erasure requests.

We act as the controller's processor: a request names the data subject by identities the
controller has verified (``email`` or ``controller_customer_id``, raw or SHA-256), waits as
``pending`` (the controller may cancel it), then ``process_pending`` runs every connector on it
(``in_progress``) and marks it ``completed`` only when every connector answered done. Each change
of status is POSTed to the request's ``status_callback_urls``.

Signatures, as the specification has them: every response and callback body is signed with the
processor's RSA key (PKCS#1 v1.5, SHA-256), base64, in ``X-OpenDSR-Signature``, with the domain
of ``base_url`` in ``X-OpenDSR-Processor-Domain``; the X.509 certificate that verifies them is
published at ``/opendsr/v2/certificate`` and named in discovery (``processor_certificate``).
The key and a self-signed certificate are created in ``data_dir`` on first use
(:mod:`privacyops.processor.keys`). A controller set up with a shared secret instead
gets HMAC-SHA256 under ``PRIVACYOPS_OPENDSR_SECRET`` when that is set.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx
import sqlalchemy as sa
from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy.orm import Session

from privacyops.audit import AuditLog
from privacyops.connectors.base import Action, Connector, ConnectorResult, TaskSystem
from privacyops.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    PrivacyOpsError,
)
from privacyops.processor.keys import ProcessorIdentity, load_processor_identity
from privacyops.processor.models import OpenDsrRequest
from privacyops.settings import Settings
from privacyops.store import Database, new_key, open_sealed, seal, utcnow

__all__ = [
    "API_VERSION",
    "IDENTITY_TYPES",
    "OpenDsrSubmission",
    "cancel_request",
    "discovery",
    "process_pending",
    "request_results",
    "request_status",
    "sign",
    "submit_request",
]

API_VERSION = "2.0"
IDENTITY_TYPES = {"email": "email", "controller_customer_id": "customer_id"}
FORMATS = ("raw", "sha256")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
#: GDPR Art. 12(3): one month; the processor's promise to the controller.
_COMPLETION = timedelta(days=30)


class Identity(BaseModel):
    model_config = ConfigDict(extra="forbid")

    identity_type: Literal["email", "controller_customer_id"]
    identity_value: str = Field(min_length=1, max_length=320)
    identity_format: Literal["raw", "sha256"] = "raw"

    @field_validator("identity_value")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.strip()


class OpenDsrSubmission(BaseModel):
    """The body of ``POST /requests`` (OpenDSR §7.1)."""

    model_config = ConfigDict(extra="ignore")

    subject_request_id: uuid.UUID
    subject_request_type: Literal["access", "portability", "erasure"]
    submitted_time: datetime
    subject_identities: list[Identity] = Field(min_length=1, max_length=20)
    regulation: Literal["gdpr"] = "gdpr"
    api_version: str | None = None
    status_callback_urls: list[AnyHttpUrl] = Field(default_factory=list, max_length=5)
    extensions: dict[str, Any] | None = None


CERTIFICATE_PATH = "/opendsr/v2/certificate"


def processor_identity(settings: Settings) -> ProcessorIdentity:
    """The RSA key and X.509 certificate that sign our answers (created on first use)."""
    return load_processor_identity(settings.data_dir, processor_domain(settings))


def sign(settings: Settings, body: bytes) -> str:
    """The ``X-OpenDSR-Signature`` of ``body``: RSA-SHA256 under the processor's key, or
    HMAC-SHA256 under ``PRIVACYOPS_OPENDSR_SECRET`` when that is set; base64."""
    if settings.opendsr_secret is not None:
        secret = settings.opendsr_secret.get_secret_value().encode("utf-8")
        return base64.b64encode(hmac.new(secret, body, hashlib.sha256).digest()).decode()
    return processor_identity(settings).sign(body)


def processor_domain(settings: Settings) -> str:
    return urlsplit(settings.base_url).hostname or "localhost"


def discovery(settings: Settings, connectors: Sequence[Connector]) -> dict[str, Any]:
    """What we support (OpenDSR §6)."""
    return {
        "api_version": API_VERSION,
        "supported_identities": [
            {"identity_type": t, "identity_format": f} for t in IDENTITY_TYPES for f in FORMATS
        ],
        "supported_subject_request_types": ["access", "portability", "erasure"],
        "processor_certificate": (
            None
            if settings.opendsr_secret is not None
            else settings.base_url.rstrip("/") + CERTIFICATE_PATH
        ),
        "signature": "hmac-sha256" if settings.opendsr_secret is not None else "rsa-sha256",
        "connected_systems": sorted({c.name for c in connectors}),
    }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def _identities(sub: OpenDsrSubmission) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for ident in sub.subject_identities:
        kind = IDENTITY_TYPES[ident.identity_type]
        value = ident.identity_value
        if ident.identity_format == "sha256":
            value = value.lower()
            if not _SHA256.match(value):
                raise InvalidInput(
                    "A sha256 identity must be 64 hexadecimal characters.",
                    details=[{"loc": ["subject_identities"], "msg": "not a sha256 digest"}],
                )
            kind += "_sha256"
        elif ident.identity_type == "email":
            value = value.lower()
            if "@" not in value:
                raise InvalidInput(
                    "An e-mail identity needs an @.",
                    details=[{"loc": ["subject_identities"], "msg": "not an e-mail address"}],
                )
        out.setdefault(kind, []).append(value)
    return out


def _aad(row: OpenDsrRequest, what: str) -> bytes:
    return f"opendsr:{row.subject_request_id}:{what}".encode()


def _status_body(row: OpenDsrRequest, settings: Settings) -> dict[str, Any]:
    body: dict[str, Any] = {
        "controller_id": row.controller_id,
        "expected_completion_time": _iso(row.expected_completion_at),
        "subject_request_id": row.subject_request_id,
        "request_status": row.status,
        "api_version": API_VERSION,
    }
    if row.status == "completed" and row.request_type in ("access", "portability"):
        body["results_url"] = (
            settings.base_url.rstrip("/") + f"/opendsr/v2/requests/{row.subject_request_id}/results"
        )
    if row.results_count is not None:
        body["results_count"] = row.results_count
    return body


def submit_request(
    db: Database, settings: Settings, payload: Any, *, controller_id: str
) -> dict[str, Any]:
    """Register a request (OpenDSR §7); returns the 201 body.

    Raises:
        InvalidInput: the body is not a valid OpenDSR request (no personal data in details).
        Conflict: this ``subject_request_id`` was already received.
    """
    try:
        sub = OpenDsrSubmission.model_validate(payload)
    except ValidationError as exc:
        raise InvalidInput(
            "This is not a valid OpenDSR request.",
            details=[
                {"loc": list(e["loc"]), "msg": e["msg"]}
                for e in exc.errors(include_url=False, include_input=False)
            ],
        ) from None
    ids = _identities(sub)
    sid = str(sub.subject_request_id)
    now = utcnow()
    key = new_key()
    with db.session() as session:
        if session.scalar(
            sa.select(OpenDsrRequest.id).where(OpenDsrRequest.subject_request_id == sid)
        ):
            raise Conflict("This subject_request_id was already received.")
        row = OpenDsrRequest(
            subject_request_id=sid,
            controller_id=controller_id,
            request_type=sub.subject_request_type,
            status="pending",
            callback_urls=[str(u) for u in sub.status_callback_urls],
            wrapped_key=db.keyring.wrap(f"opendsr:{sid}", key),
            submitted_time=sub.submitted_time,
            received_at=now,
            expected_completion_at=now + _COMPLETION,
        )
        row.identities_sealed = seal(key, json.dumps(ids).encode(), _aad(row, "identities"))
        session.add(row)
        session.flush()
        AuditLog(db).append(
            "opendsr.received",
            actor=f"controller:{controller_id}",
            details={"request": sid, "type": sub.subject_request_type},
            session=session,
        )
        encoded = base64.b64encode(json.dumps(payload, default=str).encode()).decode()
        return {
            "controller_id": controller_id,
            "expected_completion_time": _iso(row.expected_completion_at),
            "received_time": _iso(now),
            "encoded_request": encoded,
            "subject_request_id": sid,
            "api_version": API_VERSION,
        }


def _load(session: Session, sid: str, controller_id: str) -> OpenDsrRequest:
    row = session.scalar(
        sa.select(OpenDsrRequest).where(
            OpenDsrRequest.subject_request_id == sid.lower(),
            OpenDsrRequest.controller_id == controller_id,
        )
    )
    if row is None:
        raise NotFound("No OpenDSR request has that id.")
    return row


def request_status(
    db: Database, settings: Settings, sid: str, *, controller_id: str
) -> dict[str, Any]:
    """The status body of one request (OpenDSR §8.3)."""
    with db.session() as session:
        return _status_body(_load(session, sid, controller_id), settings)


def cancel_request(
    db: Database,
    settings: Settings,
    sid: str,
    *,
    controller_id: str,
    transport: httpx.BaseTransport | None = None,
) -> dict[str, Any]:
    """Cancel a pending request (OpenDSR §9); its identities are dropped at once.

    Raises:
        Conflict: the request is no longer pending.
    """
    with db.session() as session:
        row = _load(session, sid, controller_id)
        if row.status != "pending":
            raise Conflict(f"Only a pending request can be cancelled; this one is {row.status}.")
        row.status = "cancelled"
        row.identities_sealed = None
        AuditLog(db).append(
            "opendsr.cancelled",
            actor=f"controller:{controller_id}",
            details={"request": row.subject_request_id},
            session=session,
        )
        body = {**_status_body(row, settings), "_callback_urls": row.callback_urls}
    _callbacks(settings, body, transport)
    return {
        "controller_id": controller_id,
        "subject_request_id": body["subject_request_id"],
        "received_time": _iso(utcnow()),
        "api_version": API_VERSION,
    }


def request_results(db: Database, sid: str, *, controller_id: str) -> dict[str, Any]:
    """What the connectors returned for a completed access or portability request."""
    with db.session() as session:
        row = _load(session, sid, controller_id)
        if row.status != "completed" or row.results_sealed is None:
            raise NotFound("This request has no results.")
        key = db.keyring.unwrap(f"opendsr:{row.subject_request_id}", row.wrapped_key)
        data: dict[str, Any] = json.loads(
            open_sealed(key, row.results_sealed, _aad(row, "results"))
        )
        return data


def _callbacks(
    settings: Settings, status: dict[str, Any], transport: httpx.BaseTransport | None
) -> int:
    """POST the status to each callback URL (at least once, one retry); returns how many
    were accepted."""
    urls = status.pop("_callback_urls", None) or []
    accepted = 0
    for url in urls:
        body = json.dumps({**status, "status_callback_url": url}, sort_keys=True).encode()
        headers = {
            "Content-Type": "application/json",
            "X-OpenDSR-Processor-Domain": processor_domain(settings),
            "X-OpenDSR-Signature": sign(settings, body),
        }
        for _ in range(2):
            try:
                with httpx.Client(
                    timeout=settings.connector_timeout_seconds, transport=transport
                ) as client:
                    if client.post(url, content=body, headers=headers).status_code < 300:
                        accepted += 1
                        break
            except httpx.TransportError:
                continue
    return accepted


def _run_connectors(
    connectors: Sequence[Connector],
    kind: str,
    ids: dict[str, list[str]],
    sid: str,
    session: Session,
) -> list[ConnectorResult]:
    results = []
    action: Action = "erasure" if kind == "erasure" else "access"
    for connector in connectors:
        try:
            if isinstance(connector, TaskSystem):  # a task, recorded in this transaction
                results.append(connector.act(action, ids, request_ref=sid, session=session))
            elif action == "erasure":
                results.append(connector.erase(ids))
            else:
                results.append(connector.access(ids))
        except PrivacyOpsError as exc:
            results.append(
                ConnectorResult(
                    connector=connector.name,
                    kind=connector.kind,
                    action="erasure" if kind == "erasure" else "access",
                    status="failed",
                    note=exc.message,
                )
            )
    return results


def process_pending(
    db: Database,
    settings: Settings,
    connectors: Sequence[Connector],
    *,
    limit: int = 20,
    transport: httpx.BaseTransport | None = None,
) -> int:
    """Run the connectors on pending and unfinished requests; returns how many completed.

    A request whose connectors did not all answer ``done`` stays ``in_progress`` with a note
    naming the systems still waiting, and is tried again on the next call.
    """
    with db.session() as session:
        ids_to_run = list(
            session.scalars(
                sa.select(OpenDsrRequest.id)
                .where(OpenDsrRequest.status.in_(["pending", "in_progress"]))
                .order_by(OpenDsrRequest.id)
                .limit(limit)
            )
        )
    completed = 0
    for rid in ids_to_run:
        with db.session() as session:
            row = session.get(OpenDsrRequest, rid)
            if row is None or row.status not in ("pending", "in_progress"):
                continue
            if row.status == "pending":
                row.status = "in_progress"
                AuditLog(db).append(
                    "opendsr.in_progress",
                    actor="connectors:opendsr",
                    details={"request": row.subject_request_id},
                    session=session,
                )
                body = {**_status_body(row, settings), "_callback_urls": row.callback_urls}
                session.commit()
                _callbacks(settings, body, transport)
            key = db.keyring.unwrap(f"opendsr:{row.subject_request_id}", row.wrapped_key)
            sealed = row.identities_sealed
            if sealed is None:
                continue
            ids = json.loads(open_sealed(key, sealed, _aad(row, "identities")))
            results = _run_connectors(
                connectors, row.request_type, ids, row.subject_request_id, session
            )
            waiting = [r.connector for r in results if r.status != "done"]
            if waiting:
                row.note = ("waiting for: " + ", ".join(waiting))[:500]
                continue
            row.status = "completed"
            row.completed_at = utcnow()
            row.note = None
            row.identities_sealed = None
            row.results_count = sum(r.total for r in results)
            if row.request_type in ("access", "portability"):
                payload = {
                    "subject_request_id": row.subject_request_id,
                    "systems": [r.to_dict() for r in results],
                }
                row.results_sealed = seal(key, json.dumps(payload).encode(), _aad(row, "results"))
            AuditLog(db).append(
                "opendsr.completed",
                actor="connectors:opendsr",
                details={"request": row.subject_request_id, "records": row.results_count},
                session=session,
            )
            body = {**_status_body(row, settings), "_callback_urls": row.callback_urls}
        _callbacks(settings, body, transport)
        completed += 1
    return completed
