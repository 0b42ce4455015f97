"""Validation at the edge, the same on every route: row ids in paths and bodies.

:data:`RowId` (alias :data:`PathId`): an integer id is checked against the store's type (a
64-bit signed integer, positive). Anything outside answers 404 like any other id that names no
row, before the database is asked (an id past 2**63 - 1 once reached the driver: a 500).
Free text and free-form JSON are checked by :mod:`privacyops.freetext` (shared with intake).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator

from privacyops.errors import NotFound

__all__ = ["MAX_ROW_ID", "PathId", "RowId", "in_id_range"]

#: The largest id a row can have (the store's ids are signed 64-bit integers).
MAX_ROW_ID = 2**63 - 1


def in_id_range(value: int) -> int:
    """``value`` if a row could have it as id; otherwise :class:`NotFound` (404).

    Raised from a validator, :class:`NotFound` is not a ``ValueError``: pydantic lets it pass
    and the app's error handler answers it with the usual shape.
    """
    if not 1 <= value <= MAX_ROW_ID:
        raise NotFound("Not found.")
    return value


#: An integer row id from a URL path or a body (``task_id: RowId``).
RowId = Annotated[int, AfterValidator(in_id_range)]
PathId = RowId
