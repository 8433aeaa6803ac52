"""FERPA: the record of disclosures, and which fields of a student's record each kind of view shows.

Views (see ``app.core.classification``):
- *limited*: directory information plus the non-directory fields staff need for their work (biometric
  enrollment state); birth date and guardian contact are withheld (null, and named in ``withheld``).
  Every listing is limited, whoever asks, and so is a teacher's view of one student.
- *full*: every field, one student at a time: an admin, or the student themself.

The log: every time staff open one student's record (a view) or export it, a row says who, whose record,
which categories of data, why and when. The purpose of a view defaults to the school-official exception
(a legitimate educational interest); an export must state one. A student reading their own record is not a
disclosure. The log is the school's record about that student: admins read it (``/v1/privacy/disclosures``),
it is part of the student's export, and an erasure keeps its entries with the id replaced by the pseudonym.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Engine, select, update
from sqlmodel import Session, col

from app.core.classification import STUDENT_WITHHELD_FROM_LIMITED
from app.core.enums import Role
from app.db.tables import DisclosureRecord, Student
from app.schemas.students import StudentPublic
from app.services.identity import access
from app.services.identity.principal import Principal
from app.services.privacy import audit

#: FERPA 34 CFR 99.31(a)(1): school officials with a legitimate educational interest need no consent.
SCHOOL_OFFICIAL_PURPOSE = "school official with a legitimate educational interest"


def subject_of(bind: Session | Engine, student_id: uuid.UUID) -> str:
    """The student's keyed pseudonym (the audit trail's): what remains linkable after an erasure."""
    return audit.keys_of(bind).ids.hash_id(student_id)


def is_own_record(principal: Principal, student_id: uuid.UUID) -> bool:
    return principal.role is Role.student and principal.student_id == student_id


def limited_view(student: Student) -> StudentPublic:
    """Directory fields and what staff need; the rest withheld (listings, teachers)."""
    shown = StudentPublic.model_validate(student)
    withheld = sorted(STUDENT_WITHHELD_FROM_LIMITED)
    return shown.model_copy(update={**dict.fromkeys(withheld), "withheld": withheld})


def view_student(
    session: Session,
    principal: Principal,
    student_id: uuid.UUID,
    purpose: str | None,
    request_id: str | None,
) -> StudentPublic:
    """One student's record as the caller may see it; a view by staff goes into the disclosure log."""
    student = access.get_student(session, principal, student_id)
    own = is_own_record(principal, student_id)
    full = own or principal.role is Role.admin
    shown = StudentPublic.model_validate(student) if full else limited_view(student)
    if not own:
        record(
            session,
            principal,
            student,
            action="view",
            full=full,
            categories=["profile"],
            purpose=purpose or SCHOOL_OFFICIAL_PURPOSE,
            request_id=request_id,
        )
    return shown


def record(
    session: Session,
    principal: Principal,
    student: Student,
    *,
    action: str,
    full: bool,
    categories: list[str],
    purpose: str,
    request_id: str | None,
) -> DisclosureRecord:
    """Add one entry to the log, in the caller's transaction (it commits with the disclosure, or not)."""
    entry = DisclosureRecord(
        school_id=student.school_id,
        student_id=student.id,
        subject=subject_of(session, student.id),
        actor=principal.actor,
        actor_role=principal.role_name,
        action=action,
        scope="full" if full else "limited",
        categories=categories,
        purpose=purpose.strip()[:500],
        request_id=request_id,
    )
    session.add(entry)
    session.flush()
    return entry


def list_disclosures(
    session: Session,
    principal: Principal,
    *,
    student_id: uuid.UUID | None = None,
    action: str | None = None,
    before: datetime | None = None,
    limit: int = 100,
) -> list[DisclosureRecord]:
    """The school's log, newest first (admins). For one student, also the entries from before an erasure
    (found by pseudonym)."""
    access.require_role(principal, Role.admin)
    query = select(DisclosureRecord).where(col(DisclosureRecord.school_id) == principal.school_id)
    if student_id is not None:
        query = query.where(col(DisclosureRecord.subject) == subject_of(session, student_id))
    if action is not None:
        query = query.where(col(DisclosureRecord.action) == action)
    if before is not None:
        query = query.where(col(DisclosureRecord.at) < before)
    query = query.order_by(col(DisclosureRecord.at).desc(), col(DisclosureRecord.id)).limit(limit)
    return list(session.scalars(query))


def disclosures_of(session: Session, student_id: uuid.UUID) -> list[DisclosureRecord]:
    """Every entry about one student, oldest first (their export includes it: FERPA 99.32(c))."""
    query = (
        select(DisclosureRecord)
        .where(col(DisclosureRecord.subject) == subject_of(session, student_id))
        .order_by(col(DisclosureRecord.at))
    )
    return list(session.scalars(query))


def pseudonymise(session: Session, student_id: uuid.UUID) -> int:
    """At erasure: the entries stay (who saw the record, and why, before it was erased) without the id."""
    result = session.execute(
        update(DisclosureRecord).where(col(DisclosureRecord.student_id) == student_id).values(student_id=None)
    )
    return int(getattr(result, "rowcount", 0) or 0)
