"""The console's administration in bulk, over HTTP and in the services: a weekly timetable slot made into
lessons (the school's wall-clock time across daylight saving, all or nothing, a report per date), several
students marked at once (each change kept like a single mark, all or nothing), and who may teach a class.

The school of ``world`` is in Europe/Berlin: summer time ends on 25 October 2026 and begins on 29 March."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlmodel import Session, col

from app.core.config import Settings
from app.core.enums import Role
from app.core.errors import Conflict, Forbidden, InvalidInput
from app.db.tables import Attendance, AttendanceChange, AuditEvent, Lesson, SchoolClass, User
from app.schemas.classes import LessonSeriesCreate
from app.services.biometrics.face_service import FaceService
from app.services.school import lessons
from tests.domain.school.conftest import World, make_user
from tests.domain.school.test_api import Caller, app_client, error_code


@pytest.fixture
def http(
    settings: Settings, face_service: FaceService, pg_url: str, redis_url: str
) -> Iterator[tuple[TestClient, Caller]]:
    caller = Caller()
    with app_client(settings, face_service, caller, database_url=pg_url, redis_url=redis_url) as client:
        yield client, caller


def count(db: Session, model: type, *where: object) -> int:
    db.expire_all()
    return int(db.scalar(select(func.count()).select_from(model).where(*where)) or 0)  # type: ignore[arg-type]


def actions(db: Session, action: str) -> list[dict]:
    db.expire_all()
    return list(db.scalars(select(AuditEvent.details).where(col(AuditEvent.action) == action)))


# ------------------------------------------------------------------------------------------ lesson series

AUTUMN = {
    "weekdays": ["mon", "wed"],
    "start_time": "08:00",
    "duration_minutes": 45,
    "date_from": "2026-10-19",
    "date_to": "2026-11-04",
    "skip_dates": ["2026-10-28", "2026-10-27"],  # a Wednesday of the range, and a Tuesday (no lesson anyway)
}


def test_a_weekly_series_keeps_the_schools_wall_clock_across_the_change_to_winter_time(
    world: World, http: tuple[TestClient, Caller]
) -> None:
    client, caller = http
    caller.principal = world.teacher
    url = f"/v1/classes/{world.klass.id}/lessons/recurring"
    answer = client.post(url, json=AUTUMN)
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert (report["created"], report["dry_run"], report["skipped"]) == (5, False, ["2026-10-28"])
    starts = {row["day"]: row["starts_at"] for row in report["lessons"]}
    assert starts == {  # 08:00 in Berlin: UTC+2 until 25 October, UTC+1 after
        "2026-10-19": "2026-10-19T06:00:00Z",
        "2026-10-21": "2026-10-21T06:00:00Z",
        "2026-10-26": "2026-10-26T07:00:00Z",
        "2026-11-02": "2026-11-02T07:00:00Z",
        "2026-11-04": "2026-11-04T07:00:00Z",
    }
    assert all(row["overlaps"] is None and row["lesson_id"] for row in report["lessons"])
    made = world.db.scalars(select(Lesson).where(col(Lesson.class_id) == world.klass.id)).all()
    assert {lesson.id for lesson in made} == {uuid.UUID(row["lesson_id"]) for row in report["lessons"]}
    assert {(lesson.room, lesson.grace_minutes, lesson.ends_at - lesson.starts_at) for lesson in made} == {
        ("R1", 5, timedelta(minutes=45))
    }
    listed = client.get(
        f"/v1/classes/{world.klass.id}/lessons", params={"from": "2026-10-26", "to": "2026-10-26"}
    )
    assert listed.json()["total"] == 1
    (event,) = actions(world.db, "lesson.series.create")
    assert (event["lessons"], event["date_from"], event["date_to"]) == (5, "2026-10-19", "2026-11-04")

    # The same slot again clashes on every date: refused whole, each date naming the lesson in its way.
    refused = client.post(url, json=AUTUMN)
    assert error_code(refused, 409) == "lesson_overlaps"
    details = refused.json()["error"]["details"]
    assert details["created"] == 0
    assert {row["overlaps"] for row in details["lessons"]} == {row["lesson_id"] for row in report["lessons"]}
    assert count(world.db, Lesson, col(Lesson.class_id) == world.klass.id) == 5
    # In another room it is another lesson; allow_overlap means it.
    gym = client.post(url, json=AUTUMN | {"room": "GYM", "dry_run": True})
    assert gym.status_code == 200 and gym.json()["created"] == 0
    assert all(row["lesson_id"] is None and row["overlaps"] is None for row in gym.json()["lessons"])
    meant = client.post(url, json=AUTUMN | {"allow_overlap": True})
    assert meant.status_code == 200 and meant.json()["created"] == 5
    assert all(row["overlaps"] for row in meant.json()["lessons"])  # still reported
    assert count(world.db, Lesson, col(Lesson.class_id) == world.klass.id) == 10


def test_one_clashing_date_refuses_the_whole_series_and_a_dry_run_writes_nothing(
    world: World, http: tuple[TestClient, Caller]
) -> None:
    client, caller = http
    caller.principal = world.admin
    existing = Lesson(
        class_id=world.klass.id,
        starts_at=datetime(2026, 11, 16, 7, 30, tzinfo=UTC),  # 08:30 in Berlin, the second Monday
        ends_at=datetime(2026, 11, 16, 8, 15, tzinfo=UTC),
        room="R1",
    )
    world.db.add(existing)
    world.db.commit()
    body = {"weekdays": ["mon"], "start_time": "08:00", "duration_minutes": 45,
            "date_from": "2026-11-09", "date_to": "2026-11-23"}  # fmt: skip
    url = f"/v1/classes/{world.klass.id}/lessons/recurring"
    for dry_run in (True, False):
        refused = client.post(url, json=body | {"dry_run": dry_run})
        assert error_code(refused, 409) == "lesson_overlaps"
        rows = refused.json()["error"]["details"]["lessons"]
        assert [(row["day"], row["overlaps"]) for row in rows] == [
            ("2026-11-09", None),
            ("2026-11-16", str(existing.id)),
            ("2026-11-23", None),
        ]
    assert count(world.db, Lesson, col(Lesson.class_id) == world.klass.id) == 1
    assert actions(world.db, "lesson.series.create") == []
    planned = client.post(url, json=body | {"skip_dates": ["2026-11-16"], "dry_run": True})
    assert planned.status_code == 200, planned.text
    assert [row["day"] for row in planned.json()["lessons"]] == ["2026-11-09", "2026-11-23"]
    assert count(world.db, Lesson, col(Lesson.class_id) == world.klass.id) == 1


def test_a_series_is_refused_for_bad_input_and_to_the_wrong_callers(
    world: World, http: tuple[TestClient, Caller]
) -> None:
    client, caller = http
    url = f"/v1/classes/{world.klass.id}/lessons/recurring"
    caller.principal = world.teacher
    for change, code in [
        ({"date_to": "2026-10-18"}, "invalid_range"),  # reversed
        ({"date_to": "2027-11-04"}, "invalid_range"),  # over a year
        ({"weekdays": ["tue"], "skip_dates": ["2026-10-20", "2026-10-27", "2026-11-03"]}, "invalid_range"),
        ({"weekdays": []}, "invalid_request"),
        ({"weekdays": ["someday"]}, "invalid_request"),
        ({"start_time": "08:00+01:00"}, "invalid_request"),  # the school's zone decides the offset
        ({"duration_minutes": 0}, "invalid_request"),
        ({"duration_minutes": 721}, "invalid_request"),
        ({"date_from": "0001-01-01"}, "invalid_request"),
        ({"room": "a room"}, "invalid_request"),
        ({"unknown": 1}, "invalid_request"),
    ]:
        assert error_code(client.post(url, json=AUTUMN | change), 422) == code, change
    caller.principal = world.other_teacher
    assert error_code(client.post(url, json=AUTUMN), 403) == "forbidden"
    caller.principal = world.student_user
    assert error_code(client.post(url, json=AUTUMN), 403) == "forbidden"
    caller.principal = world.admin
    missing = client.post(f"/v1/classes/{uuid.uuid4()}/lessons/recurring", json=AUTUMN)
    assert error_code(missing, 404) == "class_not_found"
    assert count(world.db, Lesson) == 0


def test_series_times_the_clocks_skip_or_repeat_follow_rfc_5545(world: World) -> None:
    """02:30 does not exist in Berlin on 29 March 2026 (it is read with the offset before the change:
    03:30 summer time) and happens twice on 25 October (the first, summer time, is meant)."""

    def first_start(day: date) -> datetime:
        data = LessonSeriesCreate(
            weekdays=["sun"], start_time=time(2, 30), duration_minutes=30, date_from=day, date_to=day
        )
        report = lessons.create_series(world.db, world.admin, world.klass.id, data, None)
        return report.lessons[0].starts_at

    assert first_start(date(2026, 3, 29)) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert first_start(date(2026, 10, 25)) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    with pytest.raises(Forbidden):
        lessons.create_series(
            world.db, world.other_teacher, world.klass.id,
            LessonSeriesCreate.model_validate(AUTUMN), None,
        )  # fmt: skip
    with pytest.raises(ValidationError):
        LessonSeriesCreate.model_validate(AUTUMN | {"start_time": "08:00Z"})
    with pytest.raises(InvalidInput) as too_long:
        lessons.create_series(
            world.db, world.admin, world.klass.id,
            LessonSeriesCreate.model_validate(AUTUMN | {"date_to": "2027-10-20"}), None,
        )  # fmt: skip
    assert too_long.value.details["max_days"] == 366
    with pytest.raises(Conflict):
        lessons.create_series(
            world.db, world.admin, world.klass.id,
            LessonSeriesCreate.model_validate(AUTUMN | {"date_from": "2026-10-25", "weekdays": ["sun"],
                                                        "start_time": "02:40", "date_to": "2026-10-25"}),
            None,
        )  # fmt: skip


# ------------------------------------------------------------------------------------------ bulk marking


def test_a_bulk_mark_keeps_each_change_like_a_single_mark(
    world: World, http: tuple[TestClient, Caller]
) -> None:
    client, caller = http
    caller.principal = world.teacher
    lesson = world.lesson()
    first, second, third = (str(student.id) for student in world.students[:3])
    url = f"/v1/lessons/{lesson.id}/attendance"
    body = {
        "reason": "roll call at the door",
        "marks": [
            {"student_id": third, "status": "excused", "reason": "doctor's note"},
            {"student_id": first, "status": "present"},
            {"student_id": second, "status": "absent"},
        ],
    }
    marked = client.post(url, json=body)
    assert marked.status_code == 200, marked.text
    assert [(r["student_id"], r["status"], r["method"]) for r in marked.json()] == [
        (third, "excused", "manual"),
        (first, "present", "manual"),
        (second, "absent", "manual"),
    ]
    changes = world.db.execute(
        select(Attendance.student_id, AttendanceChange.old_status, AttendanceChange.reason).join(
            Attendance, col(Attendance.id) == AttendanceChange.attendance_id
        )
    ).all()
    assert {(str(s), old, reason) for s, old, reason in changes} == {
        (third, None, "doctor's note"),
        (first, None, "roll call at the door"),
        (second, None, "roll call at the door"),
    }
    assert len(actions(world.db, "attendance.mark")) == 3
    # Again: an unchanged status records nothing, a new one is a correction in the record's history.
    again = {"reason": "came in late", "marks": [{"student_id": first, "status": "present"},
                                                 {"student_id": second, "status": "late"}]}  # fmt: skip
    assert client.post(url, json=again).status_code == 200
    assert len(actions(world.db, "attendance.correct")) == 1
    record = next(r for r in marked.json() if r["student_id"] == second)
    history = client.get(f"/v1/attendance/{record['id']}/changes").json()
    assert [(c["old_status"], c["new_status"], c["reason"]) for c in history] == [
        (None, "absent", "roll call at the door"),
        ("absent", "late", "came in late"),
    ]


def test_one_refused_mark_refuses_the_whole_bulk_mark(world: World, http: tuple[TestClient, Caller]) -> None:
    client, caller = http
    caller.principal = world.teacher
    lesson = world.lesson()
    url = f"/v1/lessons/{lesson.id}/attendance"
    inside = {"student_id": str(world.students[0].id), "status": "present"}
    outsider = {"student_id": str(world.outsider.id), "status": "present"}
    refused = client.post(url, json={"reason": "roll call", "marks": [inside, outsider]})
    assert error_code(refused, 403) == "forbidden"  # not a student of the teacher's: as a single mark
    assert refused.json()["error"]["details"]["student_id"] == str(world.outsider.id)
    caller.principal = world.admin
    refused = client.post(url, json={"reason": "roll call", "marks": [inside, outsider]})
    assert error_code(refused, 409) == "not_in_class"
    assert refused.json()["error"]["details"]["student_id"] == str(world.outsider.id)
    unknown = {"student_id": str(uuid.uuid4()), "status": "present"}
    assert error_code(client.post(url, json={"reason": "roll call", "marks": [inside, unknown]}), 404) == (
        "student_not_found"
    )
    assert count(world.db, Attendance) == count(world.db, AttendanceChange) == 0
    assert actions(world.db, "attendance.mark") == []
    for bad in [
        {"reason": "roll call", "marks": [inside, inside]},  # a student twice
        {"reason": "roll call", "marks": []},
        {"reason": "no", "marks": [inside]},  # too short to be a reason
        {"reason": "roll call", "marks": [inside | {"status": "asleep"}]},
        {"reason": "roll call", "marks": [inside] * 201},
    ]:
        assert error_code(client.post(url, json=bad), 422) == "invalid_request"
    caller.principal = world.other_teacher
    assert error_code(client.post(url, json={"reason": "roll call", "marks": [inside]}), 403) == "forbidden"
    caller.principal = world.student_user
    assert error_code(client.post(url, json={"reason": "roll call", "marks": [inside]}), 403) == "forbidden"
    caller.principal = world.admin
    missing = client.post(
        f"/v1/lessons/{uuid.uuid4()}/attendance", json={"reason": "roll call", "marks": [inside]}
    )
    assert error_code(missing, 404) == "lesson_not_found"
    assert count(world.db, Attendance) == 0


# ------------------------------------------------------------------------------------------ teachers


def test_a_class_is_given_only_to_an_active_teacher_of_the_school(
    world: World, http: tuple[TestClient, Caller]
) -> None:
    client, caller = http
    caller.principal = world.admin
    url = f"/v1/classes/{world.klass.id}"
    leaver = make_user(world.db, world.school, Role.teacher)
    row = world.db.get(User, leaver.id)
    assert row is not None
    row.is_active = False
    world.db.commit()
    for user_id in (leaver.id, world.student_user.id, uuid.uuid4()):
        refused = client.patch(url, json={"teacher_id": str(user_id)})
        assert error_code(refused, 404) == "teacher_not_found", user_id
    assigned = client.patch(url, json={"teacher_id": str(world.other_teacher.id)})
    assert assigned.status_code == 200 and assigned.json()["teacher_id"] == str(world.other_teacher.id)
    caller.principal = world.teacher
    assert error_code(client.patch(url, json={"teacher_id": str(world.teacher.id)}), 403) == "forbidden"
    world.db.expire_all()
    klass = world.db.get(SchoolClass, world.klass.id)
    assert klass is not None and klass.teacher_id == world.other_teacher.id
