"""Publishing: outbox rows written in the caller's transaction (they commit with the change, or not at all).

``publish`` is ``INSERT ... ON CONFLICT (dedupe_key) DO NOTHING``: the same fact published twice (a retried
check-in, a lesson closed and then swept when it ends) is one event. Payloads carry what a message needs
besides the student's name (looked up when sending, so an erased student is never messaged).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import Session, col

from app.core.enums import AttendanceStatus
from app.db.tables import Attendance, ClassMember, Lesson, NotificationEvent, SchoolClass, utcnow

RECORDED = "attendance.recorded"
ABSENT = "attendance.absent"
CORRECTED = "attendance.corrected"
LESSON_CLOSED = "lesson.closed"
SUMMARY_DAILY = "summary.daily"
SUMMARY_WEEKLY = "summary.weekly"
KINDS = (RECORDED, ABSENT, CORRECTED, LESSON_CLOSED, SUMMARY_DAILY, SUMMARY_WEEKLY)

#: What a contact subscribes to (``NotificationContact.topics``).
TOPICS = ("arrival", "absence", "correction", "lesson", "summary")


def topic_of(kind: str, payload: dict[str, Any]) -> str | None:
    """The topic an event belongs to (None: nobody is told)."""
    if kind == RECORDED:
        return "arrival"
    if kind == ABSENT:
        return "absence"
    if kind == CORRECTED:
        return "absence" if payload.get("status") == AttendanceStatus.absent.value else "correction"
    if kind == LESSON_CLOSED:
        return "lesson"
    if kind in (SUMMARY_DAILY, SUMMARY_WEEKLY):
        return "summary"
    return None


def publish(
    session: Session,
    *,
    school_id: uuid.UUID,
    kind: str,
    dedupe_key: str,
    student_id: uuid.UUID | None = None,
    lesson_id: uuid.UUID | None = None,
    payload: dict[str, Any] | None = None,
) -> bool:
    """Add one event to the outbox; False when an event with this key exists already."""
    if kind not in KINDS:
        raise ValueError(f"unknown event kind {kind!r}")
    new_id = session.scalar(
        insert(NotificationEvent)
        .values(
            id=uuid.uuid4(),
            school_id=school_id,
            kind=kind,
            dedupe_key=dedupe_key[:160],
            student_id=student_id,
            lesson_id=lesson_id,
            payload=payload or {},
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(col(NotificationEvent.id))
    )
    return new_id is not None


def _lesson_payload(lesson: Lesson, klass: SchoolClass) -> dict[str, Any]:
    return {
        "lesson_id": str(lesson.id),
        "class_id": str(klass.id),
        "class_code": klass.code,
        "class_name": klass.name,
        "starts_at": lesson.starts_at.isoformat(),
        "ends_at": lesson.ends_at.isoformat(),
    }


def attendance_recorded(session: Session, lesson: Lesson, record: Attendance) -> None:
    """A check-in created ``record`` (kiosk face, 1:1 verify, code): the guardian may want to know."""
    _publish_attendance(
        session,
        lesson,
        record,
        RECORDED,
        f"recorded:{record.id}",
        method=record.method.value,
        recorded_at=record.recorded_at.isoformat(),
    )


def attendance_corrected(
    session: Session, lesson: Lesson, record: Attendance, change_id: uuid.UUID | str
) -> None:
    """A teacher marked or corrected ``record`` (the change row's id keys the event)."""
    _publish_attendance(session, lesson, record, CORRECTED, f"corrected:{change_id}")


def _publish_attendance(
    session: Session, lesson: Lesson, record: Attendance, kind: str, dedupe_key: str, **extra: str
) -> None:
    klass = session.get(SchoolClass, lesson.class_id)
    if klass is None:
        return
    publish(
        session,
        school_id=klass.school_id,
        kind=kind,
        dedupe_key=dedupe_key,
        student_id=record.student_id,
        lesson_id=lesson.id,
        payload={**_lesson_payload(lesson, klass), "status": record.status.value, **extra},
    )


def lesson_over(session: Session, lesson: Lesson, now: datetime | None = None) -> int:
    """The lesson is closed or has ended: one absence event per member without a record, and one
    ``lesson.closed`` event (for integrations). Idempotent; returns how many absence events were new."""
    klass = session.get(SchoolClass, lesson.class_id)
    if klass is None:
        return 0
    now = now or utcnow()
    recorded = set(
        session.scalars(select(col(Attendance.student_id)).where(col(Attendance.lesson_id) == lesson.id))
    )
    members = session.execute(
        select(col(ClassMember.student_id), col(ClassMember.added_at)).where(
            col(ClassMember.class_id) == lesson.class_id
        )
    ).all()
    base = _lesson_payload(lesson, klass)
    new = 0
    absent = 0
    for student_id, added_at in members:
        if student_id in recorded or added_at > lesson.over_at:
            continue  # present, late, excused... or joined the class after this lesson
        absent += 1
        new += publish(
            session,
            school_id=klass.school_id,
            kind=ABSENT,
            dedupe_key=f"absent:{lesson.id}:{student_id}",
            student_id=student_id,
            lesson_id=lesson.id,
            payload={**base, "status": AttendanceStatus.absent.value},
        )
    publish(
        session,
        school_id=klass.school_id,
        kind=LESSON_CLOSED,
        dedupe_key=f"session-over:{lesson.id}",
        lesson_id=lesson.id,
        payload={**base, "recorded": len(recorded), "absent": absent, "over_at": now.isoformat()},
    )
    return new
