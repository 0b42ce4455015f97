"""Download links of exports (GDPR Art. 15(3), 20(1)): stored once, opened once.

An export is written to the data folder readable only by the service, and reached through a
one-time token whose keyed hash alone is stored; the link works once, until it expires
(``export_link_ttl_seconds``), and the file goes with the download. Looking at a link
(:func:`export_waiting`, the page a GET shows) consumes nothing, so a mail scanner's prefetch
or a second click leaves it working; only :func:`open_export` (the page's POST) spends it.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Session

from privacyops.errors import NotFound, VerificationFailed
from privacyops.rights.identity import new_token
from privacyops.rights.models import Export, RightsRequest
from privacyops.rights.verification import BAD_CODE
from privacyops.store import utcnow

if TYPE_CHECKING:
    from privacyops.rights.service import RightsService

__all__ = ["export_link", "export_waiting", "open_export", "save_export"]


def save_export(
    service: RightsService,
    session: Session,
    row: RightsRequest,
    content: bytes,
    name: str,
    media_type: str,
) -> tuple[str, datetime]:
    """Write the export of ``row`` and its one-time download token (in ``session``);
    returns the token and when it expires."""
    folder = service.settings.data_dir / "exports"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{row.public_id}-{name}"
    tmp = path.with_suffix(".part")
    tmp.write_bytes(content)
    os.chmod(tmp, 0o600)
    tmp.replace(path)
    token = new_token()
    expires = utcnow() + timedelta(seconds=service.settings.export_link_ttl_seconds)
    session.add(
        Export(
            request_id=row.id,
            token_hash=service.keyed_hash("download", token),
            filename=name,
            path=str(path),
            media_type=media_type,
            expires_at=expires,
        )
    )
    return token, expires


def export_link(service: RightsService, token: str) -> str:
    """The address a download token opens."""
    return f"{service.settings.base_url.rstrip('/')}/api/v1/rights/exports/{token}"


def export_waiting(
    service: RightsService, token: str, *, client: str = "local", now: datetime | None = None
) -> str | None:
    """The file name a download token would open, without spending it; None for an unknown,
    used or expired token (one answer for all, counted as a failure of ``client``).

    Raises:
        RateLimited: too many failures from this client.
    """
    now = now or utcnow()
    with service.db.read_session() as session:
        found = None
        if isinstance(token, str) and 10 <= len(token) <= 100:
            found = session.scalar(
                sa.select(Export).where(Export.token_hash == service.keyed_hash("download", token))
            )
        if found is not None and found.downloaded_at is None and found.expires_at > now:
            return str(found.filename)
    service.count_failure(client, now)
    return None


def open_export(
    service: RightsService, token: str, *, client: str = "local", now: datetime | None = None
) -> tuple[str, str, bytes]:
    """The export a download token opens, once: ``(filename, media type, content)``.

    Raises:
        VerificationFailed: unknown, used or expired token (one message for all).
        RateLimited: too many failures from this client.
    """
    now = now or utcnow()
    with service.write_session() as session:
        found = None
        if isinstance(token, str) and 10 <= len(token) <= 100:
            found = session.scalar(
                sa.select(Export)
                .where(Export.token_hash == service.keyed_hash("download", token))
                .with_for_update()
            )
        if found is not None and found.downloaded_at is None and found.expires_at > now:
            found.downloaded_at = now
            row = session.get(RightsRequest, found.request_id)
            if row is None:
                raise NotFound("No such request.")
            service.record(session, "rights.export.downloaded", row, actor="subject")
            path = Path(found.path)
            content = path.read_bytes()
            path.unlink(missing_ok=True)  # one download: the file goes with the token
            return found.filename, found.media_type, content
    service.count_failure(client, now)
    raise VerificationFailed(BAD_CODE)
