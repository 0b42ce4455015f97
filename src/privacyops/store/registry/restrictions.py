"""What limits the use of a subject's data: restrictions of processing (Art. 18), among them
what an erasure keeps under an Art. 17(3) exception, legal holds and the marketing suppression
list (Art. 21(3))."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from privacyops.errors import InvalidInput, NotFound
from privacyops.identities import normalise_identity
from privacyops.policy.restriction import RestrictionGround
from privacyops.store.base import utcnow
from privacyops.store.models import LegalHold, ProcessingRestriction
from privacyops.store.registry.core import (
    RegistryCore,
    holds_table,
    records_table,
    restrictions_table,
    suppressions_table,
)
from privacyops.store.registry.types import Subject

__all__ = ["RestrictionsPart"]


class RestrictionsPart(RegistryCore):
    """Restrictions, legal holds and suppressions (part of :class:`Registry`)."""

    def restrict(
        self,
        subject: Subject,
        ground: str,
        *,
        note: str | None = None,
        session: Session | None = None,
    ) -> int:
        """Restrict processing of a subject's data on a ground of Art. 18(1); returns its id.

        Raises:
            InvalidInput: unknown ground.
        """
        if RestrictionGround.parse(ground) is None:
            raise InvalidInput(
                f"Unknown restriction ground {ground!r}.",
                details=[{"loc": ["ground"], "msg": f"one of {RestrictionGround.choices()}"}],
            )
        with self._session(session) as s:
            return int(
                s.execute(
                    sa.insert(restrictions_table)
                    .values(subject_id=subject.id, ground=ground, note=note, created_at=utcnow())
                    .returning(restrictions_table.c.id)
                ).scalar_one()
            )

    def keep_records(
        self,
        subject: Subject,
        keeps: Mapping[int, tuple[datetime, str]],
        *,
        note: str | None = None,
        session: Session | None = None,
    ) -> int | None:
        """Keep the subject's records ``{record id: (keep-until, exception)}`` past an erasure
        (GDPR Art. 17(3)): each is marked with the moment its exception ends (retention erases
        it then) and the subject's processing is restricted (Art. 18(2): only stored) by one
        active ``erasure_exception`` restriction. Returns that restriction's id (``None``:
        nothing to keep). Ids of another subject's records are ignored.
        """
        if not keeps:
            return None
        ground = RestrictionGround.ERASURE_EXCEPTION
        with self._session(session) as s:
            for record_id, (until, exception) in keeps.items():
                s.execute(
                    sa.update(records_table)
                    .where(
                        records_table.c.id == record_id,
                        records_table.c.subject_id == subject.id,
                    )
                    .values(keep_until=until, kept_under=exception, updated_at=utcnow())
                )
            active = s.execute(
                sa.select(restrictions_table.c.id).where(
                    restrictions_table.c.subject_id == subject.id,
                    restrictions_table.c.ground == ground.value,
                    restrictions_table.c.lifted_at.is_(None),
                )
            ).scalar()
            if active is not None:
                return int(active)
            return self.restrict(subject, ground.value, note=note, session=s)

    def lift_restriction(self, restriction_id: int, *, session: Session | None = None) -> None:
        """Lift a restriction (the subject is told first, Art. 18(3)).

        Raises:
            NotFound: no such active restriction.
        """
        with self._session(session) as s:
            result = s.execute(
                sa.update(restrictions_table)
                .where(
                    restrictions_table.c.id == restriction_id,
                    restrictions_table.c.lifted_at.is_(None),
                )
                .values(lifted_at=utcnow())
            )
            if cast(sa.CursorResult[Any], result).rowcount == 0:
                raise NotFound("No such active restriction.")

    def restrictions(
        self, subject: Subject, *, session: Session | None = None
    ) -> list[ProcessingRestriction]:
        """The subject's active restrictions."""
        with self._session(session) as s:
            return list(
                s.scalars(
                    sa.select(ProcessingRestriction).where(
                        ProcessingRestriction.subject_id == subject.id,
                        ProcessingRestriction.lifted_at.is_(None),
                    )
                ).all()
            )

    def add_legal_hold(
        self,
        subject: Subject,
        reason: str,
        *,
        until: datetime | None = None,
        created_by: str | None = None,
        session: Session | None = None,
    ) -> int:
        """Keep a subject's data past retention until ``until`` (or until lifted)."""
        if not reason.strip():
            raise InvalidInput("A legal hold needs a reason.", details=[{"loc": ["reason"]}])
        with self._session(session) as s:
            return int(
                s.execute(
                    sa.insert(holds_table)
                    .values(
                        subject_id=subject.id,
                        reason=reason,
                        until=until,
                        created_by=created_by,
                        created_at=utcnow(),
                    )
                    .returning(holds_table.c.id)
                ).scalar_one()
            )

    def lift_legal_hold(self, hold_id: int, *, session: Session | None = None) -> None:
        """End a legal hold.

        Raises:
            NotFound: no such active hold.
        """
        with self._session(session) as s:
            result = s.execute(
                sa.update(holds_table)
                .where(holds_table.c.id == hold_id, holds_table.c.lifted_at.is_(None))
                .values(lifted_at=utcnow())
            )
            if cast(sa.CursorResult[Any], result).rowcount == 0:
                raise NotFound("No such active legal hold.")

    def legal_holds(
        self, subject: Subject, *, at: datetime | None = None, session: Session | None = None
    ) -> list[LegalHold]:
        """The subject's holds in force at ``at`` (default now)."""
        moment = at or utcnow()
        with self._session(session) as s:
            return list(
                s.scalars(
                    sa.select(LegalHold).where(
                        LegalHold.subject_id == subject.id,
                        LegalHold.lifted_at.is_(None),
                        sa.or_(LegalHold.until.is_(None), LegalHold.until > moment),
                    )
                ).all()
            )

    # --- marketing suppression (Art. 21(3)) ------------------------------------------------------

    def _suppression_index(self, email: str) -> bytes:
        return self.keyring.blind_index("suppression:email", normalise_identity("email", email))

    def suppress(
        self, email: str, *, reason: str | None = None, session: Session | None = None
    ) -> None:
        """Never send marketing to this address again (idempotent). Kept as an HMAC only."""
        index = self._suppression_index(email)
        with self._session(session) as s:
            exists = s.execute(
                sa.select(suppressions_table.c.id).where(suppressions_table.c.email_hmac == index)
            ).first()
            if exists is None:
                s.execute(
                    sa.insert(suppressions_table).values(
                        email_hmac=index, reason=reason, created_at=utcnow()
                    )
                )

    def unsuppress(self, email: str, *, session: Session | None = None) -> bool:
        """Remove an address from the suppression list (the person opted in again)."""
        index = self._suppression_index(email)
        with self._session(session) as s:
            result = s.execute(
                sa.delete(suppressions_table).where(suppressions_table.c.email_hmac == index)
            )
            return cast(sa.CursorResult[Any], result).rowcount > 0

    def is_suppressed(self, email: str, *, session: Session | None = None) -> bool:
        """Whether marketing to this address is suppressed."""
        index = self._suppression_index(email)
        with self._session(session) as s:
            return (
                s.execute(
                    sa.select(suppressions_table.c.id).where(
                        suppressions_table.c.email_hmac == index
                    )
                ).first()
                is not None
            )
