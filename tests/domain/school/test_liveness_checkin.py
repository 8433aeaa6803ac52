"""Check-in with liveness on (the default): a challenge, a burst of real frames answering it, a single-use
nonce; the real models in process (YuNet, SFace, texture tracking) and real PostgreSQL, Redis, Milvus Lite."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select

from app.core.config import Settings
from app.core.errors import BadRequest, Conflict, InvalidInput
from app.db.tables import Attendance, AuditEvent
from app.services.biometrics.stores import BiometricStores
from app.services.checkin.challenges import ChallengeLedger, Redemption, Terms
from app.services.checkin.service import CheckinRequest, CheckinService
from app.services.identity.principal import Principal
from models.eval.clips import CLIP_NAMES, challenge_burst, clip_photos, encode_jpeg, planar_burst
from models.liveness import Action, ColourSequence
from tests.domain.school.conftest import World, enroll_clip_person, live_checkin

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("redis_url")]
CLIP = CLIP_NAMES[0]


@pytest.fixture
def service(stores: BiometricStores, settings: Settings) -> CheckinService:
    return live_checkin(stores, settings)


@pytest.fixture
async def student_in_clip(world: World, settings: Settings, stores: BiometricStores) -> World:
    """The clip's person enrolled, with the school's colour layer off (a recorded clip cannot reflect it:
    test_colour_checkin.py has it on)."""
    world.without_colours()
    return await enroll_clip_person(world, settings, stores)


async def answer(service: CheckinService, kiosk: Principal, frames: list[bytes], **fields: object):
    issued = await service.challenge(kiosk, None)
    request = CheckinRequest(frames=tuple(frames), nonce=issued.nonce, **fields)  # type: ignore[arg-type]
    return issued, request


async def test_a_live_burst_answering_the_challenge_checks_the_student_in(
    student_in_clip: World, service: CheckinService
) -> None:
    world = student_in_clip
    issued = await service.challenge(world.kiosk, None)
    assert issued.action in {"turn_left", "turn_right"} and issued.instruction and issued.expires_in_s > 0
    frames = challenge_burst(issued.action, clip=CLIP)
    request = CheckinRequest(frames=tuple(frames), nonce=issued.nonce, idempotency_key="burst-1")
    result = await service.check_in(world.kiosk, request, "req-1")
    assert result.liveness.checked and result.liveness.passed
    assert result.liveness.action == issued.action and result.liveness.score >= 0.5
    (face,) = result.faces
    assert face.outcome == "recorded" and face.student.id == world.students[0].id
    # the same attempt retried (same nonce, same Idempotency-Key) gets the first answer back
    again = await service.check_in(world.kiosk, request, "req-2")
    assert again.replayed and again.faces[0].attendance_id == face.attendance_id
    # the same burst sent as another attempt is a replay: refused, audited, nothing recorded twice
    with pytest.raises(Conflict) as replay:
        await service.check_in(world.kiosk, CheckinRequest(frames=tuple(frames), nonce=issued.nonce), None)
    assert replay.value.code == "nonce_used"
    world.db.expire_all()
    assert len(list(world.db.scalars(select(Attendance)))) == 1


async def test_a_still_photo_and_a_photo_moved_as_a_plane_are_refused_with_reasons(
    student_in_clip: World, service: CheckinService
) -> None:
    world = student_in_clip
    rejections = {"kiosk": str(world.kiosk.id)}
    before = REGISTRY.get_sample_value("rollcall_liveness_rejections_total", rejections) or 0.0
    photo = cv2.imdecode(np.frombuffer(clip_photos(CLIP, 1)[0], np.uint8), cv2.IMREAD_COLOR)
    issued, request = await answer(service, world.kiosk, [encode_jpeg(photo)] * 8)
    with pytest.raises(InvalidInput) as still:
        await service.check_in(world.kiosk, request, None)
    assert still.value.code == "liveness_failed" and "no_motion" in still.value.details["reasons"]
    assert still.value.details["hints"]
    issued = await service.challenge(world.kiosk, None)
    yaw = 35.0 if issued.action == Action.turn_left else -35.0
    moved = [encode_jpeg(frame) for frame in planar_burst(photo, 8, yaw_deg=yaw, shift=(0.05, 0.0))]
    with pytest.raises(InvalidInput) as planar:
        await service.check_in(world.kiosk, CheckinRequest(frames=tuple(moved), nonce=issued.nonce), None)
    assert planar.value.code == "liveness_failed"
    refused = {"planar_motion", "challenge_not_performed", "wrong_direction"}
    assert refused & set(planar.value.details["reasons"])
    world.db.expire_all()
    assert list(world.db.scalars(select(Attendance))) == []
    denied = world.db.scalars(select(AuditEvent).where(AuditEvent.action == "checkin.liveness")).all()
    assert len(denied) == 2 and all(event.result == "denied" for event in denied)
    # counted where it happens, per kiosk (rollcall_liveness_rejections)
    assert REGISTRY.get_sample_value("rollcall_liveness_rejections_total", rejections) - before == 2


async def test_bad_challenge_answers_get_codes_the_kiosk_understands(
    student_in_clip: World, service: CheckinService, stores: BiometricStores
) -> None:
    world = student_in_clip
    frames = tuple(challenge_burst("turn_left", clip=CLIP))
    with pytest.raises(BadRequest) as missing:
        await service.check_in(world.kiosk, CheckinRequest(frames=frames), None)
    assert missing.value.code == "challenge_required"
    with pytest.raises(BadRequest) as unknown:
        await service.check_in(world.kiosk, CheckinRequest(frames=frames, nonce="made-up"), None)
    assert unknown.value.code == "nonce_invalid"
    issued = await service.challenge(world.kiosk, None)
    with pytest.raises(InvalidInput) as few:
        await service.check_in(world.kiosk, CheckinRequest(frames=frames[:2], nonce=issued.nonce), None)
    assert few.value.code == "too_few_frames"
    many = frames * 3
    with pytest.raises(InvalidInput) as too_many:
        await service.check_in(world.kiosk, CheckinRequest(frames=many, nonce=issued.nonce), None)
    assert too_many.value.code == "too_many_frames"
    # another kiosk cannot use this kiosk's challenge
    other_kiosk = Principal(kind="kiosk", id=world.students[1].id, school_id=world.school.id, room="R1")
    with pytest.raises(BadRequest) as stolen:
        await service.check_in(other_kiosk, CheckinRequest(frames=frames, nonce=issued.nonce), None)
    assert stolen.value.code == "nonce_invalid"


def test_the_ledger_redeems_once_per_attempt_and_forgets_expired_nonces(stores: BiometricStores) -> None:
    import time

    ledger = ChallengeLedger(stores.cache._client, ttl_s=30)
    issued = ledger.issue("kiosk-a", Action.turn_right)
    assert ledger.redeem(issued.nonce, "kiosk-a", "try-1") == (Redemption.fresh, Terms(Action.turn_right))
    assert ledger.redeem(issued.nonce, "kiosk-a", "try-1")[0] is Redemption.fresh  # its own retry
    assert ledger.redeem(issued.nonce, "kiosk-a", "try-2")[0] is Redemption.used
    assert ledger.redeem(issued.nonce, "kiosk-a", None)[0] is Redemption.used
    once = ledger.issue("kiosk-a")
    assert ledger.redeem(once.nonce, "kiosk-a", None)[0] is Redemption.fresh
    assert ledger.redeem(once.nonce, "kiosk-a", None)[0] is Redemption.used  # no key: never a retry
    short = ChallengeLedger(stores.cache._client, ttl_s=1)
    stale = short.issue("kiosk-a")
    time.sleep(1.2)
    assert short.redeem(stale.nonce, "kiosk-a", None)[0] is Redemption.invalid
    assert ledger.redeem("x" * 65, "kiosk-a", None)[0] is Redemption.invalid


def test_the_colour_sequence_is_bound_to_the_nonce_and_comes_back_on_redeeming(
    stores: BiometricStores,
) -> None:
    ledger = ChallengeLedger(stores.cache._client, ttl_s=30)
    colours = ColourSequence(("#ff0000", "#00ff00", "#0000ff", "#ffffff"), 200)
    issued = ledger.issue("kiosk-a", Action.turn_left, colours)
    assert issued.colours == colours
    other = ledger.issue("kiosk-a", Action.turn_left, ColourSequence(("#ffff00", "#ff00ff"), 300))
    # each nonce gives back its own sequence, also to a retry of the same attempt and to a replay's refusal
    assert ledger.redeem(issued.nonce, "kiosk-a", "try-1") == (
        Redemption.fresh,
        Terms(Action.turn_left, colours),
    )
    assert ledger.redeem(issued.nonce, "kiosk-a", "try-1")[1] == Terms(Action.turn_left, colours)
    assert ledger.redeem(issued.nonce, "kiosk-a", "try-2")[0] is Redemption.used
    assert ledger.redeem(other.nonce, "kiosk-a", None)[1].colours == other.colours  # type: ignore[union-attr]
    assert ledger.redeem(other.nonce, "kiosk-b", None) == (Redemption.invalid, None)


async def test_with_liveness_off_no_challenge_is_issued(
    world: World, stores: BiometricStores, settings: Settings
) -> None:
    off = settings.model_copy(update={"liveness_mode": "off"})
    service = CheckinService(
        stores, stores.face_service, off.checkin, ChallengeLedger(stores.cache._client, 30)
    )
    with pytest.raises(Conflict) as refused:
        await service.challenge(world.kiosk, None)
    assert refused.value.code == "liveness_off"
