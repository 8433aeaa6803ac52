"""Check-in with the colour layer on (the default for a school): the challenge carries the screen's colour
sequence, frames carry their capture times, and the Liveness check judges the face's reflection of the
sequence the nonce bound. Real models in process, real PostgreSQL and Redis; the reflection of a live face
is synthetic (``models.eval.clips.lit_burst``): no recording can carry one of a sequence chosen now."""

from __future__ import annotations

import random

import cv2
import numpy as np
import pytest
from sqlalchemy import select

from app.core.config import Settings
from app.core.errors import InvalidInput
from app.db.tables import AuditEvent
from app.services.biometrics.face_service import FaceService
from app.services.biometrics.stores import BiometricStores
from app.services.checkin import service as checkin_service
from app.services.checkin.service import CheckinRequest, CheckinService
from models.detectors.yunet import YunetDetector
from models.eval.clips import CLIP_NAMES, challenge_burst, encode_jpeg, lit_burst
from models.liveness import ColourSequence
from models.liveness.colours import PALETTE, random_sequence
from tests.domain.school.conftest import World, enroll_clip_person, live_checkin
from tests.domain.school.test_api import Caller, app_client

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("redis_url")]
CLIP = CLIP_NAMES[0]


@pytest.fixture
def service(stores: BiometricStores, settings: Settings) -> CheckinService:
    return live_checkin(stores, settings)


@pytest.fixture
async def student_in_clip(world: World, settings: Settings, stores: BiometricStores) -> World:
    """The clip's person enrolled, with the school's colour layer on (its default)."""
    return await enroll_clip_person(world, settings, stores)


def kiosk_times(count: int, interval_ms: int) -> list[float]:
    """When a kiosk grabs its frames: every interval, a few ms late (the browser's timers)."""
    return [i * interval_ms + 3.0 * (i % 3) for i in range(count)]


def as_sent(times: list[float]) -> tuple[str, ...]:
    return tuple(f"{t:.1f}" for t in times)


def lit(frames: list[bytes], times: list[float], colours: ColourSequence) -> list[bytes]:
    """The clip's frames as a camera sees the face lit by the screen's ``colours`` (synthetic)."""
    images = [cv2.imdecode(np.frombuffer(frame, np.uint8), cv2.IMREAD_COLOR) for frame in frames]
    found = YunetDetector.load().detect_batch(images)
    faces = [max(f, key=lambda face: face.area) if f else None for f in found]
    return [encode_jpeg(image) for image in lit_burst(images, faces, times, colours, strength=0.2)]


async def test_the_challenge_says_which_colours_to_show_and_how_many_frames_to_send(
    world: World, service: CheckinService, settings: Settings
) -> None:
    world.lesson()
    issued = await service.challenge(world.kiosk, None)
    assert issued.frames.default == settings.burst_default_frames == 13
    assert issued.frames.min <= issued.frames.default <= issued.frames.max
    colours = issued.colours
    assert colours is not None and colours.slot_ms == settings.colour_slot_ms
    assert len(colours.sequence) == settings.colour_slots and set(colours.sequence) <= set(PALETTE)
    assert all(a != b for a, b in zip(colours.sequence, colours.sequence[1:], strict=False))
    assert colours.slot_ms * len(colours.sequence) > (issued.frames.max - 1) * issued.frames.interval_ms
    again = await service.challenge(world.kiosk, None)
    assert again.colours is not None and again.colours.sequence != colours.sequence  # chosen afresh
    world.without_colours()
    assert (await service.challenge(world.kiosk, None)).colours is None


async def test_a_live_face_lit_by_the_issued_sequence_checks_in(
    student_in_clip: World, service: CheckinService
) -> None:
    world = student_in_clip
    issued = await service.challenge(world.kiosk, None)
    assert issued.colours is not None
    colours = ColourSequence(tuple(issued.colours.sequence), issued.colours.slot_ms)
    count, interval = issued.frames.default, issued.frames.interval_ms
    times = kiosk_times(count, interval)
    frames = lit(challenge_burst(issued.action, frames=count, clip=CLIP), times, colours)
    request = CheckinRequest(frames=tuple(frames), nonce=issued.nonce, frame_times_ms=as_sent(times))
    answer = await service.check_in(world.kiosk, request, None)
    assert answer.liveness.passed and answer.recorded == 1


async def test_without_the_reflection_or_with_another_sequences_the_burst_is_refused(
    student_in_clip: World, service: CheckinService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The issued sequences come from a seeded generator here: an unlit burst passes a random sequence by
    chance now and then (the colour layer's APCER for `unlit`, docs/COLOUR_CHALLENGE.md), and a refusal test
    must not depend on that draw (one CI run failed on such a draw)."""
    draws = random.Random(20261202)
    monkeypatch.setattr(
        checkin_service, "random_sequence", lambda slots, slot_ms: random_sequence(slots, slot_ms, draws)
    )
    world = student_in_clip
    count = 13
    times = kiosk_times(count, 120)
    for earlier in (None, ColourSequence(("#ff00ff", "#00ff00") * 6, 200)):
        issued = await service.challenge(world.kiosk, None)
        frames = challenge_burst(issued.action, frames=count, clip=CLIP)
        if earlier is not None:  # a recording of an earlier check-in, lit by that one's sequence
            frames = lit(frames, times, earlier)
        request = CheckinRequest(frames=tuple(frames), nonce=issued.nonce, frame_times_ms=as_sent(times))
        with pytest.raises(InvalidInput) as refused:
            await service.check_in(world.kiosk, request, None)
        assert refused.value.code == "liveness_failed"
        expected = "colour_not_reflected" if earlier is None else "colour_mismatch"
        assert expected in refused.value.details["reasons"], refused.value.details
        assert refused.value.details["hints"]
    world.db.expire_all()
    denied = world.db.scalars(select(AuditEvent).where(AuditEvent.action == "checkin.liveness")).all()
    assert len(denied) == 2


async def test_frame_times_are_required_with_colours_and_checked_always(
    student_in_clip: World, service: CheckinService, settings: Settings
) -> None:
    world = student_in_clip
    frames = tuple(challenge_burst("turn_left", frames=13, clip=CLIP))
    good = as_sent(kiosk_times(13, 120))
    beyond = (*good[:-1], str(settings.colour_slots * settings.colour_slot_ms))
    cases = [
        ((), "frame_times_required"),
        (good[:-1], "frame_times_invalid"),  # one short
        ((*good[:-1], "soon"), "frame_times_invalid"),
        ((*good[:-1], "nan"), "frame_times_invalid"),
        (("-5", *good[1:]), "frame_times_invalid"),
        ((good[1], good[0], *good[2:]), "frame_times_invalid"),  # out of order
        ((good[0], good[0], *good[2:]), "frame_times_invalid"),  # two at once
        (beyond, "frame_times_invalid"),  # past the end of the sequence
    ]
    for sent, code in cases:
        issued = await service.challenge(world.kiosk, None)
        request = CheckinRequest(frames=frames, nonce=issued.nonce, frame_times_ms=sent)
        with pytest.raises(InvalidInput) as refused:
            await service.check_in(world.kiosk, request, None)
        assert (refused.value.code, refused.value.details.get("field")) == (code, "frame_times_ms"), sent
    # Colours off: times are optional, and checked when sent (within the challenge's life).
    world.without_colours()
    ttl_ms = settings.challenge_ttl_s * 1000
    for sent in ((good[1], good[0], *good[2:]), (*good[:-1], str(ttl_ms + 1))):
        issued = await service.challenge(world.kiosk, None)
        with pytest.raises(InvalidInput) as refused:
            await service.check_in(
                world.kiosk, CheckinRequest(frames=frames, nonce=issued.nonce, frame_times_ms=sent), None
            )
        assert refused.value.code == "frame_times_invalid"
    issued = await service.challenge(world.kiosk, None)
    answering = tuple(challenge_burst(issued.action, frames=13, clip=CLIP))
    without = await service.check_in(world.kiosk, CheckinRequest(frames=answering, nonce=issued.nonce), None)
    assert without.liveness.passed


def test_admins_switch_the_colour_layer_per_school_over_http(
    world: World, settings: Settings, face_service: FaceService, pg_url: str, redis_url: str
) -> None:
    caller = Caller()
    live = {"database_url": pg_url, "redis_url": redis_url, "liveness_mode": "challenge"}
    with app_client(settings, face_service, caller, **live) as client:
        url = f"/v1/schools/{world.school.id}"
        caller.principal = world.admin
        assert client.get(url).json()["colour_challenge"] is True
        caller.principal = world.teacher
        assert client.patch(url, json={"colour_challenge": False}).status_code == 403
        caller.principal = world.admin
        for bad in ("no", None, 0):
            assert client.patch(url, json={"colour_challenge": bad}).status_code == 422, bad
        switched = client.patch(url, json={"colour_challenge": False})
        assert switched.status_code == 200 and switched.json()["colour_challenge"] is False
        world.lesson()
        caller.principal = world.kiosk
        challenge = client.post("/v1/checkins/challenge", json={}).json()
        assert challenge["colours"] is None and challenge["frames"]["default"] == 13
        caller.principal = world.admin
        assert client.patch(url, json={"colour_challenge": True}).status_code == 200
        caller.principal = world.kiosk
        challenge = client.post("/v1/checkins/challenge", json={}).json()
        assert challenge["colours"]["slot_ms"] == settings.colour_slot_ms
        frames = [
            ("frames", (f"{i}.jpg", data, "image/jpeg"))
            for i, data in enumerate(challenge_burst("turn_left"))
        ]
        form = {
            "nonce": challenge["nonce"],
            "frame_times_ms": ["0", "120", "x", "360", "480", "600", "720", "840"],
        }
        refused = client.post("/v1/checkins", files=frames, data=form)
        assert refused.status_code == 422 and refused.json()["error"]["code"] == "frame_times_invalid"
    world.db.expire_all()
    changes = world.db.scalars(select(AuditEvent).where(AuditEvent.action == "school.update")).all()
    assert [event.details["fields"] for event in changes] == [["colour_challenge"], ["colour_challenge"]]
