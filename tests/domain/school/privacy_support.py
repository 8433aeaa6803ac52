"""Helpers of the privacy tests: a student with data in every store, and searches of every store for them."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import redis
from sqlalchemy import Engine, select
from sqlmodel import Session, SQLModel

from app.core.config import Settings
from app.core.enums import AttendanceStatus, CheckinMethod, Role
from app.db.tables import (
    Attendance,
    AttendanceArchive,
    AttendanceChange,
    CheckinCode,
    ClassMember,
    NotificationContact,
    Student,
    User,
    utcnow,
)
from app.schemas.consent import ConsentCreate
from app.services.biometrics.stores import BiometricStores
from app.services.checkin.cache import Replay
from app.services.enrollment.service import EnrollmentService
from app.services.identity.auth import TokenFamilies
from app.services.identity.principal import Principal
from app.services.privacy import consent, disclosure
from tests.domain.school.conftest import World


@dataclass
class Subject:
    """The student to erase or export, and every string that would identify them."""

    student: Student
    user: User
    needles: list[str]

    @property
    def id(self) -> uuid.UUID:
        return self.student.id


async def make_subject(
    world: World, settings: Settings, stores: BiometricStores, photos: list[bytes], client: redis.Redis
) -> Subject:
    """A student with something in every store: enrolled (templates, vectors), attendance with a correction
    and an archived record, a one-time code, a sign-in account with a session, a cached check-in answer, a
    guardian contact, a disclosure-log entry."""
    db = world.db
    student = Student(
        school_id=world.school.id,
        student_number="ERASE-7731",
        first_name="Zebulon",
        last_name="Quixotic",
        display_name="Zebulon Q.",
        guardian_email="zq-guardian@example.org",
    )
    db.add(student)
    db.flush()
    db.add(ClassMember(class_id=world.klass.id, student_id=student.id))
    db.commit()
    consent.grant_consent(
        db,
        world.admin,
        student.id,
        ConsentCreate(granted_by_name="Guardian Quixotic", relation="guardian"),
        current_version=settings.consent_version,
        age_of_majority=settings.age_of_majority,
        request_id=None,
    )
    db.commit()
    await EnrollmentService(stores, stores.face_service, settings.enrollment).enroll(
        world.admin, student.id, photos, None
    )
    lesson = world.lesson()
    record = Attendance(
        lesson_id=lesson.id,
        student_id=student.id,
        status=AttendanceStatus.late,
        method=CheckinMethod.face,
        confidence=0.8,
        recorded_by=world.kiosk.actor,
    )
    db.add(record)
    db.flush()
    db.add(
        AttendanceChange(
            attendance_id=record.id,
            changed_by=world.teacher.actor,
            old_status=AttendanceStatus.late,
            new_status=AttendanceStatus.excused,
            reason="Zebulon was at the dentist",
        )
    )
    db.add(
        CheckinCode(
            lesson_id=lesson.id,
            student_id=student.id,
            code_hash=uuid.uuid4().hex,
            created_by=world.teacher.id,
            expires_at=utcnow() + timedelta(hours=1),
        )
    )
    db.add(
        AttendanceArchive(
            id=uuid.uuid4(),
            school_id=world.school.id,
            student_id=student.id,
            lesson_id=uuid.uuid4(),
            class_id=world.klass.id,
            lesson_starts_at=utcnow() - timedelta(days=800),
            status=AttendanceStatus.absent,
            method=CheckinMethod.manual,
            recorded_at=utcnow() - timedelta(days=800),
            recorded_by=world.teacher.actor,
            changes=[{"reason": "Zebulon was ill", "to": "excused"}],
        )
    )
    guardian = {"name": "Guardian Quixotic", "email": "zq-guardian@example.org"}
    db.add(NotificationContact(school_id=world.school.id, student_id=student.id, **guardian))
    user = User(
        school_id=world.school.id,
        email="zebulon.q@example.org",
        full_name="Zebulon Quixotic",
        role=Role.student,
        password_hash="$argon2id$unused",
        student_id=student.id,
    )
    db.add(user)
    db.commit()
    TokenFamilies(client, 3600).open(user.id)
    answer = json.dumps({"student": str(student.id)})
    stores.cache.finish(None, 0, Replay(world.kiosk.id, "frame-1", "fp-1", answer, [student.id]))
    disclosure.record(db, world.admin, student, action="view", full=True, categories=["profile"],
                      purpose="checking the guardian's address", request_id=None)  # fmt: skip
    db.commit()
    needles = [
        str(student.id),
        student.id.hex,
        str(user.id),
        user.id.hex,
        "ERASE-7731",
        "Zebulon",
        "Quixotic",
        "zq-guardian@example.org",
        "zebulon.q@example.org",
    ]
    return Subject(student, user, needles)


def _flat(value: object) -> str:
    if isinstance(value, bytes | memoryview):
        return bytes(value).hex()
    return json.dumps(value, default=str) if isinstance(value, dict | list) else str(value)


def pg_mentions(engine: Engine, needles: list[str]) -> list[str]:
    """``"table.column: needle"`` for every value in PostgreSQL that contains one of ``needles``."""
    found = []
    lowered = [needle.lower() for needle in needles]
    with Session(engine) as session:
        for table in SQLModel.metadata.sorted_tables:
            for row in session.execute(select(table)).mappings():
                for column, value in row.items():
                    text = _flat(value).lower()
                    found += [
                        f"{table.name}.{column}: {n}" for n in lowered if value is not None and n in text
                    ]
    return found


def redis_mentions(client: redis.Redis, needles: list[str]) -> list[str]:
    """Every Redis key whose name or value contains one of ``needles``."""
    found = []
    for key in client.scan_iter(count=1000):
        name = str(key)
        kind = str(client.type(key))
        if kind == "string":
            value = str(client.get(key))
        elif kind == "set":
            value = " ".join(str(member) for member in client.smembers(key))
        elif kind == "hash":
            value = json.dumps(client.hgetall(key), default=str)
        else:
            value = ""
        found += [f"{name}: {n}" for n in needles if n in name or n in value]
    return found


def lite_labels(uri: str) -> set[str]:
    """Every label physically present in a Milvus Lite database's data files and write-ahead logs."""
    labels: set[str] = set()
    for path in Path(uri).rglob("*"):
        if path.suffix == ".parquet" and "/data/" in str(path):
            table = pq.read_table(path)
        elif path.suffix == ".arrow" and "wal_data" in path.name:
            with pa.OSFile(str(path)) as source:
                try:
                    table = pa.ipc.open_stream(source).read_all()
                except pa.ArrowInvalid:  # an empty WAL
                    continue
        else:
            continue
        if "label" in table.column_names:
            labels.update(table.column("label").to_pylist())
    return labels


def as_admin(world: World) -> Principal:
    return world.admin
