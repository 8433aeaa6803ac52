"""The transactional schema. PostgreSQL is the source of truth; Milvus only indexes what is stored here.

Conventions: UUID primary keys (safe to expose, no enumeration), timezone-aware UTC timestamps, enums stored
as short strings (readable in SQL, no ALTER TYPE for a new value), and every unique rule the domain relies on
enforced by a constraint, so a race between two requests ends in a conflict, never in two rows.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, DateTime, Index, LargeBinary, UniqueConstraint
from sqlalchemy import Enum as SAEnum
from sqlmodel import Field, SQLModel

# Deterministic constraint names, so migrations can address them and two CHECKs never collide.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


def enum_type(enum: type[StrEnum]) -> SAEnum:
    """Store an enum as a short string (no PostgreSQL ENUM type: a new value needs no ALTER TYPE)."""
    return SAEnum(
        enum,
        native_enum=False,
        length=32,
        create_constraint=False,
        values_callable=lambda e: [m.value for m in e],
    )


class Role(StrEnum):
    student = "student"
    teacher = "teacher"
    admin = "admin"


class EnrollmentStatus(StrEnum):
    none = "none"
    pending = "pending"
    enrolled = "enrolled"
    needs_reenrollment = "needs_reenrollment"


class AttendanceStatus(StrEnum):
    present = "present"
    late = "late"
    absent = "absent"
    excused = "excused"


class CheckinMethod(StrEnum):
    face = "face"  # 1:N identification at a kiosk
    face_verify = "face_verify"  # 1:1, the student claimed an id
    code = "code"  # one-time code/QR from the teacher (no biometric consent needed)
    manual = "manual"  # marked or corrected by a teacher


class School(SQLModel, table=True):
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    name: str = Field(max_length=200, unique=True)
    timezone: str = Field(default="UTC", max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


class User(SQLModel, table=True):
    """A person who signs in: admin, teacher, or a student (linked to their Student record)."""

    __tablename__ = "app_user"  # "user" is reserved in PostgreSQL

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    school_id: uuid.UUID = Field(foreign_key="school.id", index=True)
    email: str = Field(max_length=320, unique=True)
    full_name: str = Field(max_length=200)
    role: Role = Field(sa_type=enum_type(Role))
    password_hash: str = Field(max_length=512)
    totp_secret_enc: bytes | None = Field(default=None, sa_type=LargeBinary)  # AES-GCM, see core.crypto
    mfa_enabled: bool = Field(default=False)
    student_id: uuid.UUID | None = Field(default=None, foreign_key="student.id", unique=True)
    is_active: bool = Field(default=True)
    failed_logins: int = Field(default=0)
    locked_until: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


class KioskKey(SQLModel, table=True):
    """A kiosk's API key: only a prefix (to find it) and an argon2 hash (to check it) are stored."""

    __tablename__ = "kiosk_key"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    school_id: uuid.UUID = Field(foreign_key="school.id", index=True)
    room: str = Field(max_length=64)
    name: str = Field(max_length=200)
    prefix: str = Field(max_length=16, unique=True)
    key_hash: str = Field(max_length=512)
    created_by: uuid.UUID = Field(foreign_key="app_user.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    revoked_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    last_used_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class Student(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("school_id", "student_number", name="uq_student_school_number"),
        Index("ix_student_school_name", "school_id", "last_name", "first_name"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    school_id: uuid.UUID = Field(foreign_key="school.id", index=True)
    student_number: str = Field(max_length=64)
    first_name: str = Field(max_length=100)
    last_name: str = Field(max_length=100)
    display_name: str = Field(max_length=200)
    birth_date: date | None = None
    guardian_email: str | None = Field(default=None, max_length=320)
    active: bool = Field(default=True)  # False once the student has left the school
    enrollment_status: EnrollmentStatus = Field(
        default=EnrollmentStatus.none, sa_type=enum_type(EnrollmentStatus)
    )
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    updated_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


class SchoolClass(SQLModel, table=True):
    __tablename__ = "school_class"
    __table_args__ = (UniqueConstraint("school_id", "code", name="uq_class_school_code"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    school_id: uuid.UUID = Field(foreign_key="school.id", index=True)
    code: str = Field(max_length=64)
    name: str = Field(max_length=200)
    teacher_id: uuid.UUID | None = Field(default=None, foreign_key="app_user.id", index=True)
    room: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


class ClassMember(SQLModel, table=True):
    __tablename__ = "class_member"

    class_id: uuid.UUID = Field(foreign_key="school_class.id", primary_key=True)
    student_id: uuid.UUID = Field(foreign_key="student.id", primary_key=True, index=True)
    added_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


class ClassSession(SQLModel, table=True):
    """One lesson of a class: attendance is recorded per session."""

    __tablename__ = "class_session"
    __table_args__ = (Index("ix_session_class_start", "class_id", "starts_at"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    class_id: uuid.UUID = Field(foreign_key="school_class.id")
    starts_at: datetime = Field(sa_type=DateTime(timezone=True))
    ends_at: datetime = Field(sa_type=DateTime(timezone=True))
    grace_minutes: int = Field(default=5, ge=0, le=120)  # arriving later than this is "late"
    room: str | None = Field(default=None, max_length=64)
    closed_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class Consent(SQLModel, table=True):
    """Biometric consent: required before any face is stored; withdrawal erases the biometric data."""

    __table_args__ = (Index("ix_consent_student_granted", "student_id", "granted_at"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    student_id: uuid.UUID = Field(foreign_key="student.id")
    version: str = Field(max_length=32)
    granted_by_name: str = Field(max_length=200)  # the student, or the guardian for a minor
    granted_by_relation: str = Field(max_length=32)  # "self" | "guardian"
    recorded_by: uuid.UUID = Field(foreign_key="app_user.id")
    granted_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    withdrawn_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class FaceTemplate(SQLModel, table=True):
    """An enrolled face vector, encrypted (AES-256-GCM); Milvus holds the searchable copy (``vector_id``)."""

    __tablename__ = "face_template"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    student_id: uuid.UUID = Field(foreign_key="student.id", index=True)
    school_id: uuid.UUID = Field(foreign_key="school.id")
    model_id: str = Field(max_length=128)
    key_id: str = Field(max_length=64)
    ciphertext: bytes = Field(sa_type=LargeBinary)  # nonce || ciphertext+tag
    vector_id: int | None = Field(default=None, sa_type=BigInteger)  # Milvus ids are 64-bit
    quality: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


class Attendance(SQLModel, table=True):
    """At most one record per (session, student): the constraint makes retried check-ins harmless."""

    __table_args__ = (
        UniqueConstraint("session_id", "student_id", name="uq_attendance_session_student"),
        Index("ix_attendance_student_time", "student_id", "recorded_at"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    session_id: uuid.UUID = Field(foreign_key="class_session.id")
    student_id: uuid.UUID = Field(foreign_key="student.id")
    status: AttendanceStatus = Field(sa_type=enum_type(AttendanceStatus))
    method: CheckinMethod = Field(sa_type=enum_type(CheckinMethod))
    confidence: float | None = None
    recorded_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    recorded_by: str = Field(max_length=64)  # "user:<uuid>" or "kiosk:<uuid>"
    idempotency_key: str | None = Field(default=None, max_length=128, index=True)


class AttendanceChange(SQLModel, table=True):
    """Who changed an attendance record, when and why: corrections never overwrite history silently."""

    __tablename__ = "attendance_change"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    attendance_id: uuid.UUID = Field(foreign_key="attendance.id", index=True)
    changed_by: str = Field(max_length=64)
    changed_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    old_status: AttendanceStatus | None = Field(default=None, sa_type=enum_type(AttendanceStatus))
    new_status: AttendanceStatus = Field(sa_type=enum_type(AttendanceStatus))
    reason: str = Field(max_length=500)


class CheckinCode(SQLModel, table=True):
    """A one-time code (or QR) a teacher issues for a session: the non-biometric way to check in."""

    __tablename__ = "checkin_code"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    session_id: uuid.UUID = Field(foreign_key="class_session.id", index=True)
    student_id: uuid.UUID = Field(foreign_key="student.id")
    code_hash: str = Field(max_length=128, unique=True)
    created_by: uuid.UUID = Field(foreign_key="app_user.id")
    expires_at: datetime = Field(sa_type=DateTime(timezone=True))
    used_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class AuditEvent(SQLModel, table=True):
    """Append-only, hash-chained: each row's ``hash`` covers its content and the previous row's hash."""

    __tablename__ = "audit_event"

    seq: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True), index=True)
    # Whose log it is (admins read their school's only); None for system events. No foreign key on purpose:
    # the audit trail is append-only and must neither block nor follow a school's deletion.
    school_id: uuid.UUID | None = Field(default=None, index=True)
    actor: str = Field(max_length=64)  # "user:<uuid>", "kiosk:<uuid>", "system"
    action: str = Field(max_length=64, index=True)  # e.g. "enrollment.create", "checkin.face"
    target: str | None = Field(default=None, max_length=128)  # student ids are keyed-HMAC hashed
    result: str = Field(max_length=16)  # "ok" | "denied" | "error"
    request_id: str | None = Field(default=None, max_length=64)
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64, unique=True)
