"""Schemathesis against the app's own OpenAPI document, authenticated, in process over ASGI.

Why in process: the same ``create_app`` the Serve Ingress mounts, with real PostgreSQL and Redis and the
real face service (YuNet + SFace in ONNX Runtime, Milvus Lite), answers ~10 000 generated requests in
minutes on two cores; only the Ray hops between deployments are skipped, and those are fuzzed by the shorter
run over HTTP (tests/integration/test_fuzz_serve.py). Every operation is called as the caller its policy
admits (an admin where allowed, else the kiosk, a teacher or a student), with a fresh session each time, and
about half of the path ids point at real rows so the generated bodies reach the code behind the 404.

CI runs ``MAX_EXAMPLES`` per operation; ``ROLLCALL_FUZZ_FULL=1`` runs the full count (>= 10 000 requests).
The counts go to ``artifacts/reliability/fuzz-asgi.json`` (docs/RELIABILITY.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
import redis
import schemathesis
from sqlalchemy import Engine, text
from sqlmodel import SQLModel

from app.api.main import create_app
from app.api.security import RoutePolicy, route_policies
from app.container import SecurityServices, build_container
from app.core.config import Settings
from app.core.enums import Role
from app.db.session import transaction
from app.db.tables import ClassMember, Lesson, School, SchoolClass, Student, User, utcnow
from app.schemas.kiosks import KioskKeyCreate
from app.services.biometrics.face_service import FaceService
from app.services.identity.principal import Principal
from cluster.local.stores import EmbeddedRedis
from tests.conftest import REPO_ROOT
from tests.domain.authkit import make_user, services_of
from tests.fuzz_support import FULL, Tally, api_policies, caller_for, fuzz, use_real_ids

MAX_EXAMPLES = 160 if FULL else 15
TALLY = Tally("in-process (ASGI), real PostgreSQL + Redis + YuNet/SFace + Milvus Lite")
REPORT = REPO_ROOT / "artifacts" / "reliability" / ("fuzz-asgi-full.json" if FULL else "fuzz-asgi.json")


@dataclass
class Fuzzed:
    schema: schemathesis.BaseSchema
    services: SecurityServices
    users: dict[str, User]
    kiosk_key: str
    real_ids: dict[str, str]
    policies: dict[tuple[str, str], RoutePolicy]


@pytest.fixture(scope="module")
def fuzzed(
    settings: Settings, face_service: FaceService, pg_url: str, redis_server: EmbeddedRedis, engine: Engine
) -> Iterator[Fuzzed]:
    redis_url = redis_server.url
    client = redis.Redis.from_url(redis_url)
    client.flushall()
    client.close()
    names = ", ".join(f'"{table.name}"' for table in SQLModel.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    unlimited = "1000000/minute"
    app_settings = settings.model_copy(
        update={
            "database_url": pg_url,
            "redis_url": redis_url,
            "auth_rate_limit": unlimited,
            "user_rate_limit": unlimited,
            "kiosk_rate_limit": unlimited,
        }
    )
    app = create_app(build_container(app_settings, face_service))
    services = services_of(app)
    with transaction(engine) as session:
        school = School(name="Fuzz High")
        session.add(school)
        session.flush()
        users = {role: make_user(session, services, school, Role(role)) for role in ("admin", "teacher")}
        student = Student(
            school_id=school.id, student_number="F-1", first_name="Fay", last_name="Zed", display_name="Fay"
        )
        session.add(student)
        session.flush()
        users["student"] = make_user(session, services, school, Role.student, student_id=student.id)
        klass = SchoolClass(
            school_id=school.id, code="FZ", name="Fuzz", teacher_id=users["teacher"].id, room="R-FZ"
        )
        session.add(klass)
        session.flush()
        session.add(ClassMember(class_id=klass.id, student_id=student.id))
        lesson = Lesson(
            class_id=klass.id, starts_at=utcnow(), ends_at=utcnow() + timedelta(hours=2), room="R-FZ"
        )
        session.add(lesson)
        session.flush()
        admin = Principal("user", users["admin"].id, school.id, Role.admin)
        issued = services.kiosks.issue(session, admin, KioskKeyCreate(room="R-FZ", name="Door"), None)
    real_ids = {
        "school_id": str(school.id),
        "class_id": str(klass.id),
        "lesson_id": str(lesson.id),
        "student_id": str(student.id),
        "user_id": str(users["teacher"].id),
        "key_id": str(issued.id),
    }
    policies = {(p.method, p.path): p for p in route_policies(app)}
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    yield Fuzzed(schema, services, users, issued.api_key, real_ids, policies)
    TALLY.write(REPORT, max_examples_per_operation=MAX_EXAMPLES)
    app.state.container.engine.dispose()


OPERATIONS = sorted(api_policies())


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_generated_requests_get_documented_answers_and_never_a_5xx(
    method: str, path: str, fuzzed: Fuzzed
) -> None:
    caller = caller_for(fuzzed.policies, method, path)

    def prepare(case: schemathesis.Case) -> dict[str, str]:
        if case.path_parameters:
            use_real_ids(case.path_parameters, fuzzed.real_ids)
        if caller == "kiosk":
            return {"X-API-Key": fuzzed.kiosk_key}
        if caller is None:
            return {}
        session = fuzzed.services.auth.issue_tokens(fuzzed.users[caller])
        return {"Authorization": f"Bearer {session.access_token}"}

    fuzz(fuzzed.schema[path][method], MAX_EXAMPLES, prepare, TALLY)
