"""One class session: read, change, close, delete; its attendance (list, mark, correct); one-time codes."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from app.api.deps import DbDep, RequestIdDep, SettingsDep
from app.api.errors import error_responses
from app.api.security import AnyUser, Staff
from app.schemas.attendance import AttendanceMark, AttendancePublic, CodeIssued, CodeRequest
from app.schemas.classes import SessionPublic, SessionUpdate
from app.services.checkin import codes
from app.services.school import attendance
from app.services.school import lessons as sessions

router = APIRouter(prefix="/v1/sessions", tags=["sessions"])


@router.get(
    "/{session_id}", summary="One session", response_model=SessionPublic, responses=error_responses(403, 404)
)
def get_session(session_id: uuid.UUID, user: AnyUser, session: DbDep) -> SessionPublic:
    return SessionPublic.model_validate(sessions.get_session(session, user, session_id))


@router.patch(
    "/{session_id}",
    summary="Change a session (recorded statuses stay as they were)",
    response_model=SessionPublic,
    responses=error_responses(403, 404, 422),
)
def update_session(
    session_id: uuid.UUID, body: SessionUpdate, staff: Staff, session: DbDep, request_id: RequestIdDep
) -> SessionPublic:
    return SessionPublic.model_validate(sessions.update_session(session, staff, session_id, body, request_id))


@router.post(
    "/{session_id}/close",
    summary="Stop check-ins for the session",
    response_model=SessionPublic,
    responses=error_responses(403, 404),
)
def close_session(
    session_id: uuid.UUID, staff: Staff, session: DbDep, request_id: RequestIdDep
) -> SessionPublic:
    return SessionPublic.model_validate(sessions.close_session(session, staff, session_id, request_id))


@router.delete(
    "/{session_id}",
    summary="Delete a session that has no attendance",
    status_code=204,
    responses=error_responses(403, 404, 409),
)
def delete_session(session_id: uuid.UUID, staff: Staff, session: DbDep, request_id: RequestIdDep) -> Response:
    sessions.delete_session(session, staff, session_id, request_id)
    return Response(status_code=204)


@router.get(
    "/{session_id}/attendance",
    summary="The session's attendance records",
    response_model=list[AttendancePublic],
    responses=error_responses(403, 404),
)
def list_attendance(session_id: uuid.UUID, staff: Staff, session: DbDep) -> list[AttendancePublic]:
    return [
        AttendancePublic.model_validate(r) for r in attendance.session_records(session, staff, session_id)
    ]


@router.put(
    "/{session_id}/attendance/{student_id}",
    summary="Mark or correct a student's attendance (the reason is kept)",
    response_model=AttendancePublic,
    responses=error_responses(403, 404, 409, 422),
)
def mark_attendance(
    session_id: uuid.UUID,
    student_id: uuid.UUID,
    body: AttendanceMark,
    staff: Staff,
    session: DbDep,
    request_id: RequestIdDep,
) -> AttendancePublic:
    record = attendance.mark(session, staff, session_id, student_id, body, request_id)
    return AttendancePublic.model_validate(record)


@router.post(
    "/{session_id}/codes",
    summary="Issue a one-time check-in code (or QR) for a student",
    status_code=201,
    response_model=CodeIssued,
    responses=error_responses(403, 404, 409),
)
def issue_code(
    session_id: uuid.UUID,
    body: CodeRequest,
    staff: Staff,
    session: DbDep,
    settings: SettingsDep,
    request_id: RequestIdDep,
) -> CodeIssued:
    """The code is in this answer only (a hash is stored); it works once, until it or the session expires."""
    return codes.issue_code(
        session,
        staff,
        session_id,
        body.student_id,
        ttl_minutes=settings.checkin_code_ttl_minutes,
        request_id=request_id,
    )
