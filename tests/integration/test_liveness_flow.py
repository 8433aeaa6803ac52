"""Liveness over HTTP through the real Serve app (Detector, Embedder, Liveness, Matcher, Ingress on Ray, with
PostgreSQL, Redis and a Milvus server): a kiosk asks for a challenge and answers with a burst of real frames
from a head-turning clip and is checked in; a still photo and a photo moved as a plane are refused with
reasons; a replayed nonce is refused; bad answers get their codes. The module switches liveness on (the
other integration tests run with single frames) and back off when it is done, and the school's colour layer
off (a recorded clip cannot reflect a sequence chosen at capture), except to show that the sequence a nonce
binds reaches the Liveness deployment."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import cv2
import httpx
import numpy as np
import pytest

from models.detectors.yunet import YunetDetector
from models.eval.clips import CLIP_NAMES, challenge_burst, clip_photos, encode_jpeg, planar_burst
from models.liveness import Action
from models.liveness.screen import screen_cues
from tests import real_liveness
from tests.integration.conftest import ServeApp
from tests.integration.school_setup import (
    add_class,
    add_students,
    consent_and_enroll,
    ok,
    open_lesson,
    without_colours,
)

pytestmark = pytest.mark.integration
CLIP = CLIP_NAMES[0]


@pytest.fixture(scope="module")
def kiosk(serve_app: ServeApp) -> Iterator[httpx.Client]:
    """Liveness on; a class whose only student is the clip's person, enrolled from stills of the clip."""
    serve_app.redeploy({}, {"liveness_mode": "challenge"})
    admin = httpx.Client(base_url=serve_app.base_url, headers=serve_app.headers, timeout=120)
    student: dict = {}
    try:
        without_colours(admin)
        room = f"LIVE-{uuid.uuid4().hex[:6]}"
        (student,) = add_students(admin, room, ["clip"]).values()
        klass, key = add_class(admin, room, [student["id"]])
        open_lesson(admin, klass["id"])
        enrolled = consent_and_enroll(admin, student["id"], clip_photos(CLIP))
        assert enrolled["enrollment_status"] == "enrolled"
        with httpx.Client(base_url=serve_app.base_url, headers={"X-API-Key": key}, timeout=120) as client:
            client.student_id = student["id"]  # type: ignore[attr-defined]
            client.admin = admin  # type: ignore[attr-defined]
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


def send(
    kiosk: httpx.Client,
    frames: list[bytes],
    nonce: str | None,
    times: list[str] | None = None,
    **headers: str,
) -> httpx.Response:
    files = [("frames", (f"{i}.jpg", data, "image/jpeg")) for i, data in enumerate(frames)]
    data: dict[str, str | list[str]] = {"nonce": nonce} if nonce else {}
    if times is not None:
        data["frame_times_ms"] = times
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


def test_with_the_colour_layer_on_a_recorded_burst_is_refused_by_its_reflection(kiosk: httpx.Client) -> None:
    """The sequence the nonce binds travels from the Ingress's ledger to the Liveness deployment: a recorded
    clip, which reflects no colours, is refused by the colour layer (and the times are required)."""
    admin: httpx.Client = kiosk.admin  # type: ignore[attr-defined]
    school_id = ok(admin.get("/v1/auth/me"))["school_id"]
    ok(admin.patch(f"/v1/schools/{school_id}", json={"colour_challenge": True}))
    try:
        issued = challenge(kiosk)
        colours = issued["colours"]
        assert colours and len(colours["sequence"]) * colours["slot_ms"] >= 1000
        frames = challenge_burst(issued["action"], frames=issued["frames"]["default"], clip=CLIP)
        assert error_code(send(kiosk, frames, issued["nonce"]), 422)["code"] == "frame_times_required"
        issued = challenge(kiosk)
        times = [str(i * issued["frames"]["interval_ms"]) for i in range(len(frames))]
        refused = error_code(send(kiosk, frames, issued["nonce"], times=times), 422)
        assert refused["code"] == "liveness_failed"
        assert {"colour_not_reflected", "colour_mismatch"} & set(refused["details"]["reasons"])
    finally:
        without_colours(admin)


# ---------------------------------------------------------- real recordings (../shared/faces/liveness)


@pytest.fixture(scope="module")
def real_kiosk(serve_app: ServeApp, kiosk: httpx.Client) -> Iterator[httpx.Client]:
    """A kiosk in its own room whose class's one student is the person of a real phone clip, enrolled from
    the clip's most frontal frames (liveness on and the colour layer off, by ``kiosk``)."""
    admin: httpx.Client = kiosk.admin  # type: ignore[attr-defined]
    clip = real_liveness.recording(real_liveness.LIVE_CLIP)
    room = f"REAL-{uuid.uuid4().hex[:6]}"
    (student,) = add_students(admin, room, ["phone"]).values()
    try:
        klass, key = add_class(admin, room, [student["id"]])
        open_lesson(admin, klass["id"])
        assert (
            consent_and_enroll(admin, student["id"], real_liveness.stills(clip))["enrollment_status"]
            == "enrolled"
        )
        with httpx.Client(base_url=serve_app.base_url, headers={"X-API-Key": key}, timeout=120) as client:
            client.student_id = student["id"]  # type: ignore[attr-defined]
            client.clip = clip  # type: ignore[attr-defined]
            yield client
    finally:
        ok(admin.post(f"/v1/students/{student['id']}/erase"))


def test_a_real_phone_clip_turning_passes_in_both_directions(real_kiosk: httpx.Client) -> None:
    """Challenges are random: ask until both directions were answered, each with the clip's clearest turn
    that way (chosen by the reference measurement) at the kiosk's default frame count and interval."""
    answered: set[str] = set()
    for _ in range(12):
        issued = challenge(real_kiosk)
        spec = issued["frames"]
        frames = real_liveness.turn_burst(
            real_kiosk.clip,
            Action(issued["action"]),
            spec["default"],
            spec["interval_ms"],  # type: ignore[attr-defined]
        )
        times = [str(i * spec["interval_ms"]) for i in range(len(frames))]
        answer = ok(send(real_kiosk, frames, issued["nonce"], times=times))
        assert answer["liveness"]["passed"] and answer["liveness"]["action"] == issued["action"]
        (face,) = answer["faces"]
        assert face["student"]["id"] == real_kiosk.student_id  # type: ignore[attr-defined]
        answered.add(issued["action"])
        if answered == set(Action):
            return
    pytest.fail(f"only {answered} were asked in 12 challenges")


def test_a_real_screen_replay_with_the_device_in_view_is_refused_for_it(real_kiosk: httpx.Client) -> None:
    """The laptop replay: of its bursts, the one where the screen's frame is most in view (the product's own
    passive cue picks it, so this is a regression test of that cue over HTTP, not an evaluation)."""
    clip = real_liveness.recording(real_liveness.REPLAY_CLIP)
    issued = challenge(real_kiosk)
    spec = issued["frames"]
    detector = YunetDetector.load()
    candidates = real_liveness.bursts(clip, spec["default"], spec["interval_ms"], 1.0)

    def border(burst: list[bytes]) -> float:
        images = [cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR) for data in burst]
        subjects = [
            max(found, key=lambda f: f.area) if found else None for found in detector.detect_batch(images)
        ]
        return screen_cues([cv2.cvtColor(i, cv2.COLOR_BGR2GRAY) for i in images], subjects).border

    frames = max(candidates, key=border)
    times = [str(i * spec["interval_ms"]) for i in range(len(frames))]
    refused = error_code(send(real_kiosk, frames, issued["nonce"], times=times), 422)
    assert refused["code"] == "liveness_failed" and "screen_border" in refused["details"]["reasons"]
