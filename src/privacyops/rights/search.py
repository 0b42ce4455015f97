"""Find requests by their reference, or by a person's e-mail address or phone number.

No plaintext search index exists: an e-mail address is turned into the blind index (keyed
HMAC) stored with each request (:meth:`RightsService.identity_index`) and into the registry's
identity index, a phone number into the registry's; requests are then matched by that index or
by the data subject they were resolved to (``subject_ref``). A phone number shared by several
people finds no one (as in :meth:`Registry.find_subject`).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from privacyops.errors import InvalidInput
from privacyops.identities import email_address
from privacyops.rights.models import RightsRequest
from privacyops.store.registry import Registry

if TYPE_CHECKING:
    from privacyops.rights.service import RightsService

__all__ = ["SEARCH_HINT", "search_condition"]

SEARCH_HINT = "Enter a request reference, an e-mail address or a phone number."
_REFERENCE = re.compile(r"^r[0-9a-f]{8,31}$")


def search_condition(service: RightsService, text: str) -> tuple[str, Any]:
    """What ``text`` is (``"reference"``, ``"email"`` or ``"phone"``) and the SQL condition on
    :class:`RightsRequest` that finds its requests.

    Raises:
        InvalidInput: ``text`` is none of the three (the message says what to enter).
    """
    text = text.strip()
    if _REFERENCE.match(text):
        return "reference", RightsRequest.public_id == text
    registry = Registry(service.db)
    try:
        if "@" in text:
            address = email_address(text).lower()
            subject = registry.find_subject("email", address)
            by_index = RightsRequest.identity_index == service.identity_index(address)
            if subject is None:
                return "email", by_index
            return "email", sa.or_(by_index, RightsRequest.subject_ref == subject.public_id)
        if sum(c.isdigit() for c in text) >= 6:
            subject = registry.find_subject("phone", text)
            if subject is None:
                return "phone", sa.false()
            return "phone", RightsRequest.subject_ref == subject.public_id
    except InvalidInput:
        pass
    raise InvalidInput(
        SEARCH_HINT, details=[{"loc": ["q"], "msg": "not a reference, e-mail or phone"}]
    )
