"""The history of one attendance record: every mark and correction, with who, when and why."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from app.api.deps import DbDep
from app.api.errors import error_responses
from app.api.security import AnyUser
from app.schemas.attendance import AttendanceChangePublic
from app.services.school import attendance

router = APIRouter(prefix="/v1/attendance", tags=["attendance"])


@router.get(
    "/{attendance_id}/changes",
    summary="Who changed this record, when and why",
    response_model=list[AttendanceChangePublic],
    responses=error_responses(403, 404),
)
def list_changes(attendance_id: uuid.UUID, user: AnyUser, session: DbDep) -> list[AttendanceChangePublic]:
    return [
        AttendanceChangePublic.model_validate(c) for c in attendance.changes(session, user, attendance_id)
    ]
