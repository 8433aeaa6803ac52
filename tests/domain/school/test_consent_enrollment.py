"""Consent and enrollment with the real face models and Milvus Lite: consent first, photos judged with
reasons, templates encrypted in PostgreSQL and vectors in Milvus, withdrawal erasing all of it, and no
half-written state when a step fails."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date

import cv2
import numpy as np
import pytest
from sqlalchemy import select

from app.core.config import Settings
from app.core.errors import Conflict, Forbidden, InvalidInput
from app.db.tables import AuditEvent, EnrollmentStatus, FaceTemplate, Student
from app.schemas.consent import ConsentCreate
from app.services import consent
from app.services.biometrics import BiometricStores, gallery_of, label_of, rebuild_school
from app.services.enrollment import EnrollmentService
from models.gallery import FaceGallery
from tests.domain.school.conftest import World, grant

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("redis_url")]


@pytest.fixture
def vectors(gallery: FaceGallery, world: World) -> Callable[[], int]:
    """How many vectors the world's school has in Milvus now."""
    return lambda: gallery.count(gallery_of(world.school.id))


@pytest.fixture
def enrolled(
    world: World, settings: Settings, stores: BiometricStores, photos: dict[str, list[bytes]]
) -> Callable[[Student, str], Awaitable[None]]:
    """Consent granted and three photos of the named person enrolled for the student, by the admin."""

    async def enroll(student: Student, person: str) -> None:
        grant(world, settings, student)
        await EnrollmentService(stores, settings).enroll(world.admin, student.id, photos[person][:3], None)

    return enroll


def templates(world: World, student: Student) -> list[FaceTemplate]:
    world.db.expire_all()
    return list(world.db.scalars(select(FaceTemplate).where(FaceTemplate.student_id == student.id)))


def test_consent_rules(world: World, settings: Settings) -> None:
    minor, adult = world.students[0], world.student("adult", member_of=world.klass, birth=date(1990, 1, 1))
    with pytest.raises(InvalidInput) as guardian:
        grant(world, settings, minor, relation="self")
    assert guardian.value.code == "guardian_required"
    with pytest.raises(InvalidInput) as outdated:
        grant(world, settings, minor, version="1999-1")
    assert outdated.value.code == "outdated_consent_version"
    given = grant(world, settings, adult, relation="self", granted_by_name="Adult Student")
    assert (given.version, given.granted_by_relation, given.recorded_by) == (
        settings.consent_version,
        "self",
        world.admin.id,
    )
    world.db.refresh(adult)
    assert adult.enrollment_status is EnrollmentStatus.pending
    with pytest.raises(Conflict):
        grant(world, settings, adult, relation="self", granted_by_name="Again")
    world.db.rollback()
    with pytest.raises(Forbidden):  # a teacher outside the student's classes
        consent.grant_consent(
            world.db,
            world.other_teacher,
            minor.id,
            ConsentCreate(granted_by_name="X", relation="guardian"),
            current_version=settings.consent_version,
            age_of_majority=18,
            request_id=None,
        )


async def test_enrollment_needs_consent_first(
    world: World,
    settings: Settings,
    stores: BiometricStores,
    photos: dict[str, list[bytes]],
    vectors: Callable[[], int],
) -> None:
    service = EnrollmentService(stores, settings)
    with pytest.raises(Conflict) as refused:
        await service.enroll(world.admin, world.students[0].id, photos["lagos"][:3], None)
    assert refused.value.code == "consent_required"
    assert templates(world, world.students[0]) == []
    assert vectors() == 0


async def test_enroll_stores_encrypted_templates_and_vectors(
    world: World,
    settings: Settings,
    stores: BiometricStores,
    photos: dict[str, list[bytes]],
    vectors: Callable[[], int],
) -> None:
    student = world.students[0]
    grant(world, settings, student)
    result = await EnrollmentService(stores, settings).enroll(
        world.teacher, student.id, photos["lagos"][:3], "req-2"
    )
    assert result.enrollment_status is EnrollmentStatus.enrolled
    assert [p.accepted for p in result.photos] == [True, True, True]
    rows = templates(world, student)
    assert len(rows) == 3 and all(row.vector_id is not None for row in rows)
    for row in rows:
        assert row.key_id == "t1"
        vector = stores.cipher.open(row)
        assert vector.shape == (128,) and abs(float(np.linalg.norm(vector)) - 1) < 1e-3
        assert vector.tobytes() not in row.ciphertext  # not stored in the clear
    assert vectors() == 3
    world.db.refresh(student)
    assert student.enrollment_status is EnrollmentStatus.enrolled
    matches = await stores.faces.identify(gallery_of(world.school.id), photos["lagos"][3])
    assert matches[0].match.label == label_of(student.id)
    audit = world.db.scalars(select(AuditEvent).where(AuditEvent.action == "enrollment.create")).all()
    assert [(e.result, e.target.startswith("student:"), str(student.id) in e.target) for e in audit] == [
        ("ok", True, False)  # the student id is pseudonymised in the trail
    ]
    # a new enrollment replaces the old one (no vectors pile up)
    await EnrollmentService(stores, settings).enroll(world.admin, student.id, photos["lagos"][1:4], None)
    assert len(templates(world, student)) == 3
    assert vectors() == 3


async def test_poor_photos_are_refused_with_reasons(
    world: World,
    settings: Settings,
    stores: BiometricStores,
    photos: dict[str, list[bytes]],
    vectors: Callable[[], int],
) -> None:
    student = world.students[1]
    grant(world, settings, student)
    service = EnrollmentService(stores, settings)
    with pytest.raises(InvalidInput) as count:
        await service.enroll(world.admin, student.id, photos["wolfowitz"][:2], None)
    assert count.value.code == "photo_count"
    blank_jpeg = cv2.imencode(".jpg", np.full((200, 200, 3), 128, np.uint8))[1].tobytes()
    someone_else = photos["lopez"][0]
    sent = [photos["wolfowitz"][0], blank_jpeg, b"not an image", someone_else]
    with pytest.raises(InvalidInput) as rejected:
        await service.enroll(world.admin, student.id, sent, None)
    assert rejected.value.code == "enrollment_rejected"
    verdicts = rejected.value.details["photos"]
    # two usable faces of two people: one is kept, the other refused; either way too few remain
    assert [v["accepted"] for v in verdicts].count(True) == 1
    assert verdicts[1]["reasons"] == ["no face was found"]
    assert verdicts[2]["reasons"]  # undecodable: said so, not a 500
    assert "does not look like the same person as the other photos" in (
        verdicts[0]["reasons"] + verdicts[3]["reasons"]
    )
    assert templates(world, student) == [] and vectors() == 0
    denied = world.db.scalars(select(AuditEvent.result).where(AuditEvent.action == "enrollment.create")).all()
    assert denied == ["denied"]


async def test_a_face_enrolled_as_another_student_is_refused(
    world: World, settings: Settings, stores: BiometricStores, photos: dict[str, list[bytes]]
) -> None:
    first, second = world.students[0], world.students[1]
    grant(world, settings, first)
    grant(world, settings, second)
    service = EnrollmentService(stores, settings)
    await service.enroll(world.admin, first.id, photos["lagos"][:3], None)
    with pytest.raises(Conflict) as twice:
        await service.enroll(world.admin, second.id, photos["lagos"][1:4], None)
    assert twice.value.code == "face_already_enrolled"


async def test_withdrawal_erases_everywhere(
    world: World,
    settings: Settings,
    stores: BiometricStores,
    photos: dict[str, list[bytes]],
    enrolled: Callable[[Student, str], Awaitable[None]],
    vectors: Callable[[], int],
) -> None:
    student = world.students[0]
    await enrolled(student, "lagos")
    stores.cache.remember(world.kiosk.id, "key-1", '{"cached": true}', [student.id])
    # the student themself may withdraw
    result = await consent.withdraw_consent(stores, world.student_user, student.id, "req-3")
    assert (result.consents_withdrawn, result.templates_deleted, result.vectors_deleted) == (1, 3, 3)
    assert result.cache_entries_deleted == 1
    assert templates(world, student) == []
    assert vectors() == 0
    assert stores.cache.answer(world.kiosk.id, "key-1") is None
    world.db.refresh(student)
    assert student.enrollment_status is EnrollmentStatus.none
    assert consent.active_consent(world.db, student.id) is None
    matches = await stores.faces.identify(gallery_of(world.school.id), photos["lagos"][3])
    assert matches[0].match.label is None
    # and enrollment is refused again until a new consent
    with pytest.raises(Conflict):
        await EnrollmentService(stores, settings).enroll(world.admin, student.id, photos["lagos"][:3], None)


async def test_a_failed_commit_leaves_milvus_as_postgresql_says(
    world: World,
    settings: Settings,
    stores: BiometricStores,
    photos: dict[str, list[bytes]],
    vectors: Callable[[], int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Enrollment replaces vectors in Milvus before PostgreSQL commits; if that commit fails, the old
    enrollment must be what both stores hold afterwards."""
    student = world.students[0]
    grant(world, settings, student)
    service = EnrollmentService(stores, settings)
    await service.enroll(world.admin, student.id, photos["lagos"][:3], None)
    before = sorted(t.id for t in templates(world, student))

    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("database went away mid-command")

    monkeypatch.setattr(service, "_write_templates", broken)
    with pytest.raises(RuntimeError):
        await service.enroll(world.admin, student.id, photos["lagos"][1:4], None)
    assert sorted(t.id for t in templates(world, student)) == before
    assert vectors() == 3  # the compensation put the committed ones back
    matches = await stores.faces.identify(gallery_of(world.school.id), photos["lagos"][3])
    assert matches[0].match.label == label_of(student.id)


async def test_milvus_can_be_rebuilt_from_postgresql(
    world: World,
    settings: Settings,
    stores: BiometricStores,
    photos: dict[str, list[bytes]],
    enrolled: Callable[[Student, str], Awaitable[None]],
    vectors: Callable[[], int],
) -> None:
    student = world.students[2]
    await enrolled(student, "lopez")
    await stores.faces.forget(gallery_of(world.school.id), label_of(student.id))  # Milvus lost it
    assert vectors() == 0
    assert await rebuild_school(stores.engine, stores.faces, stores.cipher, world.school.id) == 3
    matches = await stores.faces.identify(gallery_of(world.school.id), photos["lopez"][3])
    assert matches[0].match.label == label_of(student.id)


async def test_deleting_a_student_erases_them(
    world: World,
    settings: Settings,
    stores: BiometricStores,
    photos: dict[str, list[bytes]],
    enrolled: Callable[[Student, str], Awaitable[None]],
    vectors: Callable[[], int],
) -> None:
    student = world.students[2]
    await enrolled(student, "lopez")
    with pytest.raises(Forbidden):
        await consent.delete_student(stores, world.teacher, student.id, None)
    student_id = student.id
    result = await consent.delete_student(stores, world.admin, student_id, None)
    assert result.vectors_deleted == 3
    world.db.expire_all()
    assert world.db.get(Student, student_id) is None
    assert vectors() == 0
    with pytest.raises(Conflict):  # a student with a sign-in account keeps it until that is deleted
        await consent.delete_student(stores, world.admin, world.students[0].id, None)
