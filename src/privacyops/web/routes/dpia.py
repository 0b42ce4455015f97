"""The DPIA register's JSON API (GDPR Art. 35), under ``/api/v1/dpia``: the screening of the
policy's activities, and the DPIA records. Scopes ``dpia:read`` and ``dpia:write``."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from privacyops.accounts import Principal
from privacyops.policy.schema import PolicyBook
from privacyops.registers.dpia import DpiaRegister
from privacyops.store import Database
from privacyops.web.auth import require_scope
from privacyops.web.deps import get_db, get_policy

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/dpia", tags=["dpia"])

_read = require_scope("dpia:read")
_write = require_scope("dpia:write")


def _register(
    db: Database = Depends(get_db), policy: PolicyBook = Depends(get_policy)
) -> DpiaRegister:
    return DpiaRegister(db, policy.current)


class DpiaIn(BaseModel):
    activity: str = Field(min_length=3, max_length=130, description="channel/purpose")
    description: str = Field(min_length=1, max_length=20_000)
    necessity: str = Field(min_length=1, max_length=20_000)
    risks: str = Field(min_length=1, max_length=20_000)
    measures: str = Field(min_length=1, max_length=20_000)
    dpo_advice: str = Field(min_length=1, max_length=20_000)
    review_date: date


@router.get("/screening")
def screening(
    register: DpiaRegister = Depends(_register), _: Principal = Depends(_read)
) -> list[dict[str, Any]]:
    """The activities that need a DPIA, the criteria they meet and their record's state."""
    return register.report()


@router.get("")
def list_dpias(
    register: DpiaRegister = Depends(_register), _: Principal = Depends(_read)
) -> list[dict[str, Any]]:
    """The DPIA records."""
    return register.records()


@router.post("", status_code=201)
def add_dpia(
    body: DpiaIn, register: DpiaRegister = Depends(_register), who: Principal = Depends(_write)
) -> dict[str, Any]:
    """Record (or replace) the DPIA of an activity (audited)."""
    fields = body.model_dump(exclude={"activity"})
    return register.add(body.activity, fields, actor=who.actor)
