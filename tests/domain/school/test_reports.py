"""Reports over a small term: rates and late counts per session, class and student; pending lessons count
for nothing; CSV and XLSX exports carry the same rows (with formulas neutralised); filters are checked."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import select, update

from app.api.main import create_app
from app.api.security import authenticate
from app.container import build_container
from app.core.config import Settings
from app.core.enums import AttendanceStatus, CheckinMethod
from app.core.errors import Forbidden, InvalidInput
from app.db.tables import Attendance, ClassMember, Lesson, NotificationEvent, utcnow
from app.notifications import events
from app.services.school import reports
from app.services.school.exports import csv_chunks, sheet_title, xlsx_chunks
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
    late = world.db.get(Attendance, report.rows[0].attendance_id)  # the row opens its record's history
    assert late is not None and late.student_id == wolfowitz.id and report.rows[2].attendance_id is None
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


# ---------------------------------------------------------------------- the school's time zone (issue 19)

NEW_YORK = "America/New_York"


@pytest.fixture
def late_lessons(world: World) -> list[Lesson]:
    """7B in New York, three lessons whose UTC dates are not their local ones: Monday 2 November 23:30 (3
    November in UTC), Sunday 8 November 23:30 (Monday 9 in UTC: another week), Tuesday 10 November 09:00;
    Lagos checked in to the first at 23:35."""
    world.school.timezone = NEW_YORK
    world.db.execute(update(ClassMember).values(added_at=datetime(2026, 10, 1, tzinfo=UTC)))
    starts = [datetime(2026, 11, 3, 4, 30), datetime(2026, 11, 9, 4, 30), datetime(2026, 11, 10, 14, 0)]
    lessons = [
        Lesson(
            class_id=world.klass.id,
            starts_at=start.replace(tzinfo=UTC),
            ends_at=start.replace(tzinfo=UTC) + timedelta(minutes=45),
            room="R1",
        )
        for start in starts
    ]
    world.db.add_all([world.school, *lessons])
    world.db.flush()
    world.db.add(
        Attendance(
            lesson_id=lessons[0].id,
            student_id=world.students[0].id,
            status=AttendanceStatus.present,
            method=CheckinMethod.manual,
            recorded_by=world.teacher.actor,
            recorded_at=datetime(2026, 11, 3, 4, 35, tzinfo=UTC),
        )
    )
    world.db.commit()
    return lessons


def test_dates_and_weeks_are_the_schools_days(world: World, late_lessons: list[Lesson]) -> None:
    def class_report(first: date, last: date) -> reports.ClassReport:
        return reports.class_report(world.db, world.admin, world.klass.id, first, last, max_days=366)

    week = class_report(date(2026, 11, 2), date(2026, 11, 8))
    assert (week.timezone, week.lessons) == (NEW_YORK, 2)  # in UTC: 3 and 9 November, one not in this week
    assert class_report(date(2026, 11, 3), date(2026, 11, 3)).lessons == 0
    term = class_report(date(2026, 11, 1), date(2026, 11, 14))
    assert [(w.week_start, w.lessons, w.totals.counted) for w in term.weeks] == [
        (date(2026, 11, 2), 2, 6),
        (date(2026, 11, 9), 1, 3),
    ]
    assert term.weeks[0].totals.present == 1 and term.totals.counted == 9


def test_times_carry_the_schools_offset_in_json_csv_and_xlsx(
    world: World, late_lessons: list[Lesson]
) -> None:
    lesson = reports.lesson_report(world.db, world.teacher, late_lessons[0].id)
    document = json.loads(lesson.model_dump_json())
    assert (document["timezone"], document["starts_at"]) == (NEW_YORK, "2026-11-02T23:30:00-05:00")
    lagos = next(row for row in document["rows"] if row["display_name"] == "Lagos T.")
    assert lagos["recorded_at"] == "2026-11-02T23:35:00-05:00"

    header, rows = reports.table(lesson)
    assert header[4] == "recorded_at (America/New_York)"
    zone = ZoneInfo(lesson.timezone)
    parsed = list(csv.reader(io.StringIO(b"".join(csv_chunks(header, rows, zone)).decode("utf-8-sig"))))
    assert [line[4] for line in parsed if line[1] == "Lagos T."] == ["2026-11-02T23:35:00-05:00"]
    utc = list(csv.reader(io.StringIO(b"".join(csv_chunks(header, rows)).decode("utf-8-sig"))))
    assert [line[4] for line in utc if line[1] == "Lagos T."] == ["2026-11-03T04:35:00+00:00"]  # the default
    sheet = load_workbook(io.BytesIO(b"".join(xlsx_chunks(reports.title(lesson), header, rows, zone)))).active
    assert sheet.title == "Class 7B 2026-11-02"  # the class and the lesson's local day
    assert [r[4] for r in sheet.iter_rows(values_only=True) if r[1] == "Lagos T."] == [
        datetime(2026, 11, 2, 23, 35)
    ]

    student = reports.student_report(
        world.db, world.admin, world.students[0].id, date(2026, 11, 1), date(2026, 11, 14), max_days=366
    )
    assert student.timezone == NEW_YORK
    assert [row.starts_at.isoformat() for row in student.rows] == [
        "2026-11-02T23:30:00-05:00",
        "2026-11-08T23:30:00-05:00",
        "2026-11-10T09:00:00-05:00",
    ]
    assert reports.table(student)[0][1] == "starts_at (America/New_York)"
    assert reports.title(student) == "Lagos T. 2026-11-01..2026-11-14"


def test_sheet_titles_keep_excels_rules_and_the_dates_whole() -> None:
    period = "2026-11-02..2026-11-06"
    assert sheet_title("7B Maths", period) == "7B Maths 2026-11-02..2026-11-06"  # exactly 31
    long = sheet_title("10C/Advanced [Physics]: *mechanics?*", period)
    assert len(long) == 31 and long.endswith(" " + period) and long.startswith("10C Adv")
    assert not set("[]:*?/\\") & set(long) and "\u2026" in long
    assert sheet_title("'quoted'", "2026-11-02") == "quoted 2026-11-02"
    assert sheet_title("::", period) == period


def test_the_xlsx_download_is_named_for_its_class_and_dates(
    world: World, late_lessons: list[Lesson], settings: Settings, pg_url: str, redis_url: str
) -> None:
    app = create_app(
        build_container(settings.model_copy(update={"database_url": pg_url, "redis_url": redis_url}))
    )
    app.dependency_overrides[authenticate] = lambda: world.admin
    with TestClient(app) as client:
        response = client.get(
            f"/v1/reports/classes/{world.klass.id}",
            params={"from": "2026-11-02", "to": "2026-11-08", "format": "xlsx"},
        )
        assert response.status_code == 200, response.text
        assert load_workbook(io.BytesIO(response.content)).sheetnames == ["Class 7B 2026-11-02..2026-11-08"]
        student_csv = client.get(
            f"/v1/reports/students/{world.students[0].id}",
            params={"from": "2026-11-02", "to": "2026-11-02", "format": "csv"},
        )
        assert student_csv.status_code == 200, student_csv.text
        table = list(csv.reader(io.StringIO(student_csv.content.decode("utf-8-sig"))))
        assert table == [
            [
                "class_code",
                "starts_at (America/New_York)",
                "status",
                "method",
                "recorded_at (America/New_York)",
            ],
            ["7B", "2026-11-02T23:30:00-05:00", "present", "manual", "2026-11-02T23:35:00-05:00"],
        ]
        as_json = client.get(f"/v1/reports/classes/{world.klass.id}", params={"from": "2026-11-02"}).json()
        assert as_json["timezone"] == NEW_YORK and as_json["weeks"][0]["week_start"] == "2026-11-02"
