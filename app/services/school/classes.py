"""Classes and their members. The office (admin) creates classes and decides membership; a teacher sees the
classes they teach and who is in them; a student sees the classes they belong to."""

from __future__ import annotations

import uuid

from sqlalchemy import or_, select
from sqlmodel import Session, col

from app.core.enums import Role
from app.core.errors import Conflict, NotFound
from app.db.tables import ClassMember, Lesson, SchoolClass, Student, User
from app.schemas.classes import ClassCreate, ClassPublic, ClassUpdate
from app.schemas.common import Page, PageParams
from app.schemas.students import StudentPublic
from app.services.crud import apply_update, flush_or_conflict, paginate
from app.services.identity import access
from app.services.identity.principal import Principal
from app.services.privacy.activity import log_action, target
from app.services.school.students import student_matches


def list_classes(session: Session, principal: Principal, params: PageParams) -> Page[ClassPublic]:
    query = select(SchoolClass).where(
        col(SchoolClass.school_id) == principal.school_id, access.class_visible(principal)
    )
    if pattern := params.like():
        query = query.where(or_(col(SchoolClass.code).ilike(pattern), col(SchoolClass.name).ilike(pattern)))
    return paginate(session, query.order_by(col(SchoolClass.code)), params, ClassPublic.model_validate)


def get_class(session: Session, principal: Principal, class_id: uuid.UUID) -> SchoolClass:
    return access.get_class(session, principal, class_id)


def create_class(
    session: Session, principal: Principal, data: ClassCreate, request_id: str | None
) -> SchoolClass:
    access.require_role(principal, Role.admin)
    if data.teacher_id is not None:
        _check_teacher(session, principal, data.teacher_id)
    klass = SchoolClass(school_id=principal.school_id, **data.model_dump())
    session.add(klass)
    flush_or_conflict(session, f"a class with code {data.code!r}", field="code")
    log_action(session, principal, "class.create", target("class", klass.id), request_id, code=klass.code)
    return klass


def update_class(
    session: Session, principal: Principal, class_id: uuid.UUID, data: ClassUpdate, request_id: str | None
) -> SchoolClass:
    access.require_role(principal, Role.admin)
    klass = access.get_class(session, principal, class_id)
    if data.teacher_id is not None:
        _check_teacher(session, principal, data.teacher_id)
    changes = apply_update(klass, data, required=("code", "name"))
    flush_or_conflict(session, f"a class with code {klass.code!r}", field="code")
    if changes:
        log_action(
            session, principal, "class.update", target("class", klass.id), request_id, fields=sorted(changes)
        )
    return klass


def delete_class(session: Session, principal: Principal, class_id: uuid.UUID, request_id: str | None) -> None:
    """A class with lessons keeps its attendance history: delete those lessons first (409 otherwise)."""
    access.require_role(principal, Role.admin)
    klass = access.get_class(session, principal, class_id)
    if session.scalars(select(col(Lesson.id)).where(col(Lesson.class_id) == class_id).limit(1)).first():
        raise Conflict("the class has lessons; delete them first", code="in_use", class_id=str(class_id))
    for member in session.scalars(select(ClassMember).where(col(ClassMember.class_id) == class_id)):
        session.delete(member)
    session.delete(klass)
    flush_or_conflict(session, "the class")
    log_action(session, principal, "class.delete", target("class", class_id), request_id, code=klass.code)


def list_members(
    session: Session, principal: Principal, class_id: uuid.UUID, params: PageParams
) -> Page[StudentPublic]:
    """Staff only (the class's teacher or an admin): students do not get the list of their classmates."""
    access.get_class(session, principal, class_id, manage=True)
    query = (
        select(Student)
        .join(ClassMember, col(ClassMember.student_id) == Student.id)
        .where(col(ClassMember.class_id) == class_id)
    )
    if pattern := params.like():
        query = query.where(student_matches(pattern))
    query = query.order_by(col(Student.last_name), col(Student.first_name), col(Student.id))
    return paginate(session, query, params, StudentPublic.model_validate)


def add_member(
    session: Session, principal: Principal, class_id: uuid.UUID, student_id: uuid.UUID, request_id: str | None
) -> bool:
    """Put the student in the class; False when they already were (adding twice is harmless)."""
    access.require_role(principal, Role.admin)
    access.get_class(session, principal, class_id)
    access.get_student(session, principal, student_id)
    if access.is_member(session, class_id, student_id):
        return False
    session.add(ClassMember(class_id=class_id, student_id=student_id))
    flush_or_conflict(session, "this membership")
    log_action(
        session,
        principal,
        "class.member.add",
        target("class", class_id),
        request_id,
        student_id=str(student_id),
    )
    return True


def remove_member(
    session: Session, principal: Principal, class_id: uuid.UUID, student_id: uuid.UUID, request_id: str | None
) -> None:
    """Take the student out of the class (their attendance records stay, for the history)."""
    access.require_role(principal, Role.admin)
    access.get_class(session, principal, class_id)
    member = session.get(ClassMember, (class_id, student_id))
    if member is None:
        raise NotFound(
            "the student is not in this class", code="member_not_found", student_id=str(student_id)
        )
    session.delete(member)
    session.flush()
    log_action(
        session,
        principal,
        "class.member.remove",
        target("class", class_id),
        request_id,
        student_id=str(student_id),
    )


def _check_teacher(session: Session, principal: Principal, user_id: uuid.UUID) -> None:
    """A class is taught by an active teacher (or admin) of the school: a deactivated account could never
    sign in to run its lessons."""
    user = session.get(User, user_id)
    if (
        user is None
        or user.school_id != principal.school_id
        or user.role not in (Role.teacher, Role.admin)
        or not user.is_active
    ):
        raise NotFound(f"no teacher {user_id}", code="teacher_not_found", id=str(user_id))
