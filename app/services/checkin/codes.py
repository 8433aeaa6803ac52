"""One-time check-in codes: the non-biometric way in, for a student without consent (or a failing camera).

A teacher issues a code for one student and one lesson; the student types it at the kiosk of the lesson's
room (a kiosk elsewhere refuses it, as it refuses faces for other rooms), or opens it in their own app (the
QR form). Only a SHA-256 of the code is stored (codes are random, 50 bits, short-lived
and single-use, so a salt adds nothing). Taking a code is atomic: the row is locked, so two presentations of
one code record once. Presenting a used code again answers with the record it made (a retry of the same
request must get the same answer), never a second record.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import timedelta

from sqlalchemy import select
from sqlmodel import Session, col

from app.core.enums import CheckinMethod, Role
from app.core.errors import Conflict, Forbidden, NotFound
from app.core.qr import qr_svg
from app.db.tables import Attendance, CheckinCode, Lesson, SchoolClass, Student, utcnow
from app.schemas.attendance import CheckinAnswer, CheckinFace, CodeIssued, Liveness, StudentRef
from app.services.checkin.service import record_answer
from app.services.identity import access
from app.services.identity.principal import Principal
from app.services.privacy.activity import log_action, target
from app.services.school.attendance import record_once

#: Crockford's base32: no I, L, O, U, so codes read aloud or typed are not misread.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 10
QR_PREFIX = "rollcall://checkin?code="


def issue_code(
    session: Session,
    principal: Principal,
    lesson_id: uuid.UUID,
    student_id: uuid.UUID,
    *,
    ttl_minutes: int,
    request_id: str | None,
) -> CodeIssued:
    """A fresh code for the student (staff of the class); it expires with the lesson at the latest."""
    lesson, klass = access.get_lesson(session, principal, lesson_id, manage=True)
    access.get_student(session, principal, student_id)
    if not access.is_member(session, klass.id, student_id):
        raise Conflict("the student is not in this class", code="not_in_class", student_id=str(student_id))
    now = utcnow()
    if lesson.closed_at is not None or lesson.ends_at <= now:
        raise Conflict("the lesson is over", code="lesson_not_open")
    code = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    expires_at = min(now + timedelta(minutes=ttl_minutes), lesson.ends_at)
    session.add(
        CheckinCode(
            lesson_id=lesson_id,
            student_id=student_id,
            code_hash=_digest(code),
            created_by=principal.id,
            expires_at=expires_at,
        )
    )
    session.flush()
    log_action(
        session,
        principal,
        "checkin_code.issue",
        target("student", student_id),
        request_id,
        lesson_id=str(lesson_id),
    )
    shown, uri = f"{code[:5]}-{code[5:]}", QR_PREFIX + code
    return CodeIssued(
        code=shown,
        qr=uri,
        qr_svg=qr_svg(uri, "One-time check-in code"),
        lesson_id=lesson_id,
        student_id=student_id,
        expires_at=expires_at,
    )


def redeem_code(session: Session, principal: Principal, code: str, request_id: str | None) -> CheckinAnswer:
    """Check the code's student in to its session: at a kiosk in the session's room (as a face check-in), or
    by the student themself. A used code answers with its record wherever it is shown, so a retry after a
    lost answer is safe."""
    if principal.kind != "kiosk" and principal.role is not Role.student:
        raise Forbidden("codes are redeemed at a kiosk or by the student", code="forbidden")
    entry = session.scalars(
        select(CheckinCode).where(col(CheckinCode.code_hash) == _digest(code)).with_for_update()
    ).first()
    lesson = session.get(Lesson, entry.lesson_id) if entry is not None else None
    klass = session.get(SchoolClass, lesson.class_id) if lesson is not None else None
    own = principal.kind == "kiosk" or principal.student_id == (entry.student_id if entry else None)
    if entry is None or lesson is None or klass is None or klass.school_id != principal.school_id or not own:
        raise NotFound("no such code", code="code_not_found")
    student = session.get(Student, entry.student_id)
    if student is None:
        raise NotFound("no such code", code="code_not_found")
    ref = StudentRef(id=student.id, display_name=student.display_name)
    now = utcnow()
    if entry.used_at is not None:
        record = session.scalars(
            select(Attendance).where(
                col(Attendance.lesson_id) == lesson.id, col(Attendance.student_id) == student.id
            )
        ).first()
        if record is None:
            raise Conflict("the code was already used", code="code_used")
        return _answer(record_answer(record, ref, False, None))
    if entry.expires_at <= now:
        raise Conflict("the code has expired", code="code_expired")
    lesson_room = lesson.room if lesson.room is not None else klass.room  # as open_lessons: COALESCE
    if principal.kind == "kiosk" and lesson_room != principal.room:
        raise Forbidden("the lesson is not in this kiosk's room", code="wrong_room", room=lesson_room)
    if lesson.closed_at is not None or lesson.ends_at <= now:
        raise Conflict("the lesson is over", code="lesson_not_open")
    entry.used_at = now
    record, created = record_once(
        session,
        lesson=lesson,
        student_id=student.id,
        method=CheckinMethod.code,
        at=now,
        recorded_by=principal.actor,
    )
    log_action(
        session,
        principal,
        "checkin.code",
        target("student", student.id),
        request_id,
        lesson_id=str(lesson.id),
        status=record.status.value,
        created=created,
    )
    return _answer(record_answer(record, ref, created, None))


def _answer(face: CheckinFace) -> CheckinAnswer:
    return CheckinAnswer(
        mode="code",
        faces=[face],
        liveness=Liveness(checked=False, passed=True),
        recorded=int(face.outcome == "recorded"),
        unknown=0,
    )


def _digest(code: str) -> str:
    """Codes are compared without the dash or case a person may type."""
    normalised = code.replace("-", "").replace(" ", "").upper()
    return hashlib.sha256(normalised.encode("ascii", "replace")).hexdigest()
