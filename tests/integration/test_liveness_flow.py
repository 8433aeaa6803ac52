"""Liveness over HTTP through the real Serve app (Detector, Embedder, Liveness, Matcher, Ingress on Ray, with
PostgreSQL, Redis and a Milvus server): a kiosk asks for a challenge and answers with a burst of real frames
from a head-turning clip and is checked in; a still photo and a photo moved as a plane are refused with
reasons; a replayed nonce is refused; bad answers get their codes. The module switches liveness on (the
other integration tests run with single frames) and back off when it is done."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import cv2
import httpx
import numpy as np
import pytest

from models.liveness import Action
from models.liveness_clips import CLIP_NAMES, challenge_burst, clip_photos, encode_jpeg, planar_burst
from tests.integration.conftest import ServeApp
from tests.integration.school_setup import add_class, add_students, consent_and_enroll, ok, open_lesson

pytestmark = pytest.mark.integration
CLIP = CLIP_NAMES[0]


@pytest.fixture(scope="module")
def kiosk(serve_app: ServeApp) -> Iterator[httpx.Client]:
    """Liveness on; a class whose only student is the clip's person, enrolled from stills of the clip."""
    serve_app.redeploy({}, {"liveness_mode": "challenge"})
    admin = httpx.Client(base_url=serve_app.base_url, headers=serve_app.headers, timeout=120)
    student: dict = {}
    try:
        room = f"LIVE-{uuid.uuid4().hex[:6]}"
        (student,) = add_students(admin, room, ["clip"]).values()
        klass, key = add_class(admin, room, [student["id"]])
        open_lesson(admin, klass["id"])
        enrolled = consent_and_enroll(admin, student["id"], clip_photos(CLIP))
        assert enrolled["enrollment_status"] == "enrolled"
        with httpx.Client(base_url=serve_app.base_url, headers={"X-API-Key": key}, timeout=120) as client:
            client.student_id = student["id"]  # type: ignore[attr-defined]
            yield client
    finally:
        if student:  # the school's gallery is shared with the other modules: leave no vector behind
            ok(admin.post(f"/v1/students/{student['id']}/erase"))
        admin.close()
        serve_app.redeploy({}, {"liveness_mode": "off"})


def challenge(kiosk: httpx.Client) -> dict:
    issued = ok(kiosk.post("/v1/checkins/challenge", json={}), 201)
    assert issued["frames"]["min"] <= 8 <= issued["frames"]["max"]
    return issued


def send(kiosk: httpx.Client, frames: list[bytes], nonce: str | None, **headers: str) -> httpx.Response:
    files = [("frames", (f"{i}.jpg", data, "image/jpeg")) for i, data in enumerate(frames)]
    data = {"nonce": nonce} if nonce else {}
    return kiosk.post("/v1/checkins", files=files, data=data, headers=headers)


def error_code(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    return response.json()["error"]


def test_a_live_burst_checks_in_and_its_nonce_cannot_be_replayed(kiosk: httpx.Client) -> None:
    issued = challenge(kiosk)
    frames = challenge_burst(issued["action"], clip=CLIP)
    answer = ok(send(kiosk, frames, issued["nonce"], **{"Idempotency-Key": "live-1"}))
    assert answer["liveness"]["checked"] and answer["liveness"]["passed"]
    assert answer["liveness"]["action"] == issued["action"]
    (face,) = answer["faces"]
    assert face["outcome"] == "recorded" and face["student"]["id"] == kiosk.student_id  # type: ignore[attr-defined]
    replay = error_code(send(kiosk, frames, issued["nonce"]), 409)
    assert replay["code"] == "nonce_used"


def test_a_still_photo_and_a_planar_photo_are_refused(kiosk: httpx.Client) -> None:
    photo = cv2.imdecode(np.frombuffer(clip_photos(CLIP, 1)[0], np.uint8), cv2.IMREAD_COLOR)
    issued = challenge(kiosk)
    still = error_code(send(kiosk, [encode_jpeg(photo)] * 8, issued["nonce"]), 422)
    assert still["code"] == "liveness_failed" and "no_motion" in still["details"]["reasons"]
    issued = challenge(kiosk)
    yaw = 35.0 if issued["action"] == Action.turn_left else -35.0
    moved = [encode_jpeg(f) for f in planar_burst(photo, 8, yaw_deg=yaw, shift=(0.05, 0.0))]
    planar = error_code(send(kiosk, moved, issued["nonce"]), 422)
    assert planar["code"] == "liveness_failed" and planar["details"]["reasons"]


def test_bad_answers_get_codes(kiosk: httpx.Client) -> None:
    frames = challenge_burst("turn_left", clip=CLIP)
    assert error_code(send(kiosk, frames, None), 400)["code"] == "challenge_required"
    assert error_code(send(kiosk, frames, "not-a-nonce"), 400)["code"] == "nonce_invalid"
    issued = challenge(kiosk)
    assert error_code(send(kiosk, frames[:2], issued["nonce"]), 422)["code"] == "too_few_frames"
    assert error_code(send(kiosk, frames * 3, issued["nonce"]), 422)["code"] == "too_many_frames"
    not_an_image = error_code(send(kiosk, [b"not an image"] * 8, issued["nonce"]), 422)
    assert not_an_image["code"] in {"not_an_image", "corrupt"}
