"""Attendance reports: one lesson, one class over dates, one student over dates; and their tables.

Counting rules (the same in every report, in ``_decide``): a record counts with its status; no record counts
as absent once the lesson is over (ended or closed); a lesson without a record that is still running or
not begun counts for nothing yet ("pending"). A student is counted for a class's lessons from the moment
they joined it (a lesson that was over before they joined does not list them); a former member only for the
lessons they have records in.

Time zones: a report is in its school's zone (``School.timezone``), named in the report. Its date range and
weeks are the school's calendar days (a lesson at 23:30 in New York is on that day, not on the next day as in
UTC), its times are given with the school's offset, and the CSV/XLSX tables head their time columns with the
zone (XLSX cells hold the school's wall-clock time: Excel has no time zones).

Who may read: a lesson's or class's report is for the class's teacher and admins; a student's report for the
student themself, admins, and teachers (limited to the classes they teach).
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import redis
from sqlalchemy import or_, select
from sqlmodel import Session, col

from app.core.enums import AttendanceStatus, Role
from app.db.tables import Attendance, ClassMember, Lesson, SchoolClass, Student, utcnow
from app.schemas.reports import (
    ClassReport,
    ClassStudentRow,
    LessonReport,
    LessonRow,
    StudentLessonRow,
    StudentReport,
    Totals,
    WeekTotals,
)
from app.services.checkin.cache import CheckinCache
from app.services.identity import access
from app.services.identity.principal import Principal
from app.services.privacy.activity import log_action, target
from app.services.school.dates import local_range, report_range
from app.services.school.exports import sheet_title

log = logging.getLogger(__name__)

PENDING = "pending"
ABSENT = AttendanceStatus.absent.value

Report = LessonReport | ClassReport | StudentReport


def lesson_report(
    session: Session, principal: Principal, lesson_id: uuid.UUID, cache: CheckinCache | None = None
) -> LessonReport:
    lesson, klass = access.get_lesson(session, principal, lesson_id, manage=True)
    timezone = access.school(session, principal).timezone
    zone = ZoneInfo(timezone)
    now = utcnow()
    records = {
        r.student_id: r
        for r in session.scalars(select(Attendance).where(col(Attendance.lesson_id) == lesson_id))
    }
    joined = _joined(session, klass.id)
    students = session.scalars(
        select(Student)
        .where(or_(col(Student.id).in_(joined), col(Student.id).in_(records)))
        .order_by(col(Student.last_name), col(Student.first_name), col(Student.id))
    ).all()
    rows = []
    for student in students:
        record = records.get(student.id)
        if record is None and joined[student.id] > lesson.over_at:
            continue  # joined the class after this lesson: never expected at it, not "pending"
        rows.append(
            LessonRow(
                student_id=student.id,
                student_number=student.student_number,
                display_name=student.display_name,
                status=_decide(record, lesson, now, joined.get(student.id)) or PENDING,
                method=record.method.value if record else None,
                recorded_at=record.recorded_at.astimezone(zone) if record else None,
                confidence=record.confidence if record else None,
                liveness_checked=record.liveness_checked if record else None,
            )
        )
    return LessonReport(
        lesson_id=lesson.id,
        class_id=klass.id,
        class_code=klass.code,
        class_name=klass.name,
        timezone=timezone,
        starts_at=lesson.starts_at.astimezone(zone),
        ends_at=lesson.ends_at.astimezone(zone),
        unknown_faces=_unknown_faces(cache, lesson.id),
        totals=_totals(row.status for row in rows),
        rows=rows,
    )


def class_report(
    session: Session,
    principal: Principal,
    class_id: uuid.UUID,
    date_from: date | None,
    date_to: date | None,
    *,
    max_days: int,
) -> ClassReport:
    klass = access.get_class(session, principal, class_id, manage=True)
    timezone = access.school(session, principal).timezone
    first, last = report_range(timezone, date_from, date_to, max_days)
    lessons = _lessons(session, [klass.id], timezone, first, last)
    records = _records(session, [lesson.id for lesson in lessons])
    joined = _joined(session, class_id)
    student_ids = set(joined) | {student_id for _, student_id in records}
    students = session.scalars(
        select(Student)
        .where(col(Student.id).in_(student_ids))
        .order_by(col(Student.last_name), col(Student.first_name), col(Student.id))
    ).all()
    now = utcnow()
    zone = ZoneInfo(timezone)
    week_of = {lesson.id: _monday(lesson.starts_at.astimezone(zone).date()) for lesson in lessons}
    weeks: dict[date, list[str]] = {monday: [] for monday in sorted(set(week_of.values()))}
    rows = []
    everyone: list[str] = []
    for student in students:
        statuses = []
        for lesson in lessons:
            status = _decide(records.get((lesson.id, student.id)), lesson, now, joined.get(student.id))
            if status is not None:
                statuses.append(status)
                weeks[week_of[lesson.id]].append(status)
        everyone.extend(statuses)
        rows.append(
            ClassStudentRow(
                student_id=student.id,
                student_number=student.student_number,
                display_name=student.display_name,
                totals=_totals(statuses),
            )
        )
    lessons_in = Counter(week_of.values())
    return ClassReport(
        class_id=klass.id,
        class_code=klass.code,
        class_name=klass.name,
        timezone=timezone,
        date_from=first,
        date_to=last,
        lessons=len(lessons),
        totals=_totals(everyone),
        weeks=[
            WeekTotals(week_start=monday, lessons=lessons_in[monday], totals=_totals(statuses))
            for monday, statuses in weeks.items()
        ],
        rows=rows,
    )


def student_report(
    session: Session,
    principal: Principal,
    student_id: uuid.UUID,
    date_from: date | None,
    date_to: date | None,
    *,
    class_id: uuid.UUID | None = None,
    max_days: int,
) -> StudentReport:
    student = access.get_student(session, principal, student_id)
    timezone = access.school(session, principal).timezone
    first, last = report_range(timezone, date_from, date_to, max_days)
    joined = dict(
        session.execute(
            select(col(ClassMember.class_id), col(ClassMember.added_at)).where(
                col(ClassMember.student_id) == student_id
            )
        ).all()
    )
    with_records = set(
        session.scalars(
            select(col(Lesson.class_id))
            .join(Attendance, col(Attendance.lesson_id) == Lesson.id)
            .where(col(Attendance.student_id) == student_id)
        )
    )
    class_query = select(SchoolClass).where(col(SchoolClass.id).in_(set(joined) | with_records))
    if principal.role is Role.teacher:  # a teacher sees the student's attendance in their own classes only
        class_query = class_query.where(access.teaches(principal))
    if class_id is not None:
        access.get_class(session, principal, class_id)
        class_query = class_query.where(col(SchoolClass.id) == class_id)
    classes = {klass.id: klass for klass in session.scalars(class_query)}
    lessons = _lessons(session, list(classes), timezone, first, last)
    records = _records(session, [lesson.id for lesson in lessons], student_id)
    zone = ZoneInfo(timezone)
    now = utcnow()
    rows = []
    for lesson in lessons:
        status = _decide(records.get((lesson.id, student_id)), lesson, now, joined.get(lesson.class_id))
        if status is None and (lesson.class_id not in joined or lesson.starts_at < joined[lesson.class_id]):
            continue  # before they joined, or a former class without a record: not theirs
        record = records.get((lesson.id, student_id))
        rows.append(
            StudentLessonRow(
                lesson_id=lesson.id,
                class_id=lesson.class_id,
                class_code=classes[lesson.class_id].code,
                starts_at=lesson.starts_at.astimezone(zone),
                status=status or PENDING,
                method=record.method.value if record else None,
                recorded_at=record.recorded_at.astimezone(zone) if record else None,
                attendance_id=record.id if record else None,
            )
        )
    return StudentReport(
        student_id=student.id,
        student_number=student.student_number,
        display_name=student.display_name,
        timezone=timezone,
        date_from=first,
        date_to=last,
        totals=_totals(row.status for row in rows),
        rows=rows,
    )


def audit_export(
    session: Session, principal: Principal, report: Report, export_format: str, request_id: str | None
) -> None:
    """Exports carry personal data out of the system: each one is in the audit trail."""
    kind, row_id = _subject(report)
    log_action(session, principal, "report.export", target(kind, row_id), request_id, format=export_format)


def table(report: Report) -> tuple[list[str], list[list[object]]]:
    """The report as a header and rows (CSV/XLSX): one row per student (or per lesson, for a student). Time
    columns are headed with the school's zone, e.g. ``recorded_at (Europe/Paris)``."""
    if isinstance(report, LessonReport):
        recorded = f"recorded_at ({report.timezone})"
        header = [
            "student_number",
            "display_name",
            "status",
            "method",
            recorded,
            "confidence",
            "liveness_checked",
        ]
        return header, [
            [
                r.student_number,
                r.display_name,
                r.status,
                r.method,
                r.recorded_at,
                r.confidence,
                r.liveness_checked,
            ]
            for r in report.rows
        ]
    if isinstance(report, ClassReport):
        header = ["student_number", "display_name", "counted", "present", "late", "absent", "excused", "rate"]
        return header, [[r.student_number, r.display_name, *_totals_cells(r.totals)] for r in report.rows]
    zone = report.timezone
    header = ["class_code", f"starts_at ({zone})", "status", "method", f"recorded_at ({zone})"]
    return header, [[r.class_code, r.starts_at, r.status, r.method, r.recorded_at] for r in report.rows]


def title(report: Report) -> str:
    """The XLSX sheet's title: who or what the report is about and its dates (the school's), e.g.
    ``7B Maths 2026-11-02..2026-11-06``; a lesson's is its class and day."""
    if isinstance(report, LessonReport):
        return sheet_title(
            _class_label(report.class_code, report.class_name), report.starts_at.date().isoformat()
        )
    period = f"{report.date_from.isoformat()}..{report.date_to.isoformat()}"
    if isinstance(report, ClassReport):
        return sheet_title(_class_label(report.class_code, report.class_name), period)
    return sheet_title(report.display_name, period)


def file_stem(report: Report) -> str:
    kind, row_id = _subject(report)
    return f"attendance-{kind}-{row_id}"


# ---------------------------------------------------------------------- helpers


def _subject(report: Report) -> tuple[str, uuid.UUID]:
    if isinstance(report, LessonReport):
        return "lesson", report.lesson_id
    if isinstance(report, ClassReport):
        return "class", report.class_id
    return "student", report.student_id


def _joined(session: Session, class_id: uuid.UUID) -> dict[uuid.UUID, datetime]:
    """When each current member joined the class."""
    query = select(col(ClassMember.student_id), col(ClassMember.added_at)).where(
        col(ClassMember.class_id) == class_id
    )
    return dict(session.execute(query).all())


def _lessons(
    session: Session, class_ids: Sequence[uuid.UUID], timezone: str, first: date, last: date
) -> list[Lesson]:
    if not class_ids:
        return []
    start, end = local_range(timezone, first, last)
    query = (
        select(Lesson)
        .where(
            col(Lesson.class_id).in_(class_ids),
            col(Lesson.starts_at) >= start,
            col(Lesson.starts_at) < end,
        )
        .order_by(col(Lesson.starts_at))
    )
    return list(session.scalars(query))


def _records(
    session: Session, lesson_ids: Sequence[uuid.UUID], student_id: uuid.UUID | None = None
) -> dict[tuple[uuid.UUID, uuid.UUID], Attendance]:
    if not lesson_ids:
        return {}
    query = select(Attendance).where(col(Attendance.lesson_id).in_(lesson_ids))
    if student_id is not None:
        query = query.where(col(Attendance.student_id) == student_id)
    return {(r.lesson_id, r.student_id): r for r in session.scalars(query)}


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _class_label(code: str, name: str) -> str:
    """``7B Maths``; just the name when it already holds the code (``Class 7B``)."""
    return name if code in name else f"{code} {name}"


def _decide(
    record: Attendance | None, lesson: Lesson, now: datetime, joined_at: datetime | None = None
) -> str | None:
    """The status that counts, or None when this pair counts for nothing (yet): see the module docstring."""
    if record is not None:
        return record.status.value
    over = lesson.closed_at is not None or lesson.ends_at <= now
    member_then = joined_at is not None and joined_at <= lesson.over_at
    return ABSENT if over and member_then else None


def _totals(statuses: Iterable[str]) -> Totals:
    counts = Counter(status for status in statuses if status != PENDING)
    counted = sum(counts.values())
    attended = counts[AttendanceStatus.present.value] + counts[AttendanceStatus.late.value]
    return Totals(
        counted=counted,
        present=counts[AttendanceStatus.present.value],
        late=counts[AttendanceStatus.late.value],
        absent=counts[ABSENT],
        excused=counts[AttendanceStatus.excused.value],
        rate=round(attended / counted, 4) if counted else None,
    )


def _totals_cells(totals: Totals) -> list[object]:
    return [totals.counted, totals.present, totals.late, totals.absent, totals.excused, totals.rate]


def _unknown_faces(cache: CheckinCache | None, lesson_id: uuid.UUID) -> int | None:
    """From Redis; a report still answers (with None) while Redis is down."""
    if cache is None:
        return None
    try:
        return cache.unknown_count(lesson_id)
    except redis.RedisError as exc:
        log.warning("unknown-face count unavailable: %s", type(exc).__name__)
        return None
