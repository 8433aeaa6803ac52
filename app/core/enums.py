"""The domain's enumerations: shared by the tables (stored as short strings), the API's schemas and the
services, so none of them has to import the ORM module for a role or a status."""

from __future__ import annotations

from enum import StrEnum


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


class NotificationChannel(StrEnum):
    email = "email"
    sms = "sms"
    push = "push"
    webhook = "webhook"


class DeliveryStatus(StrEnum):
    pending = "pending"  # due at next_attempt_at (first try, a retry, or deferred by quiet hours)
    sending = "sending"  # claimed by a worker until next_attempt_at (a lease); then due again
    sent = "sent"
    dead = "dead"  # the dead letter: max attempts spent, or a permanent error; an admin may retry it
    skipped = "skipped"  # nothing to send any more (unsubscribed, address removed, student erased)


class ErasureState(StrEnum):
    erased = "erased"  # gone from PostgreSQL, Redis and Milvus' live data; Milvus files not yet compacted
    completed = "completed"  # and physically gone from Milvus' segments (compaction, or an index rebuild)
