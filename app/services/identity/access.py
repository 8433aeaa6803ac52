"""Who may see and change what, decided on rows the caller addresses, for every service in one place.

Rules (the issue's, made precise):
- Everything belongs to one school. A row of another school answers "not found", exactly like a missing one:
  a caller learns nothing about other tenants, not even that an id exists there.
- Admins see and manage everything in their school.
- Teachers see the classes they teach, those classes' lessons, and the students in them; they manage
  attendance, consent and enrollment for those students, and the lessons of their classes. Creating
  students and classes, and changing membership, is the office's (admin's) job.
- Students see their own record, their own classes and their own attendance; nothing else.
- Kiosks see nothing through these listings: they only check students in (``services.checkin.service``).
A known row the caller may not use answers "forbidden" (403): ids are UUIDs, so existence within one's own
school is not a secret worth a misleading 404.
"""

from __future__ import annotations

import uuid
from typing import Protocol, TypeVar

from sqlalchemy import ColumnElement, exists, false, select, true
from sqlmodel import Session, col

from app.core.enums import Role
from app.core.errors import Forbidden, NotFound
from app.db.tables import ClassMember, Lesson, School, SchoolClass, Student
from app.services.identity.principal import Principal


class _SchoolOwned(Protocol):
    @property
    def school_id(self) -> uuid.UUID | None: ...


_Row = TypeVar("_Row", bound=_SchoolOwned)


def require_role(principal: Principal, *roles: Role) -> None:
    """Services re-check the role the route already enforced: they are callable without HTTP too."""
    if principal.role not in roles:
        allowed = ", ".join(role.value for role in roles)
        raise Forbidden(f"this needs the role {allowed}", code="forbidden", role=principal.role_name)


def in_school(
    session: Session, principal: Principal, model: type[_Row], row_id: uuid.UUID, what: str
) -> _Row:
    """The row of ``model`` with ``row_id`` in the caller's school (it has a ``school_id``), or 404."""
    row = session.get(model, row_id)
    if row is None or row.school_id != principal.school_id:
        raise NotFound(f"no {what} {row_id}", code=f"{what}_not_found", id=str(row_id))
    return row


def school(session: Session, principal: Principal) -> School:
    found = session.get(School, principal.school_id)
    if found is None:  # the caller's own school was deleted under them
        raise NotFound(f"no school {principal.school_id}", code="school_not_found")
    return found


def refuse_suspended(session: Session, school_id: uuid.UUID) -> None:
    """403 ``school_suspended`` when the operator suspended the school (or it is gone): what a sign-in and a
    kiosk key checked against PostgreSQL both ask before they are let in."""
    found = session.get(School, school_id)
    if found is None or found.suspended_at is not None:
        raise Forbidden("this school's account is suspended", code="school_suspended")


def teaches(principal: Principal) -> ColumnElement[bool]:
    """SQL condition: the class (``SchoolClass``) is taught by this teacher."""
    return col(SchoolClass.teacher_id) == principal.id


def student_visible(principal: Principal) -> ColumnElement[bool]:
    """SQL condition on ``Student``: the caller may see this student (used in listings and reports)."""
    if principal.role is Role.admin:
        return true()
    if principal.role is Role.teacher:
        return exists(
            select(col(ClassMember.class_id))
            .join(SchoolClass, col(SchoolClass.id) == ClassMember.class_id)
            .where(col(ClassMember.student_id) == Student.id, teaches(principal))
        )
    if principal.role is Role.student and principal.student_id is not None:
        return col(Student.id) == principal.student_id
    return false()


def class_visible(principal: Principal) -> ColumnElement[bool]:
    """SQL condition on ``SchoolClass``: the caller may see this class."""
    if principal.role is Role.admin:
        return true()
    if principal.role is Role.teacher:
        return teaches(principal)
    if principal.role is Role.student and principal.student_id is not None:
        return exists(
            select(col(ClassMember.class_id)).where(
                col(ClassMember.class_id) == SchoolClass.id,
                col(ClassMember.student_id) == principal.student_id,
            )
        )
    return false()


def get_class(
    session: Session, principal: Principal, class_id: uuid.UUID, *, manage: bool = False
) -> SchoolClass:
    """The class if the caller may see it; ``manage`` (run its lessons, attendance): admin or its teacher."""
    found = in_school(session, principal, SchoolClass, class_id, "class")
    if manage:
        allowed = principal.role is Role.admin or (
            principal.role is Role.teacher and found.teacher_id == principal.id
        )
    else:
        allowed = bool(
            session.scalar(select(exists().where(col(SchoolClass.id) == class_id, class_visible(principal))))
        )
    if not allowed:
        raise Forbidden("this class is not one of yours", code="forbidden", class_id=str(class_id))
    return found


def get_lesson(
    session: Session, principal: Principal, lesson_id: uuid.UUID, *, manage: bool = False
) -> tuple[Lesson, SchoolClass]:
    """A lesson with its class, under the class's rules."""
    found = session.get(Lesson, lesson_id)
    if found is None:
        raise NotFound(f"no lesson {lesson_id}", code="lesson_not_found", id=str(lesson_id))
    klass = session.get(SchoolClass, found.class_id)
    if klass is None or klass.school_id != principal.school_id:
        raise NotFound(f"no lesson {lesson_id}", code="lesson_not_found", id=str(lesson_id))
    get_class(session, principal, klass.id, manage=manage)
    return found, klass


def get_student(
    session: Session, principal: Principal, student_id: uuid.UUID, *, manage: bool = False, lock: bool = False
) -> Student:
    """The student if visible; ``manage`` (consent, enrollment, marks) excludes the student themselves.

    ``lock`` takes the row lock (``SELECT ... FOR UPDATE``): commands that change a student's biometric
    state (enroll, withdraw, erase) serialise on it, so they can never interleave.
    """
    query = select(Student).where(col(Student.id) == student_id)
    if lock:
        query = query.with_for_update()
    found = session.scalars(query).first()
    if found is None or found.school_id != principal.school_id:
        raise NotFound(f"no student {student_id}", code="student_not_found", id=str(student_id))
    if manage and principal.role not in (Role.admin, Role.teacher):
        raise Forbidden("only staff may do this", code="forbidden", role=principal.role_name)
    visible = session.scalar(
        select(exists().where(col(Student.id) == student_id, student_visible(principal)))
    )
    if not visible:
        raise Forbidden(
            "this student is not in one of your classes", code="forbidden", student_id=str(student_id)
        )
    return found


def is_member(session: Session, class_id: uuid.UUID, student_id: uuid.UUID) -> bool:
    return session.get(ClassMember, (class_id, student_id)) is not None
