"""The audit trail as admins read it: numbered in the school's own sequence, actors and targets by name."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

_OWN_NUMBER = "The event's number in this school's trail (1, 2, ...), not the installation's."


class AuditEventPublic(BaseModel):
    seq: int = Field(description=_OWN_NUMBER)
    at: datetime
    school_id: uuid.UUID | None
    actor: str
    actor_name: str | None = Field(
        description="Who the actor is, when it is of this school: a user's name, a kiosk's name and room. "
        "None for system or operator, or an id that no longer resolves."
    )
    action: str
    target: str | None = Field(description="Student ids appear as keyed pseudonyms (student:<hmac>).")
    target_name: str | None = Field(
        description="The target by name, when it is of this school: a student's display name (or 'erased "
        "student'), a class's code and name, a lesson's class and local start, a user, kiosk or the school. "
        "None for anything else."
    )
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
    events: int = Field(description="How many events this school's trail holds (its own count).")
    head_hash: str = Field(description="Hash of the newest event: pin it elsewhere to detect truncation.")
    first_broken_seq: int | None = Field(description="Where the chain first broke, by the school's number.")
    problem: str | None
