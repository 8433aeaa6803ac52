"""The transactional schema. PostgreSQL is the source of truth; Milvus only indexes what is stored here.

Conventions: UUID primary keys (safe to expose, no enumeration), timezone-aware UTC timestamps, enums stored
as short strings (readable in SQL, no ALTER TYPE for a new value), and every unique rule the domain relies on
enforced by a constraint, so a race between two requests ends in a conflict, never in two rows.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, DateTime, Index, LargeBinary, UniqueConstraint, true
from sqlalchemy import Enum as SAEnum
from sqlmodel import Field, SQLModel

from app.core.enums import (
    AttendanceStatus,
    CheckinMethod,
    DeliveryStatus,
    EnrollmentStatus,
    ErasureState,
    NotificationChannel,
    Role,
)

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


class School(SQLModel, table=True):
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    name: str = Field(max_length=200, unique=True)
    timezone: str = Field(default="UTC", max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    # The kiosk screen's colour sequence as a liveness layer (docs/COLOUR_CHALLENGE.md); admins may switch
    # it off, e.g. for kiosks whose screens cannot light a face.
    colour_challenge: bool = Field(default=True, sa_column_kwargs={"server_default": true()})
    # The admin's run-time switch for the kiosk's liveness checks (on unless switched off, audited); the
    # installation's ``liveness_mode: off`` overrides it for every school.
    liveness: bool = Field(default=True, sa_column_kwargs={"server_default": true()})
    # Set by the installation's operator (``python -m app.tenants suspend``): nobody of the school signs in,
    # its kiosks are refused, its data is kept.
    suspended_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


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


class Lesson(SQLModel, table=True):
    """One lesson of a class: attendance is recorded per lesson."""

    __tablename__ = "lesson"
    __table_args__ = (Index("ix_lesson_class_start", "class_id", "starts_at"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    class_id: uuid.UUID = Field(foreign_key="school_class.id")
    starts_at: datetime = Field(sa_type=DateTime(timezone=True))
    ends_at: datetime = Field(sa_type=DateTime(timezone=True))
    grace_minutes: int = Field(default=5, ge=0, le=120)  # arriving later than this is "late"
    room: str | None = Field(default=None, max_length=64)
    closed_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))

    @property
    def over_at(self) -> datetime:
        """When the lesson stopped taking attendance: closed early, or its end. Who joined the class later
        was never expected at it (reports, absence notices)."""
        return min(self.ends_at, self.closed_at) if self.closed_at is not None else self.ends_at


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
    # The enrolled photo's aligned 112x112 crop (PNG), sealed (``Keyring.seal``): what a new embedding model
    # re-embeds (``services.enrollment.reembed``); None for templates enrolled before crops were kept.
    crop_sealed: bytes | None = Field(default=None, sa_type=LargeBinary)
    vector_id: int | None = Field(default=None, sa_type=BigInteger)  # Milvus ids are 64-bit
    quality: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


class Attendance(SQLModel, table=True):
    """At most one record per (session, student): the constraint makes retried check-ins harmless."""

    __table_args__ = (
        UniqueConstraint("lesson_id", "student_id", name="uq_attendance_lesson_student"),
        Index("ix_attendance_student_time", "student_id", "recorded_at"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    lesson_id: uuid.UUID = Field(foreign_key="lesson.id")
    student_id: uuid.UUID = Field(foreign_key="student.id")
    status: AttendanceStatus = Field(sa_type=enum_type(AttendanceStatus))
    method: CheckinMethod = Field(sa_type=enum_type(CheckinMethod))
    confidence: float | None = None
    # Face check-ins: whether liveness ran and passed (False when switched off); None for codes and marks.
    liveness_checked: bool | None = None
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
    lesson_id: uuid.UUID = Field(foreign_key="lesson.id", index=True)
    student_id: uuid.UUID = Field(foreign_key="student.id")
    code_hash: str = Field(max_length=128, unique=True)
    created_by: uuid.UUID = Field(foreign_key="app_user.id")
    expires_at: datetime = Field(sa_type=DateTime(timezone=True))
    used_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


#: ``AuditEvent.chain`` values (``app.services.privacy.audit``).
AUDIT_CHAIN_SCHOOL = "school"
AUDIT_CHAIN_GLOBAL = "global"


class AuditEvent(SQLModel, table=True):
    """Append-only, hash-chained: each row's ``hash`` covers its content and the previous row's hash."""

    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_school_seq", "school_id", "seq"),
        Index("ux_audit_event_school_school_seq", "school_id", "school_seq", unique=True),
    )

    seq: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True), index=True)
    # Whose log it is (admins read their school's only); None for system events. No foreign key on purpose:
    # the audit trail is append-only and must neither block nor follow a school's deletion.
    school_id: uuid.UUID | None = None  # indexed with seq: a school's chain in order
    actor: str = Field(max_length=64)  # "user:<uuid>", "kiosk:<uuid>", "system"
    action: str = Field(max_length=64, index=True)  # e.g. "enrollment.create", "checkin.face"
    target: str | None = Field(default=None, max_length=128)  # student ids are keyed-HMAC hashed
    result: str = Field(max_length=16)  # "ok" | "denied" | "error"
    request_id: str | None = Field(default=None, max_length=64)
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64, unique=True)
    # Which chain ``prev_hash`` links into: the school's own ("school"), or, for events written before
    # per-school chains, the one line through every school ("global"); not covered by the hash.
    chain: str = Field(default=AUDIT_CHAIN_SCHOOL, max_length=8)
    # The event's number in its school's own trail (1, 2, ... without gaps), what the school is shown instead
    # of ``seq``, whose gaps would reveal other schools' activity; None for events of no school. Not covered
    # by the hash either (``prev_hash`` already fixes the order).
    school_seq: int | None = None


# ---------------------------------------------------------------------- notifications (app.notifications)


class NotificationSettings(SQLModel, table=True):
    """Per school: quiet hours (local time; people are not messaged then, deliveries wait) and language."""

    __tablename__ = "notification_settings"

    school_id: uuid.UUID = Field(foreign_key="school.id", primary_key=True, ondelete="CASCADE")
    quiet_start: time | None = None  # e.g. 20:00
    quiet_end: time | None = None  # e.g. 07:00 (may be earlier than the start: the window spans midnight)
    language: str = Field(default="en", max_length=8)


class NotificationContact(SQLModel, table=True):
    """Who is told what, how: a student's guardian, a staff user (summaries), or a school-wide endpoint
    (neither set: e.g. the school's information system through a signed webhook)."""

    __tablename__ = "notification_contact"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    school_id: uuid.UUID = Field(foreign_key="school.id", index=True, ondelete="CASCADE")
    student_id: uuid.UUID | None = Field(
        default=None, foreign_key="student.id", index=True, ondelete="CASCADE"
    )
    user_id: uuid.UUID | None = Field(default=None, foreign_key="app_user.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=200)
    language: str = Field(default="en", max_length=8)
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=32)
    push_topic: str | None = Field(default=None, max_length=128)
    webhook_url: str | None = Field(default=None, max_length=500)
    webhook_secret_enc: bytes | None = Field(default=None, sa_type=LargeBinary)  # sealed, see core.crypto
    channels: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    topics: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


class NotificationEvent(SQLModel, table=True):
    """The outbox: written in the transaction of the change it announces, once (``dedupe_key``)."""

    __tablename__ = "notification_event"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    school_id: uuid.UUID = Field(foreign_key="school.id", index=True, ondelete="CASCADE")
    kind: str = Field(max_length=32)
    dedupe_key: str = Field(max_length=160, unique=True)
    student_id: uuid.UUID | None = Field(
        default=None, foreign_key="student.id", index=True, ondelete="CASCADE"
    )
    lesson_id: uuid.UUID | None = Field(default=None)  # no foreign key: the event outlives a deleted session
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    fanned_out_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True), index=True)


class NotificationDelivery(SQLModel, table=True):
    """One message of one event to one contact on one channel: at most one row per idempotency key."""

    __tablename__ = "notification_delivery"
    __table_args__ = (Index("ix_delivery_due", "status", "next_attempt_at"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    event_id: uuid.UUID = Field(foreign_key="notification_event.id", index=True, ondelete="CASCADE")
    contact_id: uuid.UUID = Field(foreign_key="notification_contact.id", index=True, ondelete="CASCADE")
    school_id: uuid.UUID = Field(foreign_key="school.id", index=True, ondelete="CASCADE")
    channel: NotificationChannel = Field(sa_type=enum_type(NotificationChannel))
    idempotency_key: str = Field(max_length=200, unique=True)  # event:contact:channel
    status: DeliveryStatus = Field(default=DeliveryStatus.pending, sa_type=enum_type(DeliveryStatus))
    attempts: int = Field(default=0)
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    last_error: str | None = Field(default=None, max_length=500)
    sent_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


# ---------------------------------------------------------------------- privacy (docs/PRIVACY.md)


class ErasureTombstone(SQLModel, table=True):
    """What remains of an erased student: no personal data, only proof that the erasure happened.

    ``subject`` is the keyed pseudonym of the student's id (the one the audit trail uses), so the receipt,
    the audit events and the disclosure log still refer to one another, and a restore of an older backup
    can find and erase the student again; the id itself is gone from every store."""

    __tablename__ = "erasure_tombstone"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)  # the receipt id
    subject: str = Field(max_length=64, unique=True)  # HMAC-SHA256 of the student id (hex)
    school_id: uuid.UUID = Field(index=True)  # no foreign key: the proof outlives the school
    requested_by: str = Field(max_length=64)  # "user:<uuid>" or "system"
    requested_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    state: ErasureState = Field(default=ErasureState.erased, sa_type=enum_type(ErasureState))
    completed_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    receipt: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class DisclosureRecord(SQLModel, table=True):
    """FERPA's record of disclosures: who saw or exported which student's records, what, why and when.

    ``student_id`` has no foreign key on purpose: the log outlives the student; erasure replaces the id by
    ``None`` and the entry keeps only ``subject`` (the student's keyed pseudonym)."""

    __tablename__ = "disclosure_log"
    __table_args__ = (Index("ix_disclosure_school_at", "school_id", "at"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    school_id: uuid.UUID
    student_id: uuid.UUID | None = Field(default=None, index=True)
    subject: str = Field(max_length=64, index=True)
    actor: str = Field(max_length=64)  # "user:<uuid>"
    actor_role: str = Field(max_length=16)
    action: str = Field(max_length=32)  # "view" | "export"
    scope: str = Field(max_length=32)  # "full" | "limited": were non-directory fields disclosed?
    categories: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    purpose: str = Field(max_length=500)
    request_id: str | None = Field(default=None, max_length=64)
    at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


class AttendanceArchive(SQLModel, table=True):
    """Attendance older than the archive age: out of the working table (teachers' views, reports), kept for
    the retention period with its corrections folded in, then deleted (``app.services.privacy.retention``)."""

    __tablename__ = "attendance_archive"
    __table_args__ = (Index("ix_attendance_archive_school_time", "school_id", "recorded_at"),)

    id: uuid.UUID = Field(primary_key=True)  # the id the record had in ``attendance``
    school_id: uuid.UUID = Field(foreign_key="school.id")
    student_id: uuid.UUID = Field(foreign_key="student.id", index=True, ondelete="CASCADE")
    lesson_id: uuid.UUID  # no foreign key: the archive outlives a deleted session
    class_id: uuid.UUID
    lesson_starts_at: datetime = Field(sa_type=DateTime(timezone=True))
    status: AttendanceStatus = Field(sa_type=enum_type(AttendanceStatus))
    method: CheckinMethod = Field(sa_type=enum_type(CheckinMethod))
    confidence: float | None = None
    recorded_at: datetime = Field(sa_type=DateTime(timezone=True))
    recorded_by: str = Field(max_length=64)
    changes: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    archived_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


class ReviewFrame(SQLModel, table=True):
    """A kiosk frame kept for review after a failed face check-in: only when the school turned this on
    (``keep_failed_checkin_frames``), encrypted like a template, and deleted when ``expires_at`` passes."""

    __tablename__ = "review_frame"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    school_id: uuid.UUID = Field(foreign_key="school.id", index=True)
    kiosk_id: uuid.UUID
    lesson_id: uuid.UUID | None = None
    reason: str = Field(max_length=32)  # "unknown" | "not_verified"
    media_type: str = Field(max_length=32)
    key_id: str = Field(max_length=64)
    ciphertext: bytes = Field(sa_type=LargeBinary)  # nonce || ciphertext+tag
    captured_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    expires_at: datetime = Field(sa_type=DateTime(timezone=True), index=True)
