"""One class session: read, change, close, delete; its attendance (list, mark, correct, in bulk); one-time
codes."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from app.api.deps import DbDep, RequestIdDep, SettingsDep
from app.api.errors import error_responses
from app.api.security import AnyUser, Staff
from app.schemas.attendance import (
    AttendanceBulkMark,
    AttendanceMark,
    AttendancePublic,
    CodeIssued,
    CodeRequest,
)
from app.schemas.classes import LessonPublic, LessonUpdate
from app.services.checkin import codes
from app.services.school import attendance, lessons

router = APIRouter(prefix="/v1/lessons", tags=["lessons"])


@router.get(
    "/{lesson_id}", summary="One lesson", response_model=LessonPublic, responses=error_responses(403, 404)
)
def get_lesson(lesson_id: uuid.UUID, user: AnyUser, session: DbDep) -> LessonPublic:
    return LessonPublic.model_validate(lessons.get_lesson(session, user, lesson_id))


@router.patch(
    "/{lesson_id}",
    summary="Change a lesson (recorded statuses stay as they were)",
    response_model=LessonPublic,
    responses=error_responses(403, 404, 422),
)
def update_lesson(
    lesson_id: uuid.UUID, body: LessonUpdate, staff: Staff, session: DbDep, request_id: RequestIdDep
) -> LessonPublic:
    return LessonPublic.model_validate(lessons.update_lesson(session, staff, lesson_id, body, request_id))


@router.post(
    "/{lesson_id}/close",
    summary="Stop check-ins for the lesson",
    response_model=LessonPublic,
    responses=error_responses(403, 404),
)
def close_lesson(
    lesson_id: uuid.UUID, staff: Staff, session: DbDep, request_id: RequestIdDep
) -> LessonPublic:
    return LessonPublic.model_validate(lessons.close_lesson(session, staff, lesson_id, request_id))


@router.delete(
    "/{lesson_id}",
    summary="Delete a lesson that has no attendance",
    status_code=204,
    responses=error_responses(403, 404, 409),
)
def delete_lesson(lesson_id: uuid.UUID, staff: Staff, session: DbDep, request_id: RequestIdDep) -> Response:
    lessons.delete_lesson(session, staff, lesson_id, request_id)
    return Response(status_code=204)


@router.get(
    "/{lesson_id}/attendance",
    summary="The lesson's attendance records",
    response_model=list[AttendancePublic],
    responses=error_responses(403, 404),
)
def list_attendance(lesson_id: uuid.UUID, staff: Staff, session: DbDep) -> list[AttendancePublic]:
    return [AttendancePublic.model_validate(r) for r in attendance.lesson_records(session, staff, lesson_id)]


@router.post(
    "/{lesson_id}/attendance",
    summary="Mark or correct several students at once: all of them, or none",
    response_model=list[AttendancePublic],
    responses=error_responses(403, 404, 409, 422),
)
def mark_attendance_in_bulk(
    lesson_id: uuid.UUID, body: AttendanceBulkMark, staff: Staff, session: DbDep, request_id: RequestIdDep
) -> list[AttendancePublic]:
    """Each mark is kept like a single one (its change, with the reason, in the record's history); the
    first one refused answers its error (e.g. 409 `not_in_class` with the `student_id`) and none is kept.
    The records come back in the order of `marks`."""
    records = attendance.mark_many(session, staff, lesson_id, body, request_id)
    return [AttendancePublic.model_validate(record) for record in records]


@router.put(
    "/{lesson_id}/attendance/{student_id}",
    summary="Mark or correct a student's attendance (the reason is kept)",
    response_model=AttendancePublic,
    responses=error_responses(403, 404, 409, 422),
)
def mark_attendance(
    lesson_id: uuid.UUID,
    student_id: uuid.UUID,
    body: AttendanceMark,
    staff: Staff,
    session: DbDep,
    request_id: RequestIdDep,
) -> AttendancePublic:
    record = attendance.mark(session, staff, lesson_id, student_id, body, request_id)
    return AttendancePublic.model_validate(record)


@router.post(
    "/{lesson_id}/codes",
    summary="Issue a one-time check-in code (or QR) for a student",
    status_code=201,
    response_model=CodeIssued,
    responses=error_responses(403, 404, 409),
)
def issue_code(
    lesson_id: uuid.UUID,
    body: CodeRequest,
    staff: Staff,
    session: DbDep,
    settings: SettingsDep,
    request_id: RequestIdDep,
) -> CodeIssued:
    """The code is in this answer only (a hash is stored); it works once, until it or the lesson expires."""
    return codes.issue_code(
        session,
        staff,
        lesson_id,
        body.student_id,
        ttl_minutes=settings.checkin_code_ttl_minutes,
        request_id=request_id,
    )
