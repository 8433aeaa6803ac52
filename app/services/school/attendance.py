"""Attendance records: written once per (session, student), corrected only with a reason kept forever.

``record_once`` is the single way a record is created by any check-in (face, verify, code): an
``INSERT ... ON CONFLICT DO NOTHING`` against the unique (session, student) constraint, so a retried or
concurrent check-in can never write a second row; the loser reads the winner's row and answers with it.
Teachers mark and correct with ``mark``; every change, including the first manual mark, is kept in
``attendance_change`` with who, when and why.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import Session, col

from app.core.enums import AttendanceStatus, CheckinMethod, Role
from app.core.errors import Conflict, NotFound
from app.db.tables import Attendance, AttendanceChange, Lesson, SchoolClass, utcnow
from app.notifications import events
from app.schemas.attendance import AttendanceBulkMark, AttendanceMark
from app.services.identity import access
from app.services.identity.principal import Principal
from app.services.privacy.activity import log_action, target

UNIQUE_CONSTRAINT = "uq_attendance_lesson_student"


def arrival_status(lesson: Lesson, at: datetime) -> AttendanceStatus:
    """Present up to the start plus the grace period, late after it."""
    late_after = lesson.starts_at + timedelta(minutes=lesson.grace_minutes)
    return AttendanceStatus.present if at <= late_after else AttendanceStatus.late


def record_once(
    session: Session,
    *,
    lesson: Lesson,
    student_id: uuid.UUID,
    method: CheckinMethod,
    at: datetime,
    recorded_by: str,
    confidence: float | None = None,
    idempotency_key: str | None = None,
    liveness_checked: bool | None = None,
) -> tuple[Attendance, bool]:
    """The student's record for the session, and whether this call created it."""
    new_id = session.scalar(
        insert(Attendance)
        .values(
            id=uuid.uuid4(),
            lesson_id=lesson.id,
            student_id=student_id,
            status=arrival_status(lesson, at),
            method=method,
            confidence=confidence,
            liveness_checked=liveness_checked,
            recorded_at=at,
            recorded_by=recorded_by,
            idempotency_key=idempotency_key,
        )
        .on_conflict_do_nothing(constraint=UNIQUE_CONSTRAINT)
        .returning(col(Attendance.id))
    )
    record = session.scalars(
        select(Attendance).where(
            col(Attendance.lesson_id) == lesson.id, col(Attendance.student_id) == student_id
        )
    ).one()
    if new_id is not None and method is not CheckinMethod.manual:  # manual marks publish from ``mark``
        events.attendance_recorded(session, lesson, record)  # the outbox, in this same transaction
    return record, new_id is not None


def mark(
    session: Session,
    principal: Principal,
    lesson_id: uuid.UUID,
    student_id: uuid.UUID,
    data: AttendanceMark,
    request_id: str | None,
) -> Attendance:
    """Set the student's status for the lesson (creating the record if there is none), keeping the change.

    The class's teacher or an admin; the student must be in the class, or already have a record there (a
    student who left the class can still have their history corrected). Setting the status it already has
    changes nothing and records nothing.
    """
    lesson, klass = access.get_lesson(session, principal, lesson_id, manage=True)
    record = session.scalars(
        select(Attendance)
        .where(col(Attendance.lesson_id) == lesson_id, col(Attendance.student_id) == student_id)
        .with_for_update()
    ).first()
    if record is None and not access.is_member(session, klass.id, student_id):
        access.get_student(session, principal, student_id)  # 404 for an unknown id, before "not in class"
        raise Conflict("the student is not in this class", code="not_in_class", student_id=str(student_id))
    old = record.status if record is not None else None
    if record is None:
        record, created = record_once(
            session,
            lesson=lesson,
            student_id=student_id,
            method=CheckinMethod.manual,
            at=utcnow(),
            recorded_by=principal.actor,
        )
        if not created:  # a kiosk check-in landed between our read and our insert: correct that one
            old = record.status
    if old == data.status:
        return record
    record.status = data.status
    change = AttendanceChange(
        attendance_id=record.id,
        changed_by=principal.actor,
        old_status=old,
        new_status=data.status,
        reason=data.reason,
    )
    session.add(change)
    session.flush()
    events.attendance_corrected(session, lesson, record, change.id)
    log_action(
        session,
        principal,
        "attendance.mark" if old is None else "attendance.correct",
        target("student", student_id),
        request_id,
        lesson_id=str(lesson_id),
        old_status=old.value if old else None,
        new_status=data.status.value,
    )
    return record


def mark_many(
    session: Session,
    principal: Principal,
    lesson_id: uuid.UUID,
    data: AttendanceBulkMark,
    request_id: str | None,
) -> list[Attendance]:
    """``mark`` for each student of ``data``, in the caller's one transaction: every change is kept and
    audited as a single mark's is, and the first mark refused (not in the class, unknown student) raises,
    so nothing of the request stays. Students are marked in id order, so two bulk marks of one lesson lock
    its rows in the same order and cannot deadlock; the records come back in the request's order."""
    marked = {
        item.student_id: mark(
            session,
            principal,
            lesson_id,
            item.student_id,
            AttendanceMark(status=item.status, reason=item.reason or data.reason),
            request_id,
        )
        for item in sorted(data.marks, key=lambda item: item.student_id)
    }
    return [marked[item.student_id] for item in data.marks]


def lesson_records(session: Session, principal: Principal, lesson_id: uuid.UUID) -> list[Attendance]:
    """Every record of the lesson (staff of the class)."""
    access.get_lesson(session, principal, lesson_id, manage=True)
    query = (
        select(Attendance).where(col(Attendance.lesson_id) == lesson_id).order_by(col(Attendance.recorded_at))
    )
    return list(session.scalars(query))


def changes(session: Session, principal: Principal, attendance_id: uuid.UUID) -> list[AttendanceChange]:
    """The correction history of one record: staff of the class, or the student it belongs to."""
    record = session.get(Attendance, attendance_id)
    lesson = session.get(Lesson, record.lesson_id) if record is not None else None
    klass = session.get(SchoolClass, lesson.class_id) if lesson is not None else None
    if record is None or klass is None or klass.school_id != principal.school_id:
        raise NotFound(f"no attendance record {attendance_id}", code="attendance_not_found")
    own = principal.role is Role.student and principal.student_id == record.student_id
    if not own:
        access.get_lesson(session, principal, record.lesson_id, manage=True)
    query = (
        select(AttendanceChange)
        .where(col(AttendanceChange.attendance_id) == attendance_id)
        .order_by(col(AttendanceChange.changed_at))
    )
    return list(session.scalars(query))
