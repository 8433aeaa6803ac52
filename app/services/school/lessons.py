"""Class lessons (lessons): attendance is taken per session, present or late by its start and grace.

The class's teacher and admins run them. Times are stored in UTC; listings filter by the school's local
dates (``services.school.reports.local_day_bounds``) so "the 3rd" means the school's 3rd wherever the server
is. A weekly timetable slot becomes lessons with ``create_series``: its wall-clock time is converted to UTC
per date, in the school's zone, so a lesson at 08:00 stays at 08:00 on both sides of a daylight-saving change.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Select, select
from sqlmodel import Session, col

from app.core.errors import Conflict, InvalidInput
from app.db.tables import Attendance, CheckinCode, Lesson, SchoolClass, utcnow
from app.notifications import events
from app.schemas.classes import (
    MAX_SERIES_DAYS,
    WEEKDAYS,
    LessonCreate,
    LessonPublic,
    LessonSeriesCreate,
    LessonSeriesReport,
    LessonUpdate,
    SeriesLesson,
    check_times,
)
from app.schemas.common import Page, PageParams
from app.services.crud import apply_update, paginate
from app.services.identity import access
from app.services.identity.principal import Principal
from app.services.privacy.activity import log_action, target
from app.services.school.dates import local_instant, local_range


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


def create_series(
    session: Session,
    principal: Principal,
    class_id: uuid.UUID,
    data: LessonSeriesCreate,
    request_id: str | None,
) -> LessonSeriesReport:
    """Every lesson of a weekly series (``LessonSeriesCreate``), or none: each date is checked for overlaps
    as one ``create_lesson`` would be, and a clash on any date refuses the whole series (409
    ``lesson_overlaps``, the report in its details) unless ``allow_overlap``. Lessons of one series never
    overlap each other: starts on different dates lie at least 23 hours apart, a lesson lasts at most 12."""
    klass = access.get_class(session, principal, class_id, manage=True)
    days, skipped = _series_days(data)
    zone = ZoneInfo(access.school(session, principal).timezone)
    length = timedelta(minutes=data.duration_minutes)
    room = data.room or klass.room
    planned = [(day, local_instant(zone, day, data.start_time)) for day in days]
    _lock_class(session, klass.id)
    existing = session.scalars(
        _overlapping(klass.id, room, planned[0][1], planned[-1][1] + length).order_by(col(Lesson.starts_at))
    ).all()
    rows = [
        SeriesLesson(
            day=day,
            starts_at=start,
            ends_at=start + length,
            lesson_id=None,
            overlaps=_first_clash(existing, start, start + length),
        )
        for day, start in planned
    ]
    report = LessonSeriesReport(created=0, dry_run=data.dry_run, lessons=rows, skipped=skipped)
    clashes = sum(row.overlaps is not None for row in rows)
    if clashes and not data.allow_overlap:
        raise Conflict(
            f"{clashes} of the {len(rows)} lessons overlap another lesson of this class in the same room; "
            "nothing was created (send allow_overlap to mean it)",
            code="lesson_overlaps",
            **report.model_dump(mode="json"),
        )
    if data.dry_run:
        return report
    made = [
        Lesson(
            class_id=klass.id,
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            grace_minutes=data.grace_minutes,
            room=room,
        )
        for row in rows
    ]
    session.add_all(made)
    session.flush()
    for row, lesson in zip(rows, made, strict=True):
        row.lesson_id = lesson.id
    log_action(
        session, principal, "lesson.series.create", target("class", klass.id), request_id,
        lessons=len(made), date_from=str(days[0]), date_to=str(days[-1]), weekdays=data.weekdays,
        start_time=data.start_time.isoformat(), overlapping=clashes,
    )  # fmt: skip
    return report.model_copy(update={"created": len(made)})


def _first_clash(lessons: Sequence[Lesson], starts_at: datetime, ends_at: datetime) -> uuid.UUID | None:
    """The first of ``lessons`` that shares some of ``[starts_at, ends_at)``, as ``_overlapping`` selects."""
    return next((o.id for o in lessons if o.starts_at < ends_at and o.ends_at > starts_at), None)


def _series_days(data: LessonSeriesCreate) -> tuple[list[date], list[date]]:
    """The series' lesson dates, and the skip dates that removed one; 422 ``invalid_range`` for a reversed
    or too long range, or one where no lesson is left."""
    span = (data.date_to - data.date_from).days + 1
    if span < 1:
        raise InvalidInput("date_to must not be before date_from", code="invalid_range")
    if span > MAX_SERIES_DAYS:
        raise InvalidInput(
            f"a series covers at most {MAX_SERIES_DAYS} days", code="invalid_range", max_days=MAX_SERIES_DAYS
        )
    wanted, skip = set(data.weekdays), set(data.skip_dates)
    on_weekdays = [
        day
        for day in (data.date_from + timedelta(days=n) for n in range(span))
        if WEEKDAYS[day.weekday()] in wanted
    ]
    days = [day for day in on_weekdays if day not in skip]
    if not days:
        raise InvalidInput("no lesson day is left in the range", code="invalid_range")
    return days, [day for day in on_weekdays if day in skip]


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
    timetable import run twice). ``allow_overlap`` is the way to mean it."""
    _lock_class(session, lesson.class_id)
    clash = session.scalars(
        _overlapping(lesson.class_id, lesson.room, lesson.starts_at, lesson.ends_at).where(
            col(Lesson.id) != lesson.id
        )
    ).first()
    if clash is not None:
        raise Conflict(
            "another lesson of this class overlaps it in the same room; send allow_overlap to mean it",
            code="lesson_overlaps",
            lesson_id=str(clash.id),
        )


def _lock_class(session: Session, class_id: uuid.UUID) -> None:
    """Lock the class row before an overlap check, so two requests scheduling at once cannot both pass."""
    session.execute(select(col(SchoolClass.id)).where(col(SchoolClass.id) == class_id).with_for_update())


def _overlapping(
    class_id: uuid.UUID, room: str | None, starts_at: datetime, ends_at: datetime
) -> Select[Lesson]:
    """The class's lessons in ``room`` that share some of ``[starts_at, ends_at)`` (back to back is fine)."""
    return select(Lesson).where(
        col(Lesson.class_id) == class_id,
        col(Lesson.room).is_not_distinct_from(room),
        col(Lesson.starts_at) < ends_at,
        col(Lesson.ends_at) > starts_at,
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
