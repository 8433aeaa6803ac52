"""Biometric consent: recorded before any face is stored; withdrawn, it erases the face everywhere.

A consent names its text's version, who agreed (the student, or a guardian when the student is a minor or
their age is unknown), who recorded it and when. Only a consent to the current text allows enrollment;
an older one stays valid for what is already stored until it is withdrawn.

Enrollment status, per student: ``none`` (no consent in force, nothing stored), ``pending`` (consent recorded,
no face yet), ``enrolled`` (templates stored), ``needs_reenrollment`` (flagged by staff for new photos; the
stored templates keep working until an enrollment replaces them).

Erasure (withdrawal, or deleting the student) is one command over three stores. Its order is chosen so that
a failure anywhere leaves the data as it was, never half-erased:
1. in one PostgreSQL transaction, the student's row is locked (enrollment waits on the same lock), consents
   are marked withdrawn, templates deleted, the status set to "none" (deleting the student: every other row
   of theirs goes too, or 409 if a sign-in account still points at them);
2. cached check-in answers naming the student are deleted from Redis (Redis down: everything rolls back,
   and nothing outside PostgreSQL has been touched yet);
3. the student's vectors are deleted from Milvus (Milvus down: roll back, 503);
4. the audit event (what was erased, counted) is added and everything commits. If that fails after Milvus
   was emptied, the vectors are put back from the templates still in PostgreSQL (``biometrics.compensate``),
   so the two stores agree again.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import date

from sqlalchemy import delete, select
from sqlmodel import Session, col

from app.core.enums import EnrollmentStatus, Role
from app.core.errors import Conflict, Forbidden, InvalidInput
from app.db.tables import Consent, FaceTemplate, Student, utcnow
from app.schemas.consent import ConsentCreate, ConsentPublic, EnrollmentState, WithdrawalResult
from app.services.biometrics.stores import BiometricStores, compensate, forget_vectors, templates_of
from app.services.identity import access
from app.services.identity.principal import Principal
from app.services.privacy import audit
from app.services.privacy.activity import log_action, target
from app.services.school.students import delete_student_records
from app.services.uow import UnitOfWork


def active_consent(session: Session, student_id: uuid.UUID) -> Consent | None:
    """The consent in force: the latest one not withdrawn."""
    query = (
        select(Consent)
        .where(col(Consent.student_id) == student_id, col(Consent.withdrawn_at).is_(None))
        .order_by(col(Consent.granted_at).desc())
    )
    return session.scalars(query.limit(1)).first()


def list_consents(session: Session, principal: Principal, student_id: uuid.UUID) -> list[Consent]:
    """The student's consent history, newest first (the student themself may read it)."""
    access.get_student(session, principal, student_id)
    query = (
        select(Consent).where(col(Consent.student_id) == student_id).order_by(col(Consent.granted_at).desc())
    )
    return list(session.scalars(query))


def grant_consent(
    session: Session,
    principal: Principal,
    student_id: uuid.UUID,
    data: ConsentCreate,
    *,
    current_version: str,
    age_of_majority: int,
    request_id: str | None,
) -> Consent:
    """Record a consent. Staff record it for any student they manage; an adult student may give their own."""
    if principal.kind != "user":
        raise Forbidden("consent is recorded by a person, not a kiosk", code="forbidden")
    own = principal.role is Role.student and principal.student_id == student_id
    student = access.get_student(session, principal, student_id, manage=not own, lock=True)
    if own and data.relation != "self":
        raise Forbidden("a student can only give their own consent", code="forbidden")
    version = data.version or current_version
    if version != current_version:
        raise InvalidInput(
            f"consent must be to the current text (version {current_version})",
            code="outdated_consent_version",
            current_version=current_version,
        )
    if data.relation == "self" and not _is_adult(student.birth_date, age_of_majority):
        raise InvalidInput(
            f"students under {age_of_majority} (or without a birth date) need a guardian's consent",
            code="guardian_required",
            age_of_majority=age_of_majority,
        )
    current = active_consent(session, student_id)
    if current is not None and current.version == version:
        raise Conflict(
            "the student already has this consent", code="consent_exists", consent_id=str(current.id)
        )
    consent = Consent(
        student_id=student_id,
        version=version,
        granted_by_name=data.granted_by_name,
        granted_by_relation=data.relation,
        recorded_by=principal.id,
    )
    session.add(consent)
    if student.enrollment_status is EnrollmentStatus.none:
        student.enrollment_status = EnrollmentStatus.pending
        student.updated_at = utcnow()
    session.flush()
    log_action(
        session,
        principal,
        "consent.grant",
        target("student", student_id),
        request_id,
        version=version,
        relation=data.relation,
    )
    return consent


def enrollment_state(
    session: Session, principal: Principal, student_id: uuid.UUID, current_version: str
) -> EnrollmentState:
    student = access.get_student(session, principal, student_id)
    templates = templates_of(session, student_id)
    consent = active_consent(session, student_id)
    return EnrollmentState(
        student_id=student_id,
        enrollment_status=student.enrollment_status,
        templates=len(templates),
        model=templates[-1].model_id if templates else None,
        enrolled_at=templates[-1].created_at if templates else None,
        consent=ConsentPublic.model_validate(consent) if consent is not None else None,
        consent_current=consent is not None and consent.version == current_version,
    )


def flag_reenrollment(
    session: Session, principal: Principal, student_id: uuid.UUID, reason: str, request_id: str | None
) -> Student:
    """Mark an enrolled student for new photos (they are rarely recognised, or their look changed). The
    stored templates keep working until the new enrollment replaces them."""
    student = access.get_student(session, principal, student_id, manage=True, lock=True)
    if student.enrollment_status is not EnrollmentStatus.enrolled:
        raise Conflict("only an enrolled student can be flagged", code="not_enrolled")
    student.enrollment_status = EnrollmentStatus.needs_reenrollment
    student.updated_at = utcnow()
    session.flush()
    log_action(
        session, principal, "enrollment.flag", target("student", student_id), request_id, reason=reason
    )
    return student


async def withdraw_consent(
    stores: BiometricStores,
    principal: Principal,
    student_id: uuid.UUID,
    request_id: str | None,
    *,
    age_of_majority: int,
) -> WithdrawalResult:
    """Withdraw the student's consent and erase their biometric data everywhere: staff, or the student when
    an adult. A minor's consent is the guardian's (docs/PRIVACY.md): a minor who objects asks the school
    office or the guardian, who withdraw it at once; the minor's own account is refused (403
    ``guardian_required``), before anything is erased."""
    return await erase_everywhere(
        stores, principal, student_id, request_id, action="consent.withdraw", age_of_majority=age_of_majority
    )


async def delete_student(
    stores: BiometricStores, principal: Principal, student_id: uuid.UUID, request_id: str | None
) -> WithdrawalResult:
    """Erase the student entirely (admins): biometric data as in a withdrawal, then every other record."""
    access.require_role(principal, Role.admin)
    return await erase_everywhere(
        stores,
        principal,
        student_id,
        request_id,
        action="student.erase",
        finish=delete_student_records,
    )


async def erase_everywhere(
    stores: BiometricStores,
    principal: Principal,
    student_id: uuid.UUID,
    request_id: str | None,
    *,
    action: str,
    finish: Callable[[Session, Student], None] | None = None,
    actor: str | None = None,
    age_of_majority: int | None = None,
) -> WithdrawalResult:
    """The erasure steps in the module docstring's order. Also called directly by callers with more to erase
    in the same PostgreSQL transaction (``finish``: the GDPR erasure) or acting on their own authority
    (``actor="system"``: the retention job, with an admin principal of the student's school). The audit event
    names ``actor`` when given. A student acting on their own record must be an adult (``age_of_majority``;
    without it, no student may)."""
    if principal.kind == "kiosk":
        raise Forbidden("a kiosk cannot withdraw consent", code="forbidden")
    own = principal.role is Role.student and principal.student_id == student_id
    milvus_touched = False
    try:
        async with UnitOfWork(stores.engine) as uow:
            student, consents, templates = await uow.run(
                _erase_rows, principal, student_id, manage=not own, adult_age=age_of_majority if own else None
            )
            if finish is not None:
                await uow.run(finish, student)  # every PostgreSQL check and write before the other stores
            cached = await asyncio.to_thread(stores.cache.forget_student, student_id)
            milvus_touched = True
            vectors = await forget_vectors(stores.index, student.school_id, student_id)
            result = WithdrawalResult(
                student_id=student_id,
                consents_withdrawn=consents,
                templates_deleted=templates,
                vectors_deleted=vectors,
                cache_entries_deleted=cached,
                enrollment_status=EnrollmentStatus.none,
            )
            await uow.run(
                audit.record,
                actor or principal,
                action,
                target("student", student_id),
                "ok",
                request_id,
                school_id=student.school_id,
                **result.model_dump(mode="json", exclude={"student_id", "enrollment_status"}),
            )
    except BaseException:
        if milvus_touched:
            await compensate(stores.engine, stores.index, stores.cipher, student_id)
        raise
    return result


def _erase_rows(
    session: Session, principal: Principal, student_id: uuid.UUID, *, manage: bool, adult_age: int | None
) -> tuple[Student, int, int]:
    """``adult_age``: the student acts on their own record, and must be at least this old."""
    student = access.get_student(session, principal, student_id, manage=manage, lock=True)
    if not manage and (adult_age is None or not _is_adult(student.birth_date, adult_age)):
        raise Forbidden(
            "a minor's consent is the guardian's: the guardian or the school office withdraws it",
            code="guardian_required",
            age_of_majority=adult_age,
        )
    now = utcnow()
    consents = list(
        session.scalars(
            select(Consent).where(col(Consent.student_id) == student_id, col(Consent.withdrawn_at).is_(None))
        )
    )
    for consent in consents:
        consent.withdrawn_at = now
    deleted = session.execute(delete(FaceTemplate).where(col(FaceTemplate.student_id) == student_id))
    student.enrollment_status = EnrollmentStatus.none
    student.updated_at = now
    session.flush()
    return student, len(consents), int(getattr(deleted, "rowcount", 0) or 0)


def _is_adult(birth_date: date | None, age_of_majority: int) -> bool:
    if birth_date is None:
        return False
    today = date.today()
    age = today.year - birth_date.year - ((today.month, today.day) < (birth_date.month, birth_date.day))
    return age >= age_of_majority
