"""A small school for the domain tests: one admin, two teachers, a class in room R1 with three students, a
student in another class, a student user, and a kiosk in R1. Rows are written directly (the services under
test are what create them through the API); the face stack is the real one (YuNet + SFace over Milvus Lite,
in process), loaded once per session.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from app.core.config import Settings
from app.core.crypto import new_keyring_text
from app.core.enums import EnrollmentStatus, Role
from app.core.redis import make_redis
from app.db.tables import ClassMember, Consent, Lesson, School, SchoolClass, Student, User, utcnow
from app.schemas.consent import ConsentCreate
from app.services.biometrics.face_service import FaceService
from app.services.biometrics.stores import BiometricStores, TemplateCipher
from app.services.checkin.cache import CheckinCache
from app.services.checkin.challenges import ChallengeLedger
from app.services.checkin.lesson_cache import LessonCache
from app.services.checkin.service import CheckinService
from app.services.enrollment.service import EnrollmentService
from app.services.identity.principal import Principal
from app.services.privacy import consent
from deployments.serve_file import user_config
from models.detectors import load_detector
from models.embedder import SfaceEmbedder
from models.eval.clips import CLIP_NAMES, clip_photos
from models.gallery import FaceGallery
from tests.domain.authkit import TEST_SECRETS
from tests.school_faces import PEOPLE, load_photos
from tests.serving import StoresWithFaces, serving_face_service, serving_pipeline


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Explicit secrets (nothing generated on disk) and cheap hashing; the audit trail uses its keys."""
    made = Settings(
        data_dir=tmp_path_factory.mktemp("school-data"),
        secret_key="s" * 48,
        template_key=new_keyring_text("t1"),
        id_hash_key=TEST_SECRETS["id_hash_key"],  # the keys of the test engine's audit trail
        argon2_time_cost=1,
        argon2_memory_kib=64,
        argon2_parallelism=1,
    )
    return made


def make_user(db: Session, school: School, role: Role, student: Student | None = None) -> Principal:
    user = User(
        school_id=school.id,
        email=f"{uuid.uuid4().hex[:10]}@example.org",
        full_name=f"A {role.value}",
        role=role,
        password_hash="unused",
        student_id=student.id if student else None,
    )
    db.add(user)
    db.commit()
    return Principal(kind="user", id=user.id, school_id=school.id, role=role, student_id=user.student_id)


def make_student(
    db: Session,
    school: School,
    number: str,
    *,
    member_of: SchoolClass | None = None,
    birth: date | None = None,
) -> Student:
    student = Student(
        school_id=school.id,
        student_number=number,
        first_name=number.capitalize(),
        last_name="Test",
        display_name=f"{number.capitalize()} T.",
        birth_date=birth,
    )
    db.add(student)
    db.flush()
    if member_of is not None:
        db.add(ClassMember(class_id=member_of.id, student_id=student.id))
    db.commit()
    return student


@dataclass
class World:
    """The rows every test starts from, and principals to act as."""

    db: Session
    school: School
    admin: Principal
    teacher: Principal
    other_teacher: Principal
    klass: SchoolClass
    other_class: SchoolClass
    students: list[Student]
    outsider: Student
    student_user: Principal
    kiosk: Principal

    def student(
        self, number: str, *, member_of: SchoolClass | None = None, birth: date | None = None
    ) -> Student:
        return make_student(self.db, self.school, number, member_of=member_of, birth=birth)

    def lesson(
        self,
        klass: SchoolClass | None = None,
        *,
        started_min_ago: float = 2,
        minutes: int = 45,
        grace: int = 5,
    ) -> Lesson:
        """A session of ``klass`` (default: the teacher's) that started ``started_min_ago`` minutes ago."""
        klass = klass or self.klass
        start = utcnow() - timedelta(minutes=started_min_ago)
        lesson = Lesson(
            class_id=klass.id,
            starts_at=start,
            ends_at=start + timedelta(minutes=minutes),
            grace_minutes=grace,
            room=klass.room,
        )
        self.db.add(lesson)
        self.db.commit()
        return lesson

    def without_colours(self) -> None:
        """Switch the school's colour layer off: recorded frames (clips, stills) cannot reflect a colour
        sequence chosen when the challenge is issued (docs/COLOUR_CHALLENGE.md), so tests that send them
        judge the other layers only."""
        self.school.colour_challenge = False
        self.db.add(self.school)
        self.db.commit()

    def consent(self, student: Student, version: str) -> Consent:
        consent = Consent(
            student_id=student.id,
            version=version,
            granted_by_name="Guardian",
            granted_by_relation="guardian",
            recorded_by=self.admin.id,
        )
        student.enrollment_status = EnrollmentStatus.pending
        self.db.add_all([consent, student])
        self.db.commit()
        return consent


def grant(world: World, settings: Settings, student: Student, **fields: object) -> Consent:
    data = ConsentCreate(**{"granted_by_name": "Maria Lagos", "relation": "guardian", **fields})
    made = consent.grant_consent(
        world.db,
        world.admin,
        student.id,
        data,
        current_version=settings.consent_version,
        age_of_majority=settings.age_of_majority,
        request_id="req-1",
    )
    world.db.commit()
    return made


@pytest.fixture
def world(db: Session, settings: Settings) -> World:
    school = School(name=f"School {uuid.uuid4().hex[:6]}", timezone="Europe/Berlin")
    db.add(school)
    db.commit()
    admin, teacher, other_teacher = (
        make_user(db, school, role) for role in (Role.admin, Role.teacher, Role.teacher)
    )
    klass = SchoolClass(school_id=school.id, code="7B", name="Class 7B", teacher_id=teacher.id, room="R1")
    other = SchoolClass(
        school_id=school.id, code="8A", name="Class 8A", teacher_id=other_teacher.id, room="R2"
    )
    db.add_all([klass, other])
    db.commit()
    students = [make_student(db, school, name, member_of=klass) for name in PEOPLE]
    outsider = make_student(db, school, "outsider", member_of=other)
    return World(
        db=db,
        school=school,
        admin=admin,
        teacher=teacher,
        other_teacher=other_teacher,
        klass=klass,
        other_class=other,
        students=students,
        outsider=outsider,
        student_user=make_user(db, school, Role.student, students[0]),
        kiosk=Principal(kind="kiosk", id=uuid.uuid4(), school_id=school.id, room="R1"),
    )


@pytest.fixture(scope="session")
def gallery(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaceGallery]:
    """Milvus Lite in a file of its own; each test's school is its own gallery, so tests do not mix."""
    embedder = SfaceEmbedder.load(settings.model_cache)
    store = FaceGallery(str(tmp_path_factory.mktemp("milvus") / "faces.db"), embedder.model_id, embedder.dim)
    yield store
    store.close()


@pytest.fixture(scope="session")
def face_service(settings: Settings, gallery: FaceGallery) -> FaceService:
    """The real models (YuNet + SFace) in this process, as the Serve deployments run them, at the operating
    points serve_config.yaml gives them (thresholds, detector score, quality limits): not a copy."""
    detector = load_detector(user_config("Detector")["profile"], settings.model_cache)
    pipeline = serving_pipeline(detector, SfaceEmbedder.load(settings.model_cache), gallery)
    return serving_face_service(pipeline, settings)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def stores(
    engine: Engine, face_service: FaceService, settings: Settings, redis_url: str
) -> Iterator[BiometricStores]:
    client = make_redis(redis_url)
    keyring = settings.keyring()
    cache = CheckinCache(client, settings.idempotency_ttl_s)
    yield StoresWithFaces(engine, face_service.index, TemplateCipher(keyring), cache, face_service)
    client.close()


@pytest.fixture(scope="session")
def photos(faces_dir: Path) -> dict[str, list[bytes]]:
    return load_photos(faces_dir)


def live_checkin(
    stores: BiometricStores, settings: Settings, lessons: LessonCache | None = None
) -> CheckinService:
    """Check-in with the liveness challenge on (the integration suite's settings switch it off)."""
    live = settings.model_copy(update={"liveness_mode": "challenge"})
    ledger = ChallengeLedger(stores.cache._client, live.challenge_ttl_s)
    return CheckinService(stores, stores.face_service, live.checkin, ledger, lessons=lessons)


async def enroll_clip_person(world: World, settings: Settings, stores: BiometricStores) -> World:
    """The person of the generated clip is the class's first student, enrolled from three stills of the
    clip, and a lesson is open: what the challenge tests check in."""
    student = world.students[0]
    grant(world, settings, student)
    photos = clip_photos(CLIP_NAMES[0])
    await EnrollmentService(stores, stores.face_service, settings.enrollment).enroll(
        world.admin, student.id, photos, None
    )
    world.lesson()
    return world
