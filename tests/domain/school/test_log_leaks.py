"""No raw student id, name, number, contact address or image in the logs of a whole school flow.

The flow runs over HTTP (FastAPI TestClient, the real models in process, real PostgreSQL, Redis and an SMTP
server): an admin creates a student with distinctive names, records consent, enrolls three photos, adds a
guardian; a kiosk checks the student in (and a stranger, unknown); the teacher closes the lesson, reads the
report; the notification worker emails the guardian. Every log line of the project's loggers (JSON, DEBUG
and up) and every WARNING of anyone else is captured and scanned.
"""

from __future__ import annotations

import base64
import io
import json
import logging
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from app.core.config import Settings
from app.core.logging import PROJECT_LOGGERS, configure_logging
from app.notifications.worker import NotificationWorker
from app.services.biometrics.face_service import FaceService
from tests.domain.school.conftest import World
from tests.domain.school.test_api import Caller, app_client
from tests.notify_servers import SmtpServer

NAMES = {"first_name": "Zephyrine", "last_name": "Quibbleworth", "display_name": "Zephy Q."}
NUMBER = "LEAK-7731"
GUARDIAN = "guardian.quibbleworth@example.org"


@pytest.fixture
def captured(settings: Settings) -> Iterator[io.StringIO]:
    buffer = io.StringIO()
    configure_logging("DEBUG", json=True, id_hash_key=settings.id_hash_key.get_secret_value(), stream=buffer)
    root = logging.getLogger()
    everyone = logging.StreamHandler(buffer)
    everyone.setLevel(logging.WARNING)
    root.addHandler(everyone)
    yield buffer
    root.removeHandler(everyone)
    for name in PROJECT_LOGGERS:  # back to the defaults for the other tests
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
        logger.setLevel(logging.NOTSET)


def liveness_off(settings: Settings) -> dict[str, object]:
    """One frame per check-in where liveness can be switched off (the liveness burst has its own tests)."""
    return {"liveness_mode": "off"} if "liveness_mode" in Settings.model_fields else {}


def school_flow(client: TestClient, caller: Caller, world: World, photos: dict[str, list[bytes]]) -> str:
    """Create, consent, enroll, add a guardian, check in (and a stranger), close, report: the student's id."""
    caller.principal = world.admin
    student = client.post("/v1/students", json={"student_number": NUMBER, **NAMES})
    assert student.status_code == 201, student.text
    student_id = student.json()["id"]
    member = client.put(f"/v1/classes/{world.klass.id}/members/{student_id}")
    assert member.status_code == 204, member.text
    consent = client.post(
        f"/v1/students/{student_id}/consents",
        json={"granted_by_name": "Parent Q.", "relation": "guardian"},
    )
    assert consent.status_code == 201, consent.text
    files = [("photos", (f"{i}.jpg", data, "image/jpeg")) for i, data in enumerate(photos["lagos"][:3])]
    enrolled = client.post(f"/v1/students/{student_id}/enrollment", files=files)
    assert enrolled.status_code == 201, enrolled.text
    contact = client.post(
        "/v1/notifications/contacts",
        json={
            "name": "Parent Q.",
            "student_id": student_id,
            "email": GUARDIAN,
            "topics": ["arrival"],
        },
    )
    assert contact.status_code == 201, contact.text
    lesson = world.lesson()

    caller.principal = world.kiosk
    frame = {"frame": ("f.jpg", photos["lagos"][3], "image/jpeg")}
    checked = client.post("/v1/checkins", files=frame, headers={"X-Request-ID": "leak-test-checkin"})
    assert checked.status_code == 200, checked.text
    assert checked.json()["faces"][0]["outcome"] == "recorded"
    assert checked.headers["x-request-id"] == "leak-test-checkin"
    stranger = client.post("/v1/checkins", files={"frame": ("s.jpg", photos["stranger"][0], "image/jpeg")})
    assert stranger.json()["faces"][0]["outcome"] == "unknown"
    assert client.get(f"/v1/students/{student_id}").status_code == 403  # a kiosk may not read students

    caller.principal = world.teacher
    assert client.post(f"/v1/lessons/{lesson.id}/close").status_code == 200
    assert client.get(f"/v1/reports/lessons/{lesson.id}").status_code == 200
    assert client.get(f"/v1/students/{student_id}/attendance").status_code in (200, 404)
    return student_id


@pytest.mark.anyio
async def test_a_school_flow_logs_no_personal_data(
    world: World,
    settings: Settings,
    face_service: FaceService,
    photos: dict[str, list[bytes]],
    pg_url: str,
    redis_url: str,
    engine: Engine,
    captured: io.StringIO,
) -> None:
    overrides = {"database_url": pg_url, "redis_url": redis_url, **liveness_off(settings)}
    caller = Caller()
    with SmtpServer() as smtp:
        app_settings = settings.model_copy(
            update={**overrides, "smtp_host": "127.0.0.1", "smtp_port": smtp.port, "smtp_security": "none"}
        )
        with app_client(app_settings, face_service, caller) as client:
            student_id = school_flow(client, caller, world, photos)
        stats = await NotificationWorker(engine, app_settings).run_once()
        assert stats.sent >= 1
        (email,) = [m for m in smtp.wait_for(1) if m["To"] == GUARDIAN]
        assert NAMES["display_name"] in email["Subject"]  # the guardian is told; the logs are not

    text = captured.getvalue()
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) >= 10, "the flow should have logged (an access line per request at least)"
    project = [json.loads(line) for line in lines if line.startswith("{")]
    assert any(line.get("request_id") == "leak-test-checkin" for line in project)
    assert any(line.get("route") == "/v1/students/{student_id}/enrollment" for line in project)

    import uuid

    forbidden = {
        "student id": student_id,
        "student id (hex)": uuid.UUID(student_id).hex,
        "student number": NUMBER,
        "guardian email": GUARDIAN,
        **{f"name ({key})": value for key, value in NAMES.items()},
    }
    for what, value in forbidden.items():
        assert value.lower() not in text.lower(), f"the logs carry the {what}"
    for data in [*photos["lagos"], photos["stranger"][0]]:
        encoded = base64.b64encode(data).decode()
        for start in range(0, min(len(encoded), 4000), 1000):
            assert encoded[start : start + 48] not in text, "the logs carry image data"
    assert max(len(line) for line in lines) < 4000
