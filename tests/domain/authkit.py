"""Auth fixtures and helpers shared by the auth, audit, RBAC and token-attack tests (and any HTTP test that
needs real credentials): fast test settings, the app over real PostgreSQL and Redis, and a small world of one
school with an admin (MFA on), a teacher, a student account, a kiosk key, and a second school's admin.

The fixtures are registered for every test under tests/domain by its conftest; their names carry an
``auth_`` prefix so they never shadow another area's fixtures.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from app.api.main import create_app
from app.container import SecurityServices, build_container
from app.core.config import Settings
from app.core.enums import Role
from app.core.security import new_totp_secret, totp_code
from app.db.session import transaction
from app.db.tables import KioskKey, School, Student, User
from app.schemas.kiosks import KioskKeyCreate
from app.services.biometrics.face_index import FaceIndex
from app.services.biometrics.face_service import FaceService, ImageLimits
from app.services.identity.principal import Principal
from models.detection import FoundFaces

PASSWORD = "correct horse battery staple"
#: argon2 at its cheapest: the tests check behaviour, not cost (production refuses these values).
FAST_HASHING = {"argon2_time_cost": 1, "argon2_memory_kib": 1024, "argon2_parallelism": 1}
TEST_SECRETS = {
    "secret_key": "test-signing-key-" + "x1y2z3" * 8,
    "template_key": "k1:" + base64.b64encode(bytes(range(32))).decode(),
    "id_hash_key": "test-id-hash-key-" + "a9b8c7" * 8,
}


def make_settings(
    data_dir: Path, database_url: str = "", redis_url: str = "", **overrides: object
) -> Settings:
    """Test settings: explicit secrets (nothing generated on disk), cheap hashing, short Retry-After."""
    values: dict[str, object] = {
        "data_dir": str(data_dir),
        "database_url": database_url,
        "redis_url": redis_url,
        "retry_after_s": 3,
        **FAST_HASHING,
        **TEST_SECRETS,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


class EmptyPipeline:
    """A face pipeline that finds nobody and stores nothing: auth tests call face routes without faces."""

    async def detect(self, images: list[object]) -> list[FoundFaces]:
        return [FoundFaces([], np.empty((0, 112, 112, 3), np.uint8)) for _ in images]

    async def delete(self, gallery: str, label: str) -> int:
        return 0

    async def compact(self, wait_s: float) -> str:
        return "completed"  # it stores nothing, so nothing is left to compact

    async def check(self) -> dict[str, str]:
        return {"pipeline": "ok"}


def make_app(settings: Settings) -> FastAPI:
    limits = ImageLimits(max_bytes=settings.max_upload_bytes, max_pixels=settings.max_pixels)
    empty = EmptyPipeline()
    faces = FaceService(empty, FaceIndex(empty), limits)  # type: ignore[arg-type]
    return create_app(build_container(settings, faces))


def services_of(app: FastAPI) -> SecurityServices:
    """The app's own auth services (the ones its routes use: its container's)."""
    services = app.state.container.security
    assert services is not None, "the app has no database or Redis"
    return services


@pytest.fixture
def auth_settings(tmp_path: Path, pg_url: str, redis_url: str) -> Settings:
    return make_settings(tmp_path, pg_url, redis_url)


@pytest.fixture
def auth_app(auth_settings: Settings, clean_db: Engine) -> Iterator[FastAPI]:
    application = make_app(auth_settings)
    yield application
    application.state.container.close()


@pytest.fixture
def auth_client(auth_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(auth_app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def auth_services(auth_app: FastAPI) -> SecurityServices:
    return services_of(auth_app)


@dataclass
class World:
    school: School
    other_school: School
    admin: User
    admin_totp: str
    teacher: User
    student: Student
    student_user: User
    other_admin: User
    kiosk: KioskKey
    kiosk_key: str

    def principal(self, user: User) -> Principal:
        return Principal(
            kind="user", id=user.id, school_id=user.school_id, role=user.role, student_id=user.student_id
        )


def make_user(session, services: SecurityServices, school: School, role: Role, **fields: object) -> User:
    email = str(fields.pop("email", f"{role.value}-{uuid.uuid4().hex[:8]}@example.org"))
    user = User(
        school_id=school.id,
        email=email,
        full_name=f"A {role.value}",
        role=role,
        password_hash=services.auth.hash_password(PASSWORD),
        **fields,
    )
    session.add(user)
    session.flush()
    return user


@pytest.fixture
def auth_world(auth_services: SecurityServices) -> World:
    """One school with every kind of caller, and a second school's admin (for isolation tests)."""
    services = auth_services
    totp = new_totp_secret()
    with transaction(services.auth.engine) as session:
        school, other = School(name="North High"), School(name="South High")
        session.add_all([school, other])
        session.flush()
        admin = make_user(session, services, school, Role.admin, email="admin@north.example.org")
        admin.totp_secret_enc = services.auth.keyring.seal(totp.encode(), b"totp:" + admin.id.bytes)
        admin.mfa_enabled = True
        teacher = make_user(session, services, school, Role.teacher, email="teacher@north.example.org")
        student = Student(
            school_id=school.id, student_number="S-1", first_name="Ada", last_name="Byron", display_name="Ada"
        )
        session.add(student)
        session.flush()
        student_user = make_user(
            session, services, school, Role.student, email="ada@north.example.org", student_id=student.id
        )
        other_admin = make_user(session, services, other, Role.admin, email="admin@south.example.org")
        as_admin = Principal("user", admin.id, school.id, Role.admin)
        issued = services.kiosks.issue(session, as_admin, KioskKeyCreate(room="R101", name="Door"), None)
        kiosk = session.get(KioskKey, issued.id)
    assert kiosk is not None
    return World(
        school,
        other,
        admin,
        totp,
        teacher,
        student,
        student_user,
        other_admin,
        kiosk,
        kiosk_key=issued.api_key,
    )


def bearer(services: SecurityServices, user: User) -> dict[str, str]:
    """Headers of a fresh session of ``user`` (no password round trip)."""
    return {"Authorization": f"Bearer {services.auth.issue_tokens(user).access_token}"}


def current_code(world: World) -> str:
    return totp_code(world.admin_totp)
