"""Bulk CSV import: all rows or none, with every problem reported by line and column."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.core.errors import Forbidden, InvalidInput
from app.db.tables import ClassMember, Student
from app.services.school.imports import import_students
from tests.domain.school.conftest import World

HEADER = "student_number,first_name,last_name,display_name,birth_date,guardian_email,class_codes\n"


def count_students(world: World) -> int:
    return world.db.scalar(
        select(func.count()).select_from(Student).where(Student.school_id == world.school.id)
    )


def run(world: World, text: str, **options: object) -> object:
    return import_students(world.db, world.admin, text.encode(), max_rows=100, **options)


def test_a_clean_file_imports_every_row_with_memberships(world: World) -> None:
    text = (
        "\ufeff"  # the BOM Excel writes
        + HEADER
        + "A1,Ann,Able,,2012-05-01,parent@example.org,7B;8A\n"
        + '"A2","Bob","Baker, Jr.","Bobby",,,\n'
        + "\n"  # blank lines are skipped
        + "A3,Cem,Cole,,,,7B\n"
    )
    before = count_students(world)
    report = run(world, text)
    world.db.commit()
    assert (report.rows, report.imported, report.memberships, report.errors) == (3, 3, 3, [])
    assert count_students(world) == before + 3
    bob = world.db.scalars(select(Student).where(Student.student_number == "A2")).one()
    assert (bob.last_name, bob.display_name) == ("Baker, Jr.", "Bobby")
    members = world.db.scalar(
        select(func.count()).select_from(ClassMember).where(ClassMember.class_id == world.klass.id)
    )
    assert members == 3 + 2


def test_any_bad_row_rejects_the_whole_file_with_a_report(world: World) -> None:
    text = (
        HEADER
        + "B1,Ann,Able,,,,\n"  # fine
        + "B2,,Baker,,,,\n"  # first name missing
        + "B1,Dup,Licate,,,,\n"  # number repeated in the file
        + "lagos,Al,Ready,,,,\n"  # number already in the school
        + "B5,Eve,Early,,not-a-date,bad-email,\n"  # two problems on one line
        + "B6,Fay,Far,,,,NOPE\n"  # unknown class code
        + "B7,Gus,Grey,,,,,extra\n"  # more cells than the header
    )
    before = count_students(world)
    with pytest.raises(InvalidInput) as rejected:
        run(world, text)
    world.db.rollback()
    assert rejected.value.code == "import_rejected"
    errors = rejected.value.details["errors"]
    found = {(e["row"], e["field"], e["code"], e["value"]) for e in errors}
    assert found == {
        (3, "first_name", "invalid_value", None),
        (4, "student_number", "repeated_number", "B1"),
        (5, "student_number", "number_taken", "lagos"),
        (6, "birth_date", "invalid_value", None),
        (6, "guardian_email", "invalid_value", None),
        (7, "class_codes", "unknown_class", "NOPE"),
        (8, None, "extra_cells", None),
    }
    assert rejected.value.details["imported"] == 0
    assert count_students(world) == before  # nothing half-imported


def test_dry_run_validates_without_writing(world: World) -> None:
    before = count_students(world)
    report = run(world, HEADER + "C1,Ann,Able,,,,\n", dry_run=True)
    assert (report.rows, report.imported, report.dry_run) == (1, 0, True)
    assert count_students(world) == before


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"\xff\xfe not utf-8", "invalid_csv"),
        (b"number,first\nX,Y\n", "invalid_csv"),  # wrong header
        (HEADER.encode() + b"D1,A,B,,,,\n" * 101, "too_many_rows"),
    ],
)
def test_unusable_files_are_refused(world: World, data: bytes, code: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        import_students(world.db, world.admin, data, max_rows=100)
    assert refused.value.code == code


def test_only_admins_import(world: World) -> None:
    with pytest.raises(Forbidden):
        import_students(world.db, world.teacher, HEADER.encode(), max_rows=10)
