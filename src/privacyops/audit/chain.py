"""What appending and verifying the audit log share: the chain's first link, the separators
of a hashed body, and the events table (see :mod:`privacyops.audit.log`)."""

from __future__ import annotations

from typing import cast

import sqlalchemy as sa

from privacyops.audit.models import AuditEvent

__all__ = ["FIELD_SEP", "GENESIS_HASH", "LINK_SEP", "RECORD_SEP", "events_table"]

GENESIS_HASH = "0" * 64
FIELD_SEP = "\x1f"
LINK_SEP = "\x1e"
RECORD_SEP = "\x1d"  # between events when verify() reads a range of them as one string
events_table = cast(sa.Table, AuditEvent.__table__)
