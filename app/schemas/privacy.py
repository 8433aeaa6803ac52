"""Privacy: erasure receipts, the disclosure log, review frames."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from app.core.enums import ErasureState
from app.schemas.common import Public

#: Why a record is exported or opened (FERPA): a few words at least, for the disclosure log.
Purpose = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=500)]


class ErasureReceipt(BaseModel):
    """What an erasure removed, per store, and what it deliberately kept (no personal data)."""

    receipt_id: uuid.UUID
    subject: str = Field(description="The erased student as the audit trail names them (student:<hmac>).")
    school_id: uuid.UUID
    requested_by: str
    requested_at: datetime
    state: ErasureState = Field(
        description="completed: gone from every store, Milvus compacted; erased: gone from every store's "
        "live data, Milvus' files compacted by the next retention run."
    )
    completed_at: datetime | None
    removed: dict[str, dict[str, int]] = Field(
        description="Per store (postgresql, redis, milvus), what was removed and how many."
    )
    milvus_compaction: str = Field(
        description="completed, pending, needs_rebuild (Milvus Lite) or unsupported."
    )
    kept: list[str] = Field(description="What remains, and why it is not personal data.")
    replayed: bool = Field(False, description="The student was erased before: this is the stored receipt.")


class DisclosurePublic(Public):
    id: uuid.UUID
    student_id: uuid.UUID | None = Field(description="None once the student was erased (see subject).")
    subject: str = Field(description="The student's keyed pseudonym (hex): links entries across an erasure.")
    actor: str
    actor_role: str
    action: str = Field(description="view or export.")
    scope: str = Field(description="full (non-directory fields included) or limited.")
    categories: list[str]
    purpose: str
    request_id: str | None
    at: datetime


class DisclosurePage(BaseModel):
    items: list[DisclosurePublic]
    next_before: datetime | None = Field(description="Pass as `before` for the next (older) page.")


class ReviewFramePublic(Public):
    id: uuid.UUID
    kiosk_id: uuid.UUID
    lesson_id: uuid.UUID | None
    reason: str
    media_type: str
    captured_at: datetime
    expires_at: datetime
