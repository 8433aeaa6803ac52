"""The school flow end to end over HTTP through the real Serve app (Ray local, Milvus server, PostgreSQL,
Redis), with real faces: three LFW people are enrolled after consent, each checks in (two of them together in
one frame), a stranger is unknown, retries never double-count, and withdrawing consent leaves no vector in
Milvus and no template in PostgreSQL.

One flow, in order, in one test: each step builds on the previous one, as a school day does.
"""

from __future__ import annotations

import csv
import io
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from app.db.session import make_engine
from app.db.tables import Attendance, FaceTemplate
from models.embedder import SfaceEmbedder
from models.gallery import FaceGallery
from tests.integration.conftest import ServeApp
from tests.integration.school_setup import (
    SchoolAdmin,
    add_class,
    add_students,
    consent_and_enroll,
    jpeg,
    ok,
    open_lesson,
)
from tests.school_faces import PEOPLE, load_photos, side_by_side

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def admin(serve_app: ServeApp) -> Iterator[httpx.Client]:
    """The admin of a school of its own: the gallery counts below are exact only if no other module's
    faces are in it."""
    office = SchoolAdmin(serve_app.settings, f"Flow School {uuid.uuid4().hex[:6]}")
    try:
        with httpx.Client(base_url=serve_app.base_url, headers=office.headers(), timeout=120) as client:
            yield client
    finally:
        office.close()


def settled(read: Callable[[], int], timeout_s: float = 15.0) -> int:
    """The value once it stops changing: this test reads Milvus through its own client, which sees the
    app's writes only after Milvus' consistency window (the app itself reads its own writes at once)."""
    deadline = time.monotonic() + timeout_s
    last = read()
    while time.monotonic() < deadline:
        time.sleep(0.5)
        value = read()
        if value == last:
            return value
        last = value
    return last


def test_enroll_check_in_retry_stranger_withdraw(
    serve_app: ServeApp, admin: httpx.Client, faces_dir: Path
) -> None:
    photos = load_photos(faces_dir)
    school_id = ok(admin.get("/v1/auth/me"))["school_id"]
    room = f"E2E-{uuid.uuid4().hex[:6]}"

    # -- the office sets up a class, its students, a kiosk and today's lesson
    students = add_students(admin, room, PEOPLE)
    klass, kiosk_key = add_class(admin, room, [student["id"] for student in students.values()])
    lesson = open_lesson(admin, klass["id"])

    # -- consent first; enrollment without it is refused
    lagos = students["lagos"]["id"]
    first_three = [("photos", jpeg(f"{i}.jpg", data)) for i, data in enumerate(photos["lagos"][:3])]
    refused = admin.post(f"/v1/students/{lagos}/enrollment", files=first_three)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "consent_required"
    model = ""
    for key, student in students.items():
        enrolled = consent_and_enroll(admin, student["id"], photos[key][:3])
        assert (enrolled["enrollment_status"], enrolled["templates"]) == ("enrolled", 3)
        model = enrolled["model"]

    embedder_dim = SfaceEmbedder.load(serve_app.settings.model_cache).dim
    gallery = FaceGallery(serve_app.milvus.uri, model, embedder_dim)
    engine = make_engine(serve_app.settings.database_url)
    try:
        assert settled(lambda: gallery.count(school_id)) == 9

        # -- check-in at the kiosk: two people in one frame, then the third alone
        with httpx.Client(
            base_url=serve_app.base_url, headers={"X-API-Key": kiosk_key}, timeout=120
        ) as kiosk:
            group = side_by_side(photos["lagos"][3], photos["lopez"][3])
            both = ok(kiosk.post("/v1/checkins", files={"frame": jpeg("g.jpg", group)}))
            assert sorted(
                (f["student"]["display_name"], f["outcome"], f["status"]) for f in both["faces"]
            ) == [
                ("Lagos E2E", "recorded", "present"),
                ("Lopez E2E", "recorded", "present"),
            ]
            frame = {"frame": jpeg("w.jpg", photos["wolfowitz"][3])}
            first = kiosk.post("/v1/checkins", files=frame, headers={"Idempotency-Key": "door-0001"})
            face = ok(first)["faces"][0]
            assert (face["outcome"], face["student"]["display_name"], face["status"]) == (
                "recorded",
                "Wolfowitz E2E",
                "present",
            )
            assert face["confidence"] > 0.4

            # -- retries: same key replays the answer; without a key it finds the record; never a second row
            replay = kiosk.post("/v1/checkins", files=frame, headers={"Idempotency-Key": "door-0001"})
            assert replay.headers.get("Idempotent-Replayed") == "true"
            assert ok(replay)["faces"] == first.json()["faces"]
            again = ok(kiosk.post("/v1/checkins", files=frame))["faces"][0]
            assert (again["outcome"], again["attendance_id"]) == ("already_recorded", face["attendance_id"])

            # -- a stranger is unknown: counted, not recorded
            stranger = ok(kiosk.post("/v1/checkins", files={"frame": jpeg("s.jpg", photos["stranger"][0])}))
            assert [(f["outcome"], f["student"]) for f in stranger["faces"]] == [("unknown", None)]

        records = ok(admin.get(f"/v1/lessons/{lesson['id']}/attendance"))
        assert len(records) == 3
        with engine.connect() as connection:
            count = connection.execute(
                select(func.count())
                .select_from(Attendance)
                .where(Attendance.lesson_id == uuid.UUID(lesson["id"]))
            ).scalar_one()
        assert count == 3
        report = ok(admin.get(f"/v1/reports/lessons/{lesson['id']}"))
        assert (report["totals"]["present"], report["unknown_faces"]) == (3, 1)
        exported = admin.get(f"/v1/reports/lessons/{lesson['id']}", params={"format": "csv"})
        assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
        assert len(list(csv.reader(io.StringIO(exported.text.lstrip("\ufeff"))))) == 1 + 3

        # -- withdrawal of consent erases the face everywhere
        withdrawn = ok(admin.delete(f"/v1/students/{lagos}/consents"))
        assert (withdrawn["templates_deleted"], withdrawn["vectors_deleted"]) == (3, 3)
        assert settled(lambda: gallery.count(school_id)) == 6
        with engine.connect() as connection:
            left = connection.execute(
                select(func.count())
                .select_from(FaceTemplate)
                .where(FaceTemplate.student_id == uuid.UUID(lagos))
            ).scalar_one()
        assert left == 0
        state = ok(admin.get(f"/v1/students/{lagos}/enrollment"))
        assert (state["enrollment_status"], state["templates"], state["consent"]) == ("none", 0, None)
        with httpx.Client(
            base_url=serve_app.base_url, headers={"X-API-Key": kiosk_key}, timeout=120
        ) as kiosk:
            after = ok(kiosk.post("/v1/checkins", files={"frame": jpeg("l.jpg", photos["lagos"][3])}))
        assert after["faces"][0]["outcome"] == "unknown"
    finally:
        gallery.close()
        engine.dispose()
