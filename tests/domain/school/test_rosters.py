"""Schools, classes, members, lessons and students through the services, on a real PostgreSQL: validation,
paging and search, who sees what (teachers their classes, students themselves), 404/403/409."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from app.core.enums import Role
from app.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from app.db.tables import AuditEvent, ClassMember
from app.schemas.classes import ClassCreate, ClassUpdate, LessonCreate, LessonUpdate
from app.schemas.common import PageParams
from app.schemas.schools import SchoolUpdate
from app.schemas.students import StudentCreate, StudentUpdate
from app.services.identity.principal import Principal
from app.services.school import classes, lessons, schools, students
from tests.domain.school.conftest import World


def commit(world: World) -> None:
    world.db.commit()


def test_create_student_validates_and_refuses_duplicate_numbers(world: World) -> None:
    created = students.create_student(
        world.db,
        world.admin,
        StudentCreate(student_number="S-100", first_name=" Ada ", last_name="Lovelace"),
        "r1",
    )
    commit(world)
    assert created.display_name == "Ada Lovelace"  # trimmed, and defaulted from the names
    with pytest.raises(Conflict) as duplicate:
        students.create_student(
            world.db, world.admin, StudentCreate(student_number="S-100", first_name="B", last_name="C"), "r2"
        )
    assert duplicate.value.code == "duplicate"
    world.db.rollback()
    with pytest.raises(ValidationError):
        StudentCreate(student_number="has space", first_name="A", last_name="B")
    with pytest.raises(ValidationError):
        StudentCreate(student_number="S1", first_name="A", last_name="B", birth_date=date(2999, 1, 1))
    with pytest.raises(ValidationError):
        StudentCreate(student_number="S1", first_name="A", last_name="B", guardian_email="not-an-email")
    actions = world.db.scalars(select(AuditEvent.action).where(AuditEvent.school_id == world.school.id)).all()
    assert "student.create" in actions


def test_only_admins_create_and_update_students(world: World) -> None:
    data = StudentCreate(student_number="S-2", first_name="A", last_name="B")
    with pytest.raises(Forbidden):
        students.create_student(world.db, world.teacher, data, None)
    with pytest.raises(Forbidden):
        students.update_student(
            world.db, world.teacher, world.students[0].id, StudentUpdate(first_name="X"), None
        )


def test_update_student_changes_only_what_was_sent(world: World) -> None:
    target = world.students[1]
    updated = students.update_student(
        world.db,
        world.admin,
        target.id,
        StudentUpdate(display_name="Paul W.", guardian_email="g@example.org"),
        None,
    )
    commit(world)
    assert (updated.display_name, updated.guardian_email, updated.first_name) == (
        "Paul W.",
        "g@example.org",
        "Wolfowitz",
    )
    with pytest.raises(InvalidInput):
        students.update_student(world.db, world.admin, target.id, StudentUpdate(first_name=None), None)
    world.db.rollback()
    with pytest.raises(Conflict):  # another student's number
        students.update_student(
            world.db, world.admin, target.id, StudentUpdate(student_number="outsider"), None
        )


def test_listing_pages_and_searches(world: World) -> None:
    for n in range(12):
        world.student(f"bulk{n:02d}")
    page = students.list_students(world.db, world.admin, PageParams(limit=5, offset=0))
    assert (page.total, len(page.items), page.limit) == (16, 5, 5)
    rest = students.list_students(world.db, world.admin, PageParams(limit=50, offset=15))
    assert len(rest.items) == 1
    found = students.list_students(world.db, world.admin, PageParams(q="BULK1"))
    assert {s.student_number for s in found.items} == {"bulk10", "bulk11"}
    # LIKE wildcards in the search term are literal characters, not patterns
    assert students.list_students(world.db, world.admin, PageParams(q="%")).total == 0
    in_class = students.list_students(world.db, world.admin, PageParams(), class_id=world.klass.id)
    assert {s.student_number for s in in_class.items} == {"lagos", "wolfowitz", "lopez"}


def test_teachers_see_only_their_classes_and_students(world: World) -> None:
    mine = classes.list_classes(world.db, world.teacher, PageParams())
    assert [c.code for c in mine.items] == ["7B"]
    visible = students.list_students(world.db, world.teacher, PageParams())
    assert {s.student_number for s in visible.items} == {"lagos", "wolfowitz", "lopez"}
    with pytest.raises(Forbidden):
        students.get_student(world.db, world.teacher, world.outsider.id)
    with pytest.raises(Forbidden):
        classes.get_class(world.db, world.teacher, world.other_class.id)
    with pytest.raises(Forbidden):
        classes.list_members(world.db, world.teacher, world.other_class.id, PageParams())
    assert classes.list_members(world.db, world.teacher, world.klass.id, PageParams()).total == 3


def test_students_see_only_themselves(world: World) -> None:
    me = world.student_user
    listed = students.list_students(world.db, me, PageParams())
    assert [s.id for s in listed.items] == [world.students[0].id]
    assert students.get_student(world.db, me, world.students[0].id).id == world.students[0].id
    with pytest.raises(Forbidden):
        students.get_student(world.db, me, world.students[1].id)
    assert [c.code for c in classes.list_classes(world.db, me, PageParams()).items] == ["7B"]
    with pytest.raises(Forbidden):  # not the list of classmates
        classes.list_members(world.db, me, world.klass.id, PageParams())


def test_other_schools_rows_are_not_found(world: World) -> None:
    elsewhere = Principal(kind="user", id=uuid.uuid4(), school_id=uuid.uuid4(), role=Role.admin)
    with pytest.raises(NotFound):
        students.get_student(world.db, elsewhere, world.students[0].id)
    with pytest.raises(NotFound):
        classes.get_class(world.db, elsewhere, world.klass.id)
    with pytest.raises(NotFound):
        students.get_student(world.db, world.admin, uuid.uuid4())
    with pytest.raises(NotFound):
        schools.get_school(world.db, elsewhere, world.school.id)


def test_school_update_checks_timezone_and_role(world: World) -> None:
    with pytest.raises(ValidationError):
        SchoolUpdate(timezone="Mars/Olympus")
    updated = schools.update_school(
        world.db, world.admin, world.school.id, SchoolUpdate(timezone="UTC"), None
    )
    assert updated.timezone == "UTC"
    with pytest.raises(Forbidden):
        schools.update_school(world.db, world.teacher, world.school.id, SchoolUpdate(name="X"), None)


def test_class_crud_membership_and_conflicts(world: World) -> None:
    created = classes.create_class(
        world.db,
        world.admin,
        ClassCreate(code="9C", name="Class 9C", teacher_id=world.teacher.id, room="R9"),
        None,
    )
    commit(world)
    with pytest.raises(Conflict):
        classes.create_class(world.db, world.admin, ClassCreate(code="9C", name="Again"), None)
    world.db.rollback()
    with pytest.raises(NotFound):
        classes.update_class(world.db, world.admin, created.id, ClassUpdate(teacher_id=uuid.uuid4()), None)
    world.db.rollback()
    assert classes.add_member(world.db, world.admin, created.id, world.outsider.id, None) is True
    assert classes.add_member(world.db, world.admin, created.id, world.outsider.id, None) is False
    commit(world)
    assert world.db.get(ClassMember, (created.id, world.outsider.id)) is not None
    classes.remove_member(world.db, world.admin, created.id, world.outsider.id, None)
    with pytest.raises(NotFound):
        classes.remove_member(world.db, world.admin, created.id, world.outsider.id, None)
    world.db.rollback()
    with pytest.raises(Forbidden):
        classes.add_member(world.db, world.teacher, created.id, world.outsider.id, None)
    lessons.create_lesson(world.db, world.admin, created.id, _times(), None)
    commit(world)
    with pytest.raises(Conflict) as in_use:
        classes.delete_class(world.db, world.admin, created.id, None)
    assert in_use.value.code == "in_use"


def _times(start: datetime | None = None, minutes: int = 45) -> LessonCreate:
    start = start or datetime(2026, 9, 1, 8, 0, tzinfo=UTC)
    return LessonCreate(starts_at=start, ends_at=start + timedelta(minutes=minutes))


def test_sessions_are_the_teachers_to_run(world: World) -> None:
    lesson = lessons.create_lesson(world.db, world.teacher, world.klass.id, _times(), None)
    commit(world)
    assert lesson.room == "R1"  # the class's room by default
    with pytest.raises(Forbidden):
        lessons.create_lesson(world.db, world.other_teacher, world.klass.id, _times(), None)
    with pytest.raises(ValidationError):
        LessonCreate(
            starts_at=datetime(2026, 9, 1, 9, tzinfo=UTC), ends_at=datetime(2026, 9, 1, 8, tzinfo=UTC)
        )
    with pytest.raises(ValidationError):  # naive times are ambiguous
        LessonCreate(starts_at=datetime(2026, 9, 1, 9), ends_at=datetime(2026, 9, 1, 10))
    with pytest.raises(InvalidInput):  # an update that would end before it starts
        lessons.update_lesson(
            world.db,
            world.teacher,
            lesson.id,
            LessonUpdate(ends_at=datetime(2026, 9, 1, 7, tzinfo=UTC)),
            None,
        )
    world.db.rollback()
    moved = lessons.update_lesson(world.db, world.teacher, lesson.id, LessonUpdate(grace_minutes=10), None)
    assert moved.grace_minutes == 10
    closed = lessons.close_lesson(world.db, world.teacher, lesson.id, None)
    assert closed.closed_at is not None
    lessons.delete_lesson(world.db, world.teacher, lesson.id, None)
    commit(world)
    with pytest.raises(NotFound):
        lessons.get_lesson(world.db, world.teacher, lesson.id)


def test_overlapping_lessons_of_a_class_in_one_room_are_refused_unless_meant(world: World) -> None:
    first = lessons.create_lesson(world.db, world.teacher, world.klass.id, _times(), None)
    commit(world)
    later = datetime(2026, 9, 1, 8, 30, tzinfo=UTC)  # starts before the first ends
    with pytest.raises(Conflict) as clash:
        lessons.create_lesson(world.db, world.teacher, world.klass.id, _times(later), None)
    assert (clash.value.code, clash.value.details["lesson_id"]) == ("lesson_overlaps", str(first.id))
    world.db.rollback()
    # back to back is no overlap; another room is another lesson; allow_overlap means it
    after = lessons.create_lesson(
        world.db, world.teacher, world.klass.id, _times(datetime(2026, 9, 1, 8, 45, tzinfo=UTC)), None
    )
    elsewhere = LessonCreate(starts_at=later, ends_at=later + timedelta(minutes=45), room="GYM")
    lessons.create_lesson(world.db, world.teacher, world.klass.id, elsewhere, None)
    meant = LessonCreate(starts_at=later, ends_at=later + timedelta(minutes=45), allow_overlap=True)
    lessons.create_lesson(world.db, world.teacher, world.klass.id, meant, None)
    commit(world)
    # moving a lesson onto another is refused the same way
    with pytest.raises(Conflict) as moved:
        lessons.update_lesson(
            world.db,
            world.teacher,
            after.id,
            LessonUpdate(starts_at=datetime(2026, 9, 1, 8, 10, tzinfo=UTC)),
            None,
        )
    assert moved.value.code == "lesson_overlaps"
    world.db.rollback()
    # ...unless meant; and a change of grace alone is never checked
    lessons.update_lesson(world.db, world.teacher, after.id, LessonUpdate(grace_minutes=2), None)
    lessons.update_lesson(
        world.db,
        world.teacher,
        after.id,
        LessonUpdate(starts_at=datetime(2026, 9, 1, 8, 10, tzinfo=UTC), allow_overlap=True),
        None,
    )
    commit(world)


def test_session_listing_filters_by_the_schools_local_dates(world: World) -> None:
    # 23:30 UTC on 1 Sept is already 2 Sept in Berlin (the school's zone)
    late = datetime(2026, 9, 1, 23, 30, tzinfo=UTC)
    lessons.create_lesson(world.db, world.teacher, world.klass.id, _times(late, minutes=30), None)
    lessons.create_lesson(
        world.db, world.teacher, world.klass.id, _times(datetime(2026, 9, 1, 8, tzinfo=UTC)), None
    )
    commit(world)
    second = lessons.list_lessons(
        world.db, world.teacher, world.klass.id, PageParams(), date(2026, 9, 2), date(2026, 9, 2)
    )
    assert [s.starts_at for s in second.items] == [late]
    with pytest.raises(InvalidInput):
        lessons.list_lessons(
            world.db, world.teacher, world.klass.id, PageParams(), date(2026, 9, 3), date(2026, 9, 2)
        )
