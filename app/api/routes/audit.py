"""The audit trail of the admin's school, and a check of the whole hash chain."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from app.api.deps import DbDep
from app.api.security import AdminOnly
from app.schemas.audit import AuditPage, ChainStatus
from app.services.privacy import audit

router = APIRouter(prefix="/v1/audit", tags=["audit"])


@router.get("", summary="Audit events, newest first", response_model=AuditPage)
def list_events(
    admin: AdminOnly,
    session: DbDep,
    action: Annotated[str | None, Query(max_length=64)] = None,
    actor: Annotated[str | None, Query(max_length=64, description="user:<id>, kiosk:<id> or system")] = None,
    student_id: Annotated[uuid.UUID | None, Query(description="Events about this student.")] = None,
    target: Annotated[str | None, Query(max_length=128)] = None,
    result: Annotated[str | None, Query(max_length=16)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    before_seq: Annotated[int | None, Query(ge=1, description="The school's event number (seq).")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> AuditPage:
    """Numbered in the school's own sequence; actors and targets of this school are named."""
    where = audit.EventFilter(
        action=action,
        actor=actor,
        target=target,
        student_id=student_id,
        result=result,
        since=since,
        until=until,
        before_seq=before_seq,
        limit=limit,
    )
    items = audit.shown_events(session, admin, where)
    return AuditPage(items=items, next_before_seq=items[-1].seq if len(items) == limit else None)


@router.get("/verify", summary="Check the hash chain of this school's trail", response_model=ChainStatus)
def verify(admin: AdminOnly, session: DbDep) -> ChainStatus:
    """Any edited, deleted or reordered event of the school breaks its chain; `first_broken_seq` names
    where, by the school's own number. The count and head are this school's own: other schools' activity
    is not revealed."""
    report = audit.verify_chain(session, admin.school_id)
    return ChainStatus(
        ok=report.ok,
        events=report.events,
        head_hash=report.head_hash,
        first_broken_seq=report.first_broken_school_seq,
        problem=report.problem,
    )
