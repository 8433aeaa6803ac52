"""Reports over a small term: rates and late counts per session, class and student; pending lessons count
for nothing; CSV and XLSX exports carry the same rows (with formulas neutralised); filters are checked."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, update

from app.core.enums import AttendanceStatus, CheckinMethod
from app.core.errors import Forbidden, InvalidInput
from app.db.tables import Attendance, ClassMember, Lesson, NotificationEvent, utcnow
from app.notifications import events
from app.services.school import reports
from app.services.school.exports import csv_chunks, xlsx_chunks
from tests.domain.school.conftest import World

P, L, A, E = "present", "late", "absent", "excused"


@dataclass
class Term:
    world: World
    lessons: list[Lesson]


@pytest.fixture
def term(world: World) -> Term:
    """Four lessons of 7B: two days ago, yesterday, now (running), tomorrow; members since last month."""
    world.db.execute(update(ClassMember).values(added_at=utcnow() - timedelta(days=30)))
    world.db.commit()
    s1, s2 = world.lesson(started_min_ago=2 * 1440), world.lesson(started_min_ago=1440)
    s3, s4 = world.lesson(started_min_ago=5), world.lesson(started_min_ago=-1440)
    lagos, wolfowitz, lopez = world.students
    marks = [
        (s1, lagos, P),
        (s2, lagos, L),
        (s3, lagos, P),
        (s1, wolfowitz, L),
        (s1, lopez, E),
    ]
    for lesson, student, status in marks:
        world.db.add(
            Attendance(
                lesson_id=lesson.id,
                student_id=student.id,
                status=AttendanceStatus(status),
                method=CheckinMethod.manual,
                recorded_by=world.teacher.actor,
            )
        )
    world.db.commit()
    return Term(world, [s1, s2, s3, s4])


def window() -> tuple[date, date]:
    today = utcnow().date()
    return today - timedelta(days=5), today + timedelta(days=5)


def test_session_report(term: Term) -> None:
    world = term.world
    s1, s2, s3, _ = term.lessons
    report = reports.lesson_report(world.db, world.teacher, s2.id)
    assert [(r.display_name, r.status) for r in report.rows] == [
        ("Lagos T.", L),
        ("Lopez T.", A),
        ("Wolfowitz T.", A),
    ]
    assert (report.totals.counted, report.totals.late, report.totals.absent, report.totals.rate) == (
        3,
        1,
        2,
        0.3333,
    )
    running = reports.lesson_report(world.db, world.admin, s3.id)
    assert [r.status for r in running.rows] == [P, "pending", "pending"]
    assert running.totals.counted == 1
    with pytest.raises(Forbidden):
        reports.lesson_report(world.db, world.other_teacher, s1.id)


def test_who_joined_after_a_lesson_was_over_is_not_expected_at_it(term: Term) -> None:
    """A student added to the class after a lesson ended is not listed in it (not "pending", not absent);
    one added after a lesson was closed early neither, and gets no absence notice; the running lesson
    expects them."""
    world = term.world
    _, s2, s3, _ = term.lessons
    early = world.lesson(started_min_ago=30, minutes=45)  # would end in 15 minutes...
    early.closed_at = utcnow() - timedelta(minutes=10)  # ...closed 10 minutes ago
    world.db.add(early)
    world.db.commit()
    newcomer = world.student("newcomer", member_of=world.klass)  # joins now
    for lesson in (s2, early):
        rows = reports.lesson_report(world.db, world.teacher, lesson.id).rows
        assert "Newcomer T." not in [row.display_name for row in rows]
    running = reports.lesson_report(world.db, world.teacher, s3.id).rows
    assert ("Newcomer T.", "pending") in [(row.display_name, row.status) for row in running]
    events.lesson_over(world.db, early)
    world.db.commit()
    absent = world.db.scalars(
        select(NotificationEvent.student_id).where(
            NotificationEvent.lesson_id == early.id, NotificationEvent.kind == events.ABSENT
        )
    ).all()
    assert newcomer.id not in absent and len(absent) == 3


def test_class_report_rates_and_late_counts(term: Term) -> None:
    world = term.world
    first, last = window()
    report = reports.class_report(world.db, world.teacher, world.klass.id, first, last, max_days=366)
    by_name = {r.display_name: r.totals for r in report.rows}
    assert (by_name["Lagos T."].counted, by_name["Lagos T."].late, by_name["Lagos T."].rate) == (3, 1, 1.0)
    assert (
        by_name["Wolfowitz T."].counted,
        by_name["Wolfowitz T."].absent,
        by_name["Wolfowitz T."].rate,
    ) == (2, 1, 0.5)
    assert (by_name["Lopez T."].excused, by_name["Lopez T."].rate) == (1, 0.0)
    assert report.lessons == 4
    assert (report.totals.counted, report.totals.present, report.totals.late) == (7, 2, 2)
    assert report.totals.rate == round(4 / 7, 4)
    with pytest.raises(Forbidden):
        reports.class_report(world.db, world.other_teacher, world.klass.id, first, last, max_days=366)
    with pytest.raises(Forbidden):  # students read their own report, not their class's
        reports.class_report(world.db, world.student_user, world.klass.id, first, last, max_days=366)


def test_student_report_for_the_student_themself(term: Term) -> None:
    world = term.world
    first, last = window()
    wolfowitz = world.students[1]
    report = reports.student_report(world.db, world.admin, wolfowitz.id, first, last, max_days=366)
    assert [r.status for r in report.rows] == [L, A, "pending", "pending"]
    assert (report.totals.counted, report.totals.rate) == (2, 0.5)
    own = reports.student_report(
        world.db, world.student_user, world.students[0].id, first, last, max_days=366
    )
    assert own.totals.counted == 3
    with pytest.raises(Forbidden):
        reports.student_report(world.db, world.student_user, wolfowitz.id, first, last, max_days=366)


def test_filters_are_validated(term: Term) -> None:
    world = term.world
    today = utcnow().date()
    with pytest.raises(InvalidInput):
        reports.class_report(
            world.db, world.admin, world.klass.id, today, today - timedelta(days=1), max_days=366
        )
    with pytest.raises(InvalidInput):
        reports.class_report(
            world.db, world.admin, world.klass.id, today - timedelta(days=400), today, max_days=366
        )
    default = reports.class_report(world.db, world.admin, world.klass.id, None, None, max_days=366)
    assert (default.date_to - default.date_from).days == 29


def test_exports_carry_the_same_rows(term: Term) -> None:
    world = term.world
    world.students[0].display_name = "=HYPERLINK(evil)"
    world.db.commit()
    first, last = window()
    report = reports.class_report(world.db, world.admin, world.klass.id, first, last, max_days=366)
    header, rows = reports.table(report)
    text = b"".join(csv_chunks(header, rows)).decode("utf-8-sig")
    parsed = list(csv.reader(io.StringIO(text)))
    assert parsed[0] == header and len(parsed) == 1 + len(report.rows)
    assert "'=HYPERLINK(evil)" in {line[1] for line in parsed}
    workbook = load_workbook(io.BytesIO(b"".join(xlsx_chunks("7B", header, rows))))
    sheet = workbook.active
    values = list(sheet.iter_rows(values_only=True))
    assert list(values[0]) == header and len(values) == 1 + len(report.rows)
    lagos_row = next(v for v in values if v[1] == "'=HYPERLINK(evil)")
    assert lagos_row[2:5] == (3, 2, 1)  # counted, present, late
