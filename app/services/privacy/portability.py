"""GDPR access and portability (Art. 15, 20): everything held about one student, as a ZIP of JSON and CSV.

The archive holds:
- ``student.json``: the record, the sign-in account (no password or MFA secret), classes, consents with the
  text agreed to, enrollment metadata, attendance with its corrections, the disclosure log about the student
  (FERPA 99.32(c)), the audit events about them, and every other row that refers to them in any table (found
  from the schema's foreign keys, so a table added later is exported too). Restricted columns (see
  ``app.core.classification``: templates, hashes, secrets) are withheld and named.
- ``attendance.csv``: the attendance history, archived records included, one row per lesson.
- ``README.txt``: what the files are.

Face templates are not exported, deliberately: they are biometric data (GDPR Art. 9) usable only by this
system's model, the photos they came from were never kept, and a copy in a download would be a biometric
identifier outside the school's protection. ``student.json`` says how many are stored, from which model and
when, and how to have them erased. Portability (Art. 20) covers data the subject provided; the template is
derived by the school's processing, so withholding it costs the student nothing they could reuse elsewhere.

Who: an admin of the student's school, or the student themself; never a teacher (least privilege: rights
requests go through the office). Each export states a purpose and is written to the disclosure log and the
audit trail.
"""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Table, func, select
from sqlmodel import Session, col

from app.core.classification import CLASSIFICATION, Level
from app.core.enums import Role
from app.core.errors import Forbidden
from app.db.tables import (
    Attendance,
    AttendanceArchive,
    AttendanceChange,
    AuditEvent,
    ClassMember,
    Consent,
    FaceTemplate,
    Lesson,
    School,
    SchoolClass,
    Student,
    User,
)
from app.schemas.students import StudentPublic
from app.services.identity import access
from app.services.identity.principal import Principal
from app.services.privacy import disclosure
from app.services.privacy.activity import log_action, target
from app.services.privacy.audit import pseudonym
from app.services.privacy.consent_texts import text_of
from app.services.privacy.erasure import dependents
from app.services.school.exports import csv_chunks

MEDIA_TYPE = "application/zip"
CATEGORIES = ["profile", "account", "classes", "consents", "biometric metadata", "attendance", "disclosures"]
TEMPLATE_STATEMENT = (
    "Face templates are stored encrypted (AES-256-GCM) and are not part of this export: they are biometric "
    "data that only this system's model can use, and the photos they were computed from were not kept. "
    "Withdrawing the consent, or asking the school to erase the student's data, deletes them everywhere."
)


def attendance_header(zone: str) -> list[str]:
    """attendance.csv's columns; the time columns name the school's zone their values are in."""
    return [
        f"lesson_start ({zone})",
        "class_code",
        "class_name",
        "status",
        "method",
        "confidence",
        f"recorded_at ({zone})",
        "recorded_by",
        "archived",
        "corrections",
    ]


README = """Rollcall export of one student's data
=====================================

student.json    everything held about the student: record, account, classes, consents (with the text
                agreed to), biometric enrollment metadata, attendance and its corrections, the log of who
                saw or exported this record and why, audit events about the student, and every other row
                that refers to the student.
attendance.csv  the attendance history, one row per lesson (archived records included).

Values marked "[withheld: restricted]" are secrets or biometric templates, which are never exported.
Times in student.json are UTC (ISO 8601); attendance.csv gives them in the school's time zone, named in
its column headers, with their offset. Questions, corrections or erasure: contact the school's office.
"""


@dataclass(frozen=True, slots=True)
class Export:
    filename: str
    data: bytes


def export_student(
    session: Session,
    principal: Principal,
    student_id: uuid.UUID,
    purpose: str,
    request_id: str | None,
) -> Export:
    """The ZIP for ``student_id`` (see the module docstring), logged as a disclosure."""
    if principal.role not in (Role.admin, Role.student):
        raise Forbidden("exports are made by the school office or the student", code="forbidden")
    student = access.get_student(session, principal, student_id)
    school = session.get(School, student.school_id)
    zone = ZoneInfo(school.timezone if school is not None else "UTC")
    now = datetime.now(UTC)
    document = _document(session, student, purpose, now)
    rows = _attendance_rows(session, student.id)
    disclosure.record(
        session,
        principal,
        student,
        action="export",
        full=True,
        categories=CATEGORIES,
        purpose=purpose,
        request_id=request_id,
    )
    log_action(session, principal, "student.export", target("student", student.id), request_id)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("student.json", json.dumps(document, indent=2, ensure_ascii=False, default=_json))
        header = attendance_header(zone.key)
        archive.writestr("attendance.csv", b"".join(csv_chunks(header, rows, zone)))
        archive.writestr("README.txt", README)
    return Export(f"student-{student.id}-{now:%Y%m%d}.zip", buffer.getvalue())


def _document(session: Session, student: Student, purpose: str, now: datetime) -> dict[str, Any]:
    school = session.get(School, student.school_id)
    templates = list(
        session.scalars(
            select(FaceTemplate)
            .where(col(FaceTemplate.student_id) == student.id)
            .order_by(col(FaceTemplate.created_at))
        )
    )
    consents = list(
        session.scalars(
            select(Consent).where(col(Consent.student_id) == student.id).order_by(col(Consent.granted_at))
        )
    )
    return {
        "generated_at": now,
        "purpose": purpose,
        "controller": {"school": school.name if school else None, "school_id": student.school_id},
        "student": StudentPublic.model_validate(student).model_dump(mode="json", exclude={"withheld"}),
        "accounts": [
            _account(user) for user in session.scalars(select(User).where(col(User.student_id) == student.id))
        ],
        "classes": _classes(session, student.id),
        "consents": [_consent(consent) for consent in consents],
        "biometrics": {
            "templates_stored": len(templates),
            "models": sorted({template.model_id for template in templates}),
            "enrolled_at": [template.created_at for template in templates],
            "photo_quality": [template.quality for template in templates],
            "statement": TEMPLATE_STATEMENT,
        },
        "attendance_corrections": _corrections(session, student.id),
        "disclosures": [
            {
                "at": entry.at,
                "by": entry.actor,
                "role": entry.actor_role,
                "action": entry.action,
                "scope": entry.scope,
                "categories": entry.categories,
                "purpose": entry.purpose,
            }
            for entry in disclosure.disclosures_of(session, student.id)
        ],
        "activity": [
            {"at": event.at, "action": event.action, "by": event.actor, "result": event.result}
            for event in session.scalars(
                select(AuditEvent)
                .where(col(AuditEvent.target) == pseudonym(session, student.id))
                .order_by(col(AuditEvent.seq))
            )
        ],
        "records": _records(session, student.id),
    }


def _account(user: User) -> dict[str, Any]:
    return {
        "email": user.email,
        "full_name": user.full_name,
        "role": user.role.value,
        "active": user.is_active,
        "mfa_enabled": user.mfa_enabled,
        "created_at": user.created_at,
    }


def _classes(session: Session, student_id: uuid.UUID) -> list[dict[str, Any]]:
    query = (
        select(col(SchoolClass.code), col(SchoolClass.name), col(ClassMember.added_at))
        .join(ClassMember, col(ClassMember.class_id) == SchoolClass.id)
        .where(col(ClassMember.student_id) == student_id)
        .order_by(SchoolClass.code)
    )
    return [{"code": code, "name": name, "since": added} for code, name, added in session.execute(query)]


def _consent(consent: Consent) -> dict[str, Any]:
    text = text_of(consent.version)
    return {
        "version": consent.version,
        "granted_by": consent.granted_by_name,
        "relation": consent.granted_by_relation,
        "granted_at": consent.granted_at,
        "withdrawn_at": consent.withdrawn_at,
        "text": {"title": text.title, "body": text.body} if text else None,
    }


def _corrections(session: Session, student_id: uuid.UUID) -> list[dict[str, Any]]:
    query = (
        select(AttendanceChange, col(Lesson.starts_at))
        .join(Attendance, col(Attendance.id) == AttendanceChange.attendance_id)
        .join(Lesson, col(Lesson.id) == Attendance.lesson_id)
        .where(col(Attendance.student_id) == student_id)
        .order_by(col(AttendanceChange.changed_at))
    )
    found = [
        {
            "lesson_start": starts,
            "changed_at": change.changed_at,
            "from": change.old_status,
            "to": change.new_status,
            "reason": change.reason,
        }
        for change, starts in session.execute(query)
    ]
    archived = select(AttendanceArchive).where(col(AttendanceArchive.student_id) == student_id)
    for record in session.scalars(archived):
        found.extend({"lesson_start": record.lesson_starts_at, **change} for change in record.changes)
    return found


def _attendance_rows(session: Session, student_id: uuid.UUID) -> Iterator[list[object]]:
    corrections: dict[uuid.UUID, int] = {
        attendance_id: int(count)
        for attendance_id, count in session.execute(
            select(col(AttendanceChange.attendance_id), func.count())
            .join(Attendance, col(Attendance.id) == AttendanceChange.attendance_id)
            .where(col(Attendance.student_id) == student_id)
            .group_by(col(AttendanceChange.attendance_id))
        )
    }
    live = (
        select(Attendance, col(Lesson.starts_at), col(SchoolClass.code), col(SchoolClass.name))
        .join(Lesson, col(Lesson.id) == Attendance.lesson_id)
        .join(SchoolClass, col(SchoolClass.id) == Lesson.class_id)
        .where(col(Attendance.student_id) == student_id)
    )
    rows = [
        _attendance_row(record, starts, code, name, False, corrections.get(record.id, 0))
        for record, starts, code, name in session.execute(live)
    ]
    archived = (
        select(AttendanceArchive, col(SchoolClass.code), col(SchoolClass.name))
        .outerjoin(SchoolClass, col(SchoolClass.id) == AttendanceArchive.class_id)
        .where(col(AttendanceArchive.student_id) == student_id)
    )
    rows += [
        _attendance_row(record, record.lesson_starts_at, code, name, True, len(record.changes))
        for record, code, name in session.execute(archived)
    ]
    rows.sort(key=lambda row: row[0])  # type: ignore[arg-type, return-value]
    return iter(rows)


def _attendance_row(
    record: Attendance | AttendanceArchive,
    starts: datetime,
    code: str | None,
    name: str | None,
    archived: bool,
    corrections: int,
) -> list[object]:
    """One CSV row, the same columns for a live record and an archived one."""
    return [
        starts,
        code,
        name,
        record.status.value,
        record.method.value,
        record.confidence,
        record.recorded_at,
        record.recorded_by.partition(":")[0],
        archived,
        corrections,
    ]


def _records(session: Session, student_id: uuid.UUID) -> dict[str, list[dict[str, Any]]]:
    """Every row that refers to the student, by table, restricted columns withheld (found like erasure)."""
    found: dict[str, list[dict[str, Any]]] = {}

    def walk(table: Table, where: ColumnElement[bool], seen: set[str]) -> None:
        for child, column, referenced in dependents(table):
            if child.name in seen:
                continue
            child_where = column.in_(select(referenced).where(where))
            rows = [_row(child, row) for row in session.execute(select(child).where(child_where)).mappings()]
            if rows:
                found.setdefault(child.name, []).extend(rows)
            walk(child, child_where, seen | {table.name})

    student_table: Table = Student.__table__  # type: ignore[attr-defined]
    walk(student_table, student_table.c.id == student_id, set())
    return found


def _row(table: Table, row: Any) -> dict[str, Any]:
    shown = {}
    for name, value in row.items():
        info = CLASSIFICATION.get(table.name, {}).get(name)
        restricted = info is None or info.level is Level.restricted
        shown[name] = "[withheld: restricted]" if restricted and value is not None else value
    return shown


def _json(value: object) -> object:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat() if value.tzinfo else value.isoformat()
    if isinstance(value, date | uuid.UUID):
        return str(value)
    if isinstance(value, bytes):
        return "[withheld: restricted]"
    if hasattr(value, "value"):
        return value.value
    return str(value)
