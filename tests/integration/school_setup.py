"""A school set up over the HTTP API, as its office would: students, a class with a kiosk in its room,
lessons, consent and enrollment with real faces. Shared by the end-to-end flow, the fault and fuzz tests."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import httpx

from app.core.config import Settings


class SchoolAdmin:
    """A school of its own and its admin, written directly (no API creates a school): tests that must not
    meet other tests' rows or faces, or that may sign the admin out, use one. ``headers()`` opens a fresh
    session of the admin each time."""

    def __init__(self, settings: Settings, name: str) -> None:
        from app.container import build_container
        from app.core.enums import Role
        from app.db.session import transaction
        from app.db.tables import School, User

        # The replicas' settings (their audit keys), so the trail they continue stays one chain.
        self._container = build_container(settings)
        assert self._container.engine is not None and self._container.security is not None
        self._engine = self._container.engine
        with transaction(self._engine) as session:
            school = School(name=name)
            session.add(school)
            session.flush()
            self.admin = User(
                school_id=school.id,
                email=f"admin-{school.id.hex[:8]}@tests.example.org",
                full_name="Test admin",
                role=Role.admin,
                password_hash="!",  # never signs in with a password: lessons are opened here
            )
            session.add(self.admin)
        self._auth = self._container.security.auth

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._auth.issue_tokens(self.admin).access_token}"}

    def close(self) -> None:
        self._container.close()


def ok(response: httpx.Response, status: int = 200) -> dict:
    assert response.status_code == status, response.text
    return response.json() if response.content else {}


def jpeg(name: str, data: bytes) -> tuple[str, bytes, str]:
    return (name, data, "image/jpeg")


def without_colours(admin: httpx.Client) -> None:
    """Switch the admin's school's colour layer off: recorded clips cannot reflect a colour sequence chosen
    when the challenge is issued (docs/COLOUR_CHALLENGE.md), so tests sending them judge the other layers."""
    school_id = ok(admin.get("/v1/auth/me"))["school_id"]
    ok(admin.patch(f"/v1/schools/{school_id}", json={"colour_challenge": False}))


def add_students(admin: httpx.Client, prefix: str, keys: Iterable[str]) -> dict[str, dict]:
    """One student per key, numbered ``<prefix>-<key>``, named after the key."""
    students = {}
    for key in keys:
        body = {"student_number": f"{prefix}-{key}", "first_name": key.capitalize(), "last_name": "E2E"}
        students[key] = ok(admin.post("/v1/students", json=body), 201)
    return students


def add_class(admin: httpx.Client, room: str, student_ids: Iterable[str]) -> tuple[dict, str]:
    """A class in ``room`` (its code too) with these members, and the API key of a kiosk at its door."""
    klass = ok(admin.post("/v1/classes", json={"code": room, "name": f"Class {room}", "room": room}), 201)
    for student_id in student_ids:
        ok(admin.put(f"/v1/classes/{klass['id']}/members/{student_id}"), 204)
    kiosk_key = ok(admin.post("/v1/kiosks", json={"room": room, "name": "Door"}), 201)["api_key"]
    return klass, kiosk_key


def open_lesson(
    admin: httpx.Client,
    class_id: str,
    started_min_ago: float = 2,
    minutes: int = 45,
    *,
    allow_overlap: bool = False,
) -> dict:
    """A lesson of the class that started ``started_min_ago`` minutes ago: open for check-in now
    (``allow_overlap``: beside others of the class that overlap it, on purpose)."""
    start = datetime.now(UTC) - timedelta(minutes=started_min_ago)
    body = {
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(minutes=minutes)).isoformat(),
        "allow_overlap": allow_overlap,
    }
    return ok(admin.post(f"/v1/classes/{class_id}/lessons", json=body), 201)


def consent_and_enroll(admin: httpx.Client, student_id: str, photos: list[bytes]) -> dict:
    """Record a guardian's consent, then enroll the photos; the enrollment answer."""
    consent = {"granted_by_name": "Parent", "relation": "guardian"}
    ok(admin.post(f"/v1/students/{student_id}/consents", json=consent), 201)
    files = [("photos", jpeg(f"{i}.jpg", data)) for i, data in enumerate(photos)]
    return ok(admin.post(f"/v1/students/{student_id}/enrollment", files=files), 201)
