"""Class lessons (lessons): attendance is taken per session, present or late by its start and grace.

The class's teacher and admins run them. Times are stored in UTC; listings filter by the school's local
dates (``services.school.reports.local_day_bounds``) so "the 3rd" means the school's 3rd wherever the server
is.
"""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import select
from sqlmodel import Session, col

from app.core.errors import Conflict, InvalidInput
from app.db.tables import Attendance, CheckinCode, Lesson, SchoolClass, utcnow
from app.notifications import events
from app.schemas.classes import LessonCreate, LessonPublic, LessonUpdate, check_times
from app.schemas.common import Page, PageParams
from app.services.crud import apply_update, paginate
from app.services.identity import access
from app.services.identity.principal import Principal
from app.services.privacy.activity import log_action, target
from app.services.school.dates import local_range


def list_lessons(
    session: Session,
    principal: Principal,
    class_id: uuid.UUID,
    params: PageParams,
    date_from: date | None = None,
    date_to: date | None = None,
) -> Page[LessonPublic]:
    access.get_class(session, principal, class_id)
    query = select(Lesson).where(col(Lesson.class_id) == class_id)
    if date_from is not None or date_to is not None:
        start, end = local_range(access.school(session, principal).timezone, date_from, date_to)
        query = query.where(col(Lesson.starts_at) >= start, col(Lesson.starts_at) < end)
    return paginate(session, query.order_by(col(Lesson.starts_at)), params, LessonPublic.model_validate)


def get_lesson(session: Session, principal: Principal, lesson_id: uuid.UUID) -> Lesson:
    return access.get_lesson(session, principal, lesson_id)[0]


def create_lesson(
    session: Session, principal: Principal, class_id: uuid.UUID, data: LessonCreate, request_id: str | None
) -> Lesson:
    klass = access.get_class(session, principal, class_id, manage=True)
    lesson = Lesson(
        class_id=klass.id,
        starts_at=data.starts_at,
        ends_at=data.ends_at,
        grace_minutes=data.grace_minutes,
        room=data.room or klass.room,
    )
    if not data.allow_overlap:
        _refuse_overlap(session, lesson)
    session.add(lesson)
    session.flush()
    log_action(
        session, principal, "lesson.create", target("lesson", lesson.id), request_id, class_id=str(klass.id)
    )
    return lesson


def update_lesson(
    session: Session, principal: Principal, lesson_id: uuid.UUID, data: LessonUpdate, request_id: str | None
) -> Lesson:
    """Attendance already recorded keeps its status: a corrected start time changes nobody's lateness."""
    lesson, _ = access.get_lesson(session, principal, lesson_id, manage=True)
    try:
        check_times(data.starts_at or lesson.starts_at, data.ends_at or lesson.ends_at)
    except ValueError as exc:
        raise InvalidInput(str(exc), code="invalid_request", field="ends_at") from exc
    changes = apply_update(
        lesson, data, required=("starts_at", "ends_at", "grace_minutes"), options=("allow_overlap",)
    )
    if changes.keys() & {"starts_at", "ends_at", "room"} and not data.allow_overlap:
        _refuse_overlap(session, lesson)
    session.flush()
    if changes:
        log_action(
            session,
            principal,
            "lesson.update",
            target("lesson", lesson.id),
            request_id,
            fields=sorted(changes),
        )
    return lesson


def _refuse_overlap(session: Session, lesson: Lesson) -> None:
    """409 ``lesson_overlaps`` when another lesson of the class, in the same room, shares some of its time:
    a double-booked class would take each check-in twice over (a duplicate made by a double click, or a
    timetable import run twice). ``allow_overlap`` is the way to mean it. The class row is locked first, so
    two such requests at once cannot both pass."""
    session.execute(
        select(col(SchoolClass.id)).where(col(SchoolClass.id) == lesson.class_id).with_for_update()
    )
    clash = session.scalars(
        select(Lesson).where(
            col(Lesson.class_id) == lesson.class_id,
            col(Lesson.id) != lesson.id,
            col(Lesson.room).is_not_distinct_from(lesson.room),
            col(Lesson.starts_at) < lesson.ends_at,
            col(Lesson.ends_at) > lesson.starts_at,
        )
    ).first()
    if clash is not None:
        raise Conflict(
            "another lesson of this class overlaps it in the same room; send allow_overlap to mean it",
            code="lesson_overlaps",
            lesson_id=str(clash.id),
        )


def close_lesson(
    session: Session, principal: Principal, lesson_id: uuid.UUID, request_id: str | None
) -> Lesson:
    """No more check-ins (kiosk or code) after this; teachers can still mark and correct."""
    lesson, _ = access.get_lesson(session, principal, lesson_id, manage=True)
    if lesson.closed_at is None:
        lesson.closed_at = utcnow()
        session.flush()
        log_action(session, principal, "lesson.close", target("lesson", lesson.id), request_id)
        events.lesson_over(session, lesson)  # absence notices, in this same transaction
    return lesson


def delete_lesson(
    session: Session, principal: Principal, lesson_id: uuid.UUID, request_id: str | None
) -> None:
    """Only a lesson without attendance or codes: recorded attendance is history, not a mistake to undo."""
    lesson, _ = access.get_lesson(session, principal, lesson_id, manage=True)
    for model in (Attendance, CheckinCode):
        if (
            session.scalars(select(col(model.id)).where(col(model.lesson_id) == lesson_id).limit(1)).first()
            is not None
        ):
            raise Conflict(
                "the lesson already has attendance records", code="in_use", lesson_id=str(lesson_id)
            )
    session.delete(lesson)
    session.flush()
    log_action(session, principal, "lesson.delete", target("lesson", lesson_id), request_id)
