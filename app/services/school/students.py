"""Students: the office manages them; teachers see those in their classes; a student sees only themself.

Deleting a student erases them: biometric data everywhere first
(``services.privacy.consent.erase_biometrics``, shared with consent withdrawal), then their attendance
history and the rest. A student who still has a sign-in account cannot be deleted until that account is
(409), so no user is left pointing nowhere.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ColumnElement, delete, or_, select
from sqlmodel import Session, col

from app.core.enums import EnrollmentStatus, Role
from app.core.errors import Conflict
from app.db.tables import Attendance, AttendanceChange, CheckinCode, ClassMember, Consent, Student, User
from app.schemas.common import Page, PageParams
from app.schemas.students import StudentCreate, StudentPublic, StudentUpdate
from app.services.crud import apply_update, flush_or_conflict, paginate
from app.services.identity import access
from app.services.identity.principal import Principal
from app.services.privacy.activity import log_action, target
from app.services.privacy.disclosure import limited_view, pseudonymise


def student_matches(pattern: str) -> ColumnElement[bool]:
    """Search: the student number or any part of the name contains the (LIKE-escaped) pattern."""
    return or_(
        col(Student.student_number).ilike(pattern),
        col(Student.first_name).ilike(pattern),
        col(Student.last_name).ilike(pattern),
        col(Student.display_name).ilike(pattern),
    )


def list_students(
    session: Session,
    principal: Principal,
    params: PageParams,
    *,
    class_id: uuid.UUID | None = None,
    enrollment_status: EnrollmentStatus | None = None,
    active: bool | None = None,
) -> Page[StudentPublic]:
    """The students the caller may see (a student: just themself), searched and filtered, by name."""
    query = select(Student).where(
        col(Student.school_id) == principal.school_id, access.student_visible(principal)
    )
    if class_id is not None:
        access.get_class(session, principal, class_id)
        query = query.where(
            col(Student.id).in_(
                select(col(ClassMember.student_id)).where(col(ClassMember.class_id) == class_id)
            )
        )
    if enrollment_status is not None:
        query = query.where(col(Student.enrollment_status) == enrollment_status)
    if active is not None:
        query = query.where(col(Student.active) == active)
    if pattern := params.like():
        query = query.where(student_matches(pattern))
    query = query.order_by(col(Student.last_name), col(Student.first_name), col(Student.id))
    # Listings show the limited view to everyone (services.disclosure): full records one at a time only.
    return paginate(session, query, params, limited_view)


def get_student(session: Session, principal: Principal, student_id: uuid.UUID) -> Student:
    return access.get_student(session, principal, student_id)


def new_student(principal: Principal, data: StudentCreate) -> Student:
    """The row for ``data`` (not yet added): shared by create and the CSV import."""
    return Student(
        school_id=principal.school_id,
        student_number=data.student_number,
        first_name=data.first_name,
        last_name=data.last_name,
        display_name=data.shown_name(),
        birth_date=data.birth_date,
        guardian_email=data.guardian_email,
    )


def create_student(
    session: Session, principal: Principal, data: StudentCreate, request_id: str | None
) -> Student:
    access.require_role(principal, Role.admin)
    _check_number_free(session, principal, data.student_number)
    student = new_student(principal, data)
    session.add(student)
    flush_or_conflict(session, f"student number {data.student_number!r}", field="student_number")
    log_action(session, principal, "student.create", target("student", student.id), request_id)
    return student


def update_student(
    session: Session, principal: Principal, student_id: uuid.UUID, data: StudentUpdate, request_id: str | None
) -> Student:
    access.require_role(principal, Role.admin)
    student = access.get_student(session, principal, student_id)
    if data.student_number is not None and data.student_number != student.student_number:
        _check_number_free(session, principal, data.student_number)
    changes = apply_update(
        student, data, required=("student_number", "first_name", "last_name", "display_name", "active")
    )
    flush_or_conflict(session, f"student number {student.student_number!r}", field="student_number")
    if changes:
        log_action(
            session,
            principal,
            "student.update",
            target("student", student.id),
            request_id,
            fields=sorted(changes),
        )
    return student


def delete_student_records(session: Session, student: Student) -> None:
    """Delete every row of the student but the biometric ones (``services.privacy.consent.delete_student``
    erases those, and audits the whole erasure)."""
    if session.scalars(select(col(User.id)).where(col(User.student_id) == student.id)).first() is not None:
        raise Conflict(
            "the student still has a sign-in account; delete it first",
            code="in_use",
            student_id=str(student.id),
        )
    attendance_ids = select(col(Attendance.id)).where(col(Attendance.student_id) == student.id)
    statements: list[Any] = [
        delete(AttendanceChange).where(col(AttendanceChange.attendance_id).in_(attendance_ids)),
        delete(Attendance).where(col(Attendance.student_id) == student.id),
        delete(CheckinCode).where(col(CheckinCode.student_id) == student.id),
        delete(ClassMember).where(col(ClassMember.student_id) == student.id),
        delete(Consent).where(col(Consent.student_id) == student.id),
    ]
    for statement in statements:
        session.execute(statement)
    pseudonymise(session, student.id)  # the disclosure log outlives the record, without its id
    session.delete(student)
    flush_or_conflict(session, "the student")


def _check_number_free(session: Session, principal: Principal, number: str) -> None:
    taken = session.scalars(
        select(col(Student.id)).where(
            col(Student.school_id) == principal.school_id, col(Student.student_number) == number
        )
    ).first()
    if taken is not None:
        raise Conflict(
            f"student number {number!r} is already taken",
            code="duplicate",
            field="student_number",
            value=number,
        )
