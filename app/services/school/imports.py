"""Bulk student import from CSV: every row is checked first, and either all rows go in or none does.

Why all-or-nothing: a half-imported roster is worse than none (the office cannot tell which rows to fix and
re-send without creating duplicates). So the whole file is validated (each row as a ``StudentCreate``, its
student number against the file and the school, its class codes against the school's classes) and every
problem is reported with its line and column; only a clean file is written, in one transaction.

Columns (header row required, any order): student_number, first_name, last_name (required); display_name,
birth_date (YYYY-MM-DD), guardian_email, class_codes (``;``-separated class codes) (optional).
"""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass

from pydantic import ValidationError
from sqlalchemy import select
from sqlmodel import Session, col

from app.core.enums import Role
from app.core.errors import InvalidInput
from app.db.tables import ClassMember, SchoolClass, Student
from app.schemas.students import ImportProblem, ImportReport, ImportRowError, StudentCreate
from app.services.crud import flush_or_conflict
from app.services.identity import access
from app.services.identity.principal import Principal
from app.services.privacy.activity import log_action
from app.services.school.students import new_student

REQUIRED = ("student_number", "first_name", "last_name")
OPTIONAL = ("display_name", "birth_date", "guardian_email", "class_codes")
_CLASS_SEPARATOR = ";"


@dataclass(slots=True)
class _Row:
    line: int
    student: StudentCreate
    class_codes: list[str]


def import_students(
    session: Session,
    principal: Principal,
    data: bytes,
    *,
    max_rows: int,
    dry_run: bool = False,
    request_id: str | None = None,
) -> ImportReport:
    """Validate the CSV and, when every row is clean and ``dry_run`` is off, create all its students.

    A file with problems raises ``InvalidInput`` (``import_rejected``) whose details carry the full report;
    nothing is written then.
    """
    access.require_role(principal, Role.admin)
    reader = _reader(data)
    errors: list[ImportRowError] = []
    rows: list[_Row] = []
    first_line: dict[str, int] = {}
    total = 0
    for record in reader:
        line = reader.line_num
        if not any((value or "").strip() for value in record.values()):
            continue  # blank lines are not rows
        total += 1
        if total > max_rows:
            raise InvalidInput(
                f"the file has more than {max_rows} rows", code="too_many_rows", max_rows=max_rows
            )
        parsed = _parse(line, record, errors)
        if parsed is None:
            continue
        number = parsed.student.student_number
        if number in first_line:
            errors.append(
                _error(
                    line,
                    "student_number",
                    "repeated_number",
                    f"{number!r} already appears on line {first_line[number]}",
                    value=number,
                )
            )
            continue
        first_line[number] = line
        rows.append(parsed)

    _check_existing_numbers(session, principal, rows, errors)
    classes = _resolve_classes(session, principal, rows, errors)
    if errors:
        report = ImportReport(rows=total, imported=0, dry_run=dry_run, errors=sorted(errors, key=_order))
        raise InvalidInput(
            f"{len(report.errors)} problem(s) found; nothing was imported",
            code="import_rejected",
            **report.model_dump(mode="json"),
        )
    if dry_run:
        return ImportReport(rows=len(rows), imported=0, dry_run=True, errors=[])

    students = [new_student(principal, row.student) for row in rows]
    session.add_all(students)
    flush_or_conflict(session, "a student number in the file")  # a concurrent insert won the race
    memberships = [
        ClassMember(class_id=classes[code], student_id=student.id)
        for row, student in zip(rows, students, strict=True)
        for code in dict.fromkeys(row.class_codes)
    ]
    session.add_all(memberships)
    session.flush()
    log_action(
        session,
        principal,
        "student.import",
        None,
        request_id,
        imported=len(students),
        memberships=len(memberships),
    )
    return ImportReport(
        rows=len(rows), imported=len(students), dry_run=False, errors=[], memberships=len(memberships)
    )


def _reader(data: bytes) -> csv.DictReader[str]:
    try:
        text = data.decode("utf-8-sig")  # Excel writes a BOM
    except UnicodeDecodeError as exc:
        raise InvalidInput("the file is not UTF-8 text", code="invalid_csv", byte=exc.start) from exc
    reader = csv.DictReader(io.StringIO(text, newline=""), restkey="_extra")
    header = [name.strip() for name in reader.fieldnames or []]
    missing = [name for name in REQUIRED if name not in header]
    unknown = [name for name in header if name not in REQUIRED + OPTIONAL]
    if missing or unknown:
        raise InvalidInput(
            "the header row must name the columns "
            + ", ".join(REQUIRED + OPTIONAL)
            + " (the first three required)",
            code="invalid_csv",
            missing=missing,
            unknown=unknown,
        )
    reader.fieldnames = header
    return reader


def _parse(line: int, record: dict[str, str | None], errors: list[ImportRowError]) -> _Row | None:
    if record.get("_extra"):
        errors.append(_error(line, None, "extra_cells", "the row has more cells than the header"))
        return None
    values = {key: (value or "").strip() for key, value in record.items() if key != "class_codes"}
    try:
        student = StudentCreate.model_validate({key: value for key, value in values.items() if value})
    except ValidationError as exc:
        for problem in exc.errors():
            field = str(problem["loc"][0]) if problem["loc"] else None
            errors.append(_error(line, field, "invalid_value", problem["msg"]))
        return None
    codes = [
        code.strip() for code in (record.get("class_codes") or "").split(_CLASS_SEPARATOR) if code.strip()
    ]
    return _Row(line, student, codes)


def _check_existing_numbers(
    session: Session, principal: Principal, rows: list[_Row], errors: list[ImportRowError]
) -> None:
    numbers = [row.student.student_number for row in rows]
    taken: set[str] = set()
    for start in range(0, len(numbers), 1000):  # bounded IN lists
        chunk = numbers[start : start + 1000]
        taken.update(
            session.scalars(
                select(col(Student.student_number)).where(
                    col(Student.school_id) == principal.school_id, col(Student.student_number).in_(chunk)
                )
            )
        )
    for row in rows:
        if row.student.student_number in taken:
            number = row.student.student_number
            errors.append(
                _error(row.line, "student_number", "number_taken", f"{number!r} already exists", value=number)
            )


def _resolve_classes(
    session: Session, principal: Principal, rows: list[_Row], errors: list[ImportRowError]
) -> dict[str, uuid.UUID]:
    wanted = {code for row in rows for code in row.class_codes}
    if not wanted:
        return {}
    found = dict(
        session.execute(
            select(col(SchoolClass.code), col(SchoolClass.id)).where(
                col(SchoolClass.school_id) == principal.school_id, col(SchoolClass.code).in_(sorted(wanted))
            )
        ).all()
    )
    for row in rows:
        for code in row.class_codes:
            if code not in found:
                errors.append(
                    _error(
                        row.line, "class_codes", "unknown_class", f"no class with code {code!r}", value=code
                    )
                )
    return found


def _error(
    line: int, field: str | None, code: ImportProblem, message: str, *, value: str | None = None
) -> ImportRowError:
    return ImportRowError(row=line, field=field, code=code, value=value, message=message)


def _order(error: ImportRowError) -> tuple[int, str]:
    return error.row, error.field or ""
