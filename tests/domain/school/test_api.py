"""The school routes over HTTP (FastAPI TestClient, in-process models, real PostgreSQL and Redis): status
codes and error bodies, multipart uploads, idempotent check-in, streamed exports, and 503 with Retry-After
when PostgreSQL or Redis is down. Authentication itself is part A's (``authenticate`` is overridden with the
principal each test acts as; the role checks of ``require`` still run)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.api.main import create_app
from app.api.security import authenticate
from app.container import build_container
from app.core.config import Settings
from app.db.tables import Attendance
from app.services.biometrics.face_service import FaceService
from app.services.identity.principal import Principal
from cluster.local.stores import free_port
from tests.domain.school.conftest import World


class Caller:
    """Who the next request comes from."""

    def __init__(self) -> None:
        self.principal: Principal | None = None

    def __call__(self) -> Principal:
        assert self.principal is not None
        return self.principal


def app_client(settings: Settings, face_service: FaceService, caller: Caller, **urls: str) -> TestClient:
    # Single-frame check-ins: the challenge flow has its own tests (test_liveness_checkin.py, integration).
    app = create_app(
        build_container(settings.model_copy(update={"liveness_mode": "off", **urls}), face_service)
    )
    app.dependency_overrides[authenticate] = caller
    return TestClient(app, raise_server_exceptions=False)


@pytest.fixture
def caller() -> Caller:
    return Caller()


@pytest.fixture
def client(
    settings: Settings, face_service: FaceService, pg_url: str, redis_url: str, caller: Caller
) -> Iterator[TestClient]:
    with app_client(settings, face_service, caller, database_url=pg_url, redis_url=redis_url) as test_client:
        yield test_client


def error_code(response: object, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    return body["error"]["code"]


def test_student_crud_statuses(world: World, client: TestClient, caller: Caller) -> None:
    caller.principal = world.admin
    body = {"student_number": "N-1", "first_name": "Nia", "last_name": "Ng"}
    created = client.post("/v1/students", json=body)
    assert created.status_code == 201, created.text
    assert created.json()["enrollment_status"] == "none"
    assert error_code(client.post("/v1/students", json=body), 409) == "duplicate"
    assert (
        error_code(client.post("/v1/students", json={**body, "student_number": "a b"}), 422)
        == "invalid_request"
    )
    missing = "00000000-0000-4000-8000-000000000000"
    assert error_code(client.get(f"/v1/students/{missing}"), 404) == "student_not_found"
    page = client.get("/v1/students", params={"limit": 2, "q": "n-"}).json()
    assert (page["total"], page["limit"]) == (1, 2)
    caller.principal = world.teacher
    assert error_code(client.post("/v1/students", json={**body, "student_number": "N-2"}), 403) == "forbidden"
    assert error_code(client.get(f"/v1/students/{world.outsider.id}"), 403) == "forbidden"
    caller.principal = world.student_user
    assert client.get(f"/v1/students/{world.students[0].id}").status_code == 200
    assert error_code(client.get(f"/v1/students/{world.students[1].id}"), 403) == "forbidden"


def test_csv_import_over_http(world: World, client: TestClient, caller: Caller) -> None:
    caller.principal = world.admin
    good = b"student_number,first_name,last_name\nC-1,Cy,Cole\nC-2,Di,Dunn\n"
    answer = client.post("/v1/students/import", files={"file": ("s.csv", good, "text/csv")})
    assert answer.status_code == 200, answer.text
    assert answer.json()["imported"] == 2
    bad = b"student_number,first_name,last_name\nC-3,Ed,\nC-1,Fi,Fox\n"
    rejected = client.post("/v1/students/import", files={"file": ("s.csv", bad, "text/csv")})
    assert error_code(rejected, 422) == "import_rejected"
    assert [(e["row"], e["field"]) for e in rejected.json()["error"]["details"]["errors"]] == [
        (2, "last_name"),
        (3, "student_number"),
    ]


def test_enroll_and_check_in_over_http(
    world: World, client: TestClient, caller: Caller, photos: dict[str, list[bytes]], settings: Settings
) -> None:
    student = world.students[0]
    caller.principal = world.teacher
    files = [("photos", (f"{i}.jpg", data, "image/jpeg")) for i, data in enumerate(photos["lagos"][:3])]
    refused = client.post(f"/v1/students/{student.id}/enrollment", files=files)
    assert error_code(refused, 409) == "consent_required"
    consent = client.post(
        f"/v1/students/{student.id}/consents", json={"granted_by_name": "Parent", "relation": "guardian"}
    )
    assert consent.status_code == 201, consent.text
    assert client.get(f"/v1/students/{student.id}/enrollment").json()["enrollment_status"] == "pending"
    enrolled = client.post(f"/v1/students/{student.id}/enrollment", files=files)
    assert enrolled.status_code == 201, enrolled.text
    assert enrolled.json()["templates"] == 3
    lesson = world.lesson()

    caller.principal = world.kiosk
    frame = {"frame": ("f.jpg", photos["lagos"][3], "image/jpeg")}
    first = client.post("/v1/checkins", files=frame, headers={"Idempotency-Key": "frame-1"})
    assert first.status_code == 200, first.text
    assert first.json()["faces"][0]["outcome"] == "recorded"
    again = client.post("/v1/checkins", files=frame, headers={"Idempotency-Key": "frame-1"})
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["faces"] == first.json()["faces"]
    assert error_code(client.post("/v1/checkins", files=frame, headers={"Idempotency-Key": "no spaces"}), 422)
    assert error_code(client.post("/v1/checkins", json={"frame": "x"}), 415) == "unsupported_media_type"

    caller.principal = world.teacher
    export = client.get(f"/v1/reports/lessons/{lesson.id}", params={"format": "csv"})
    assert export.status_code == 200, export.text
    assert export.headers["content-type"].startswith("text/csv")
    assert (
        export.headers["content-disposition"] == f'attachment; filename="attendance-lesson-{lesson.id}.csv"'
    )
    table = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert [row[2] for row in table[1:]] == ["present", "pending", "pending"]
    xlsx = client.get(f"/v1/reports/lessons/{lesson.id}", params={"format": "xlsx"})
    assert xlsx.content[:2] == b"PK"  # a zip archive
    assert error_code(client.get(f"/v1/reports/classes/{world.klass.id}", params={"format": "pdf"}), 422)
    too_long = client.get(
        f"/v1/reports/classes/{world.klass.id}", params={"from": "2020-01-01", "to": "2026-01-01"}
    )
    assert error_code(too_long, 422) == "invalid_range"

    caller.principal = world.student_user  # a minor: the guardian's consent is not theirs to withdraw
    assert error_code(client.delete(f"/v1/students/{student.id}/consents"), 403) == "guardian_required"
    caller.principal = world.teacher  # the school office withdraws it at the student's request
    withdrawn = client.delete(f"/v1/students/{student.id}/consents")
    assert withdrawn.status_code == 200, withdrawn.text
    assert (withdrawn.json()["templates_deleted"], withdrawn.json()["vectors_deleted"]) == (3, 3)
    assert withdrawn.json()["cache_entries_deleted"] == 1  # the replayable answer naming them


def test_oversized_enrollment_is_413(
    world: World, client: TestClient, caller: Caller, settings: Settings
) -> None:
    caller.principal = world.admin
    big = b"\xff\xd8" + b"\0" * (settings.max_upload_bytes + 1)
    answer = client.post(
        f"/v1/students/{world.students[0].id}/enrollment", files=[("photos", ("a.jpg", big, "image/jpeg"))]
    )
    assert error_code(answer, 413) == "too_large"


def test_database_down_is_503_with_retry_after(
    world: World, settings: Settings, face_service: FaceService, redis_url: str, caller: Caller
) -> None:
    caller.principal = world.admin
    dead = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/rollcall"
    with app_client(settings, face_service, caller, database_url=dead, redis_url=redis_url) as client:
        answer = client.post(
            "/v1/students", json={"student_number": "X", "first_name": "A", "last_name": "B"}
        )
        assert error_code(answer, 503) == "database_unavailable"
        assert answer.headers["Retry-After"] == str(settings.retry_after_s)


def test_redis_down_is_503_and_nothing_is_recorded(
    world: World,
    settings: Settings,
    face_service: FaceService,
    pg_url: str,
    caller: Caller,
    photos: dict[str, list[bytes]],
) -> None:
    world.lesson()
    caller.principal = world.kiosk
    dead = f"redis://127.0.0.1:{free_port()}/0"
    with app_client(settings, face_service, caller, database_url=pg_url, redis_url=dead) as client:
        frame = {"frame": ("f.jpg", photos["lagos"][3], "image/jpeg")}
        for headers in ({"Idempotency-Key": "k-1"}, {}):
            answer = client.post("/v1/checkins", files=frame, headers=headers)
            assert error_code(answer, 503) == "cache_unavailable"
            assert "Retry-After" in answer.headers
    world.db.expire_all()
    assert world.db.scalars(select(Attendance)).all() == []
