"""The audit trail as admins read it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from app.schemas.common import Public


class AuditEventPublic(Public):
    seq: int
    at: datetime
    school_id: uuid.UUID | None
    actor: str
    action: str
    target: str | None = Field(description="Student ids appear as keyed pseudonyms (student:<hmac>).")
    result: str
    request_id: str | None
    details: dict[str, Any]
    prev_hash: str
    hash: str


class AuditPage(BaseModel):
    items: list[AuditEventPublic]
    next_before_seq: int | None = Field(description="Pass as before_seq for the next (older) page.")


class ChainStatus(BaseModel):
    ok: bool
    events: int
    head_hash: str = Field(description="Hash of the newest event: pin it elsewhere to detect truncation.")
    first_broken_seq: int | None
    problem: str | None
