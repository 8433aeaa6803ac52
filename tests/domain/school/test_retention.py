"""Retention: failed-check-in frames only when kept on purpose, and gone after 24 h; attendance archived after
2 years and deleted after 7; leavers' biometric data erased; a dry run changes nothing and a second run
changes nothing more. Also through ``python -m app.jobs retention``."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlmodel import Session
from typer.testing import CliRunner

from app.core.config import Settings
from app.core.enums import AttendanceStatus, CheckinMethod, EnrollmentStatus
from app.db.tables import (
    Attendance,
    AttendanceArchive,
    AttendanceChange,
    AuditEvent,
    Consent,
    FaceTemplate,
    Lesson,
    ReviewFrame,
    utcnow,
)
from app.jobs.__main__ import cli
from app.services.biometrics.stores import BiometricStores, gallery_of
from app.services.checkin.service import CheckinRequest
from app.services.privacy import retention
from tests.domain.authkit import TEST_SECRETS
from tests.domain.school.conftest import World
from tests.domain.school.test_checkin import enrolled, kiosk_service  # noqa: F401 - a fixture, and a helper

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("redis_url")]


def count(db: Session, model: type, *where: object) -> int:
    db.expire_all()
    return int(db.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def _attendance_at(world: World, days_ago: int, *, corrected: bool = False) -> Attendance:
    when = utcnow() - timedelta(days=days_ago)
    lesson = Lesson(class_id=world.klass.id, starts_at=when, ends_at=when + timedelta(minutes=45))
    world.db.add(lesson)
    world.db.flush()
    record = Attendance(
        lesson_id=lesson.id,
        student_id=world.students[0].id,
        status=AttendanceStatus.late,
        method=CheckinMethod.face,
        recorded_at=when,
        recorded_by=world.kiosk.actor,
    )
    world.db.add(record)
    world.db.flush()
    if corrected:
        world.db.add(
            AttendanceChange(
                attendance_id=record.id,
                changed_by=world.teacher.actor,
                old_status=AttendanceStatus.late,
                new_status=AttendanceStatus.excused,
                reason="bus strike",
            )
        )
    world.db.commit()
    return record


async def test_attendance_is_archived_then_deleted_and_reruns_change_nothing(
    world: World, settings: Settings, engine
) -> None:
    recent = _attendance_at(world, 30).id
    old = _attendance_at(world, 3 * 365, corrected=True).id
    ancient = _attendance_at(world, 8 * 365).id

    planned = await retention.run(engine, settings.retention, stores=None, dry_run=True)
    assert (planned.attendance_archived, planned.attendance_deleted, planned.dry_run) == (2, 1, True)
    assert count(world.db, Attendance) == 3 and count(world.db, AttendanceArchive) == 0

    done = await retention.run(engine, settings.retention.model_copy(update={"batch_size": 1}), stores=None)
    assert (done.attendance_archived, done.attendance_deleted) == (2, 1)
    assert [a.id for a in world.db.scalars(select(Attendance))] == [recent]
    (archived,) = world.db.scalars(select(AttendanceArchive))
    assert (archived.id, archived.status, archived.class_id) == (
        old,
        AttendanceStatus.late,
        world.klass.id,
    )
    assert [(c["from"], c["to"], c["reason"]) for c in archived.changes] == [
        ("late", "excused", "bus strike")
    ]
    assert count(world.db, AttendanceChange) == 0
    assert world.db.get(AttendanceArchive, ancient) is None

    again = await retention.run(engine, settings.retention, stores=None)
    assert (again.attendance_archived, again.attendance_deleted, again.review_frames_deleted) == (0, 0, 0)
    # five years on: the archived record is past the delete age, the recent one past the archive age
    later = await retention.run(
        engine, settings.retention, stores=None, now=utcnow() + timedelta(days=5 * 365)
    )
    assert (later.attendance_archived, later.attendance_deleted) == (1, 1)
    assert [a.id for a in world.db.scalars(select(AttendanceArchive))] == [recent]


async def test_failed_check_in_frames_are_kept_only_on_purpose_and_for_a_day(
    world: World, settings: Settings, stores: BiometricStores, photos: dict[str, list[bytes]], engine
) -> None:
    world.lesson()
    stranger = photos["stranger"][0]
    answer = await kiosk_service(stores, settings).check_in(world.kiosk, CheckinRequest(stranger), None)
    assert answer.unknown == 1
    assert count(world.db, ReviewFrame) == 0  # the default: no image outlives its request

    keeping = settings.model_copy(update={"keep_failed_checkin_frames": True})
    await kiosk_service(stores, keeping).check_in(world.kiosk, CheckinRequest(stranger), None)
    (kept,) = world.db.scalars(select(ReviewFrame))
    assert kept.reason == "unknown" and kept.media_type == "image/jpeg"
    assert stranger[:64] not in kept.ciphertext  # encrypted
    assert kept.expires_at - kept.captured_at == timedelta(hours=24)

    assert (await retention.run(engine, settings.retention, stores=None)).review_frames_deleted == 0
    tomorrow = utcnow() + timedelta(hours=24, minutes=1)
    assert (
        await retention.run(engine, settings.retention, stores=None, now=tomorrow, dry_run=True)
    ).review_frames_deleted == 1
    assert (
        await retention.run(engine, settings.retention, stores=None, now=tomorrow)
    ).review_frames_deleted == 1
    assert count(world.db, ReviewFrame) == 0


async def test_students_who_left_lose_their_biometric_data(
    enrolled: World,  # noqa: F811 - the fixture imported above
    settings: Settings,
    stores: BiometricStores,
    photos: dict[str, list[bytes]],
    engine,
) -> None:
    world = enrolled
    leaver = world.students[1]  # wolfowitz
    leaver.active = False
    world.db.add(leaver)
    world.db.commit()

    planned = await retention.run(engine, settings.retention, stores=stores, dry_run=True)
    assert (planned.leavers_erased, planned.leaver_templates_deleted) == (1, 3)
    assert count(world.db, FaceTemplate, FaceTemplate.student_id == leaver.id) == 3

    done = await retention.run(engine, settings.retention, stores=stores)
    assert (done.leavers_erased, done.leaver_templates_deleted, done.leaver_vectors_deleted) == (1, 3, 3)
    assert done.errors == []
    assert count(world.db, FaceTemplate, FaceTemplate.student_id == leaver.id) == 0
    assert count(world.db, Consent, Consent.student_id == leaver.id, Consent.withdrawn_at.is_(None)) == 0
    world.db.refresh(leaver)
    assert leaver.enrollment_status is EnrollmentStatus.none
    (found,) = await stores.face_service.identify(gallery_of(world.school.id), photos["wolfowitz"][3])
    assert found.match.label is None
    event = world.db.scalars(
        select(AuditEvent).where(AuditEvent.action == "retention.leaver_biometrics")
    ).one()
    assert event.actor == "system" and event.details["templates_deleted"] == 3
    # the others keep theirs; and a second run has nothing left to do
    assert count(world.db, FaceTemplate) == 6
    again = await retention.run(engine, settings.retention, stores=stores)
    assert (again.leavers_erased, again.attendance_archived, again.erasures_compacted) == (0, 0, 0)


def test_retention_command(world: World, pg_url: str, redis_url: str, tmp_path) -> None:
    from app.core.config import get_settings

    _attendance_at(world, 3 * 365)
    env = {
        "ROLLCALL_DATABASE_URL": pg_url,
        "ROLLCALL_REDIS_URL": redis_url,
        "ROLLCALL_DATA_DIR": str(tmp_path),
        "ROLLCALL_MILVUS_URI": str(tmp_path / "jobs.db"),
        "ROLLCALL_SECRET_KEY": TEST_SECRETS["secret_key"],
        "ROLLCALL_ID_HASH_KEY": TEST_SECRETS["id_hash_key"],
        "ROLLCALL_TEMPLATE_KEY": TEST_SECRETS["template_key"],
    }
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        dry = runner.invoke(cli, ["retention", "--dry-run", "--json"], env=env)
        assert dry.exit_code == 0, dry.output
        assert json.loads(dry.stdout)["attendance_archived"] == 1
        assert count(world.db, Attendance) == 1
        done = runner.invoke(cli, ["retention", "--json"], env=env)
        assert done.exit_code == 0, done.output
        assert json.loads(done.stdout)["attendance_archived"] == 1
        table = runner.invoke(cli, ["retention"], env=env)  # the human-readable report
        assert table.exit_code == 0 and "attendance_archived" in table.stdout
    finally:
        get_settings.cache_clear()
