"""Check-in with real faces: identify within the kiosk's session, exactly once per (session, student) however
often a request is retried, present or late by the clock, strangers counted but never recorded; 1:1 verify,
group frames, one-time codes and teachers' marks with their history."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace
from datetime import timedelta

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import func, select

from app.core.config import Settings
from app.core.enums import AttendanceStatus, CheckinMethod
from app.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from app.db.tables import Attendance, AttendanceChange, AuditEvent, CheckinCode, utcnow
from app.schemas.attendance import AttendanceMark
from app.services.biometrics.stores import BiometricStores
from app.services.checkin import codes
from app.services.checkin.challenges import ChallengeLedger
from app.services.checkin.service import CheckinRequest, CheckinService
from app.services.enrollment.service import EnrollmentService
from app.services.identity.principal import Principal
from app.services.school import attendance
from models.detectors import load_detector
from models.embedder import SfaceEmbedder
from models.gallery import FaceGallery
from tests.domain.school.conftest import World, grant
from tests.domain.test_qr import decoded
from tests.school_faces import PEOPLE, side_by_side
from tests.serving import serving_face_service, serving_pipeline

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("redis_url")]


@pytest.fixture
async def enrolled(
    world: World, settings: Settings, stores: BiometricStores, photos: dict[str, list[bytes]]
) -> World:
    """The three class members enrolled with three photos each (their fourth photo is for checking in)."""
    service = EnrollmentService(stores, stores.face_service, settings.enrollment)
    for student, key in zip(world.students, PEOPLE, strict=True):
        grant(world, settings, student)
        await service.enroll(world.admin, student.id, photos[key][:3], None)
    return world


def rows(world: World) -> list[Attendance]:
    world.db.expire_all()
    return list(world.db.scalars(select(Attendance)))


def kiosk_service(stores: BiometricStores, settings: Settings) -> CheckinService:
    """Single-frame check-in (liveness off): these tests are about identity and recording; the challenge
    flow has its own tests (test_liveness_checkin.py)."""
    single_frame = settings.model_copy(update={"liveness_mode": "off"})
    return CheckinService(
        stores, stores.face_service, single_frame.checkin, ChallengeLedger(stores.cache._client, 30)
    )


async def test_identify_records_present_with_name_and_confidence(
    enrolled: World, stores: BiometricStores, settings: Settings, photos: dict[str, list[bytes]]
) -> None:
    world = enrolled
    lesson = world.lesson(started_min_ago=2, grace=5)
    answer = await kiosk_service(stores, settings).check_in(
        world.kiosk, CheckinRequest(photos["lagos"][3]), "req"
    )
    (face,) = answer.faces
    assert (face.outcome, face.status, face.student.display_name) == (
        "recorded",
        AttendanceStatus.present,
        "Lagos T.",
    )
    assert face.confidence is not None and face.confidence > 0.4
    assert (answer.recorded, answer.unknown, answer.liveness.checked) == (1, 0, False)
    (row,) = rows(world)
    assert (row.lesson_id, row.student_id, row.method, row.recorded_by) == (
        lesson.id,
        world.students[0].id,
        CheckinMethod.face,
        world.kiosk.actor,
    )


async def test_after_the_grace_period_it_is_late(
    enrolled: World, stores: BiometricStores, settings: Settings, photos: dict[str, list[bytes]]
) -> None:
    enrolled.lesson(started_min_ago=20, grace=5)
    answer = await kiosk_service(stores, settings).check_in(
        enrolled.kiosk, CheckinRequest(photos["lopez"][3]), None
    )
    assert answer.faces[0].status is AttendanceStatus.late


def detect_calls() -> float:
    return REGISTRY.get_sample_value("rollcall_stage_duration_seconds_count", {"stage": "detect"}) or 0.0


async def test_an_idempotency_key_is_bound_to_its_request(
    enrolled: World, stores: BiometricStores, settings: Settings, photos: dict[str, list[bytes]]
) -> None:
    """A key reused for another face (or another claimed student) is refused, not answered with the first
    request's greeting; the first request's own retry still replays."""
    world = enrolled
    world.lesson()
    service = kiosk_service(stores, settings)
    first = await service.check_in(
        world.kiosk, CheckinRequest(photos["wolfowitz"][3], idempotency_key="k-1"), None
    )
    for other in (
        CheckinRequest(photos["lagos"][3], idempotency_key="k-1"),
        CheckinRequest(photos["wolfowitz"][3], idempotency_key="k-1", student_id=world.students[1].id),
    ):
        with pytest.raises(InvalidInput) as refused:
            await service.check_in(world.kiosk, other, None)
        assert refused.value.code == "idempotency_key_reused"
    again = await service.check_in(
        world.kiosk, CheckinRequest(photos["wolfowitz"][3], idempotency_key="k-1"), None
    )
    assert again.replayed and again.faces[0].student == first.faces[0].student
    assert len(rows(world)) == 1


async def test_concurrent_retries_of_one_key_run_the_pipeline_once(
    enrolled: World, stores: BiometricStores, settings: Settings, photos: dict[str, list[bytes]]
) -> None:
    """Three copies of one request with one key at once: one runs (one detection), the others wait for its
    answer and replay it."""
    world = enrolled
    world.lesson()
    service = kiosk_service(stores, settings)
    request = CheckinRequest(photos["lopez"][3], idempotency_key="burst-retry")
    before = detect_calls()
    answers = await asyncio.gather(*(service.check_in(world.kiosk, request, None) for _ in range(3)))
    assert detect_calls() - before == 1
    assert sorted(answer.replayed for answer in answers) == [False, True, True]
    dumps = {answer.model_dump_json(exclude={"replayed"}) for answer in answers}
    assert len(dumps) == 1
    assert len(rows(world)) == 1


async def test_a_retry_outlives_a_claim_whose_holder_died(
    enrolled: World, stores: BiometricStores, settings: Settings, photos: dict[str, list[bytes]]
) -> None:
    """A replica that died after claiming a key renews it no more: the kiosk's retry waits for the claim to
    lapse (``RUNNING_TTL_S``), then runs the check-in itself."""
    world = enrolled
    world.lesson()
    request = CheckinRequest(photos["lopez"][3], idempotency_key="held-by-the-dead")
    claimed = stores.cache.begin(world.kiosk.id, "held-by-the-dead", request.fingerprint(world.kiosk.id))
    assert claimed.claim is not None and claimed.claim.state == "claimed"  # ...and the holder is gone
    answer = await kiosk_service(stores, settings).check_in(world.kiosk, request, None)
    assert not answer.replayed and answer.faces[0].outcome == "recorded"


async def test_retries_never_double_count(
    enrolled: World, stores: BiometricStores, settings: Settings, photos: dict[str, list[bytes]]
) -> None:
    world = enrolled
    world.lesson()
    service = kiosk_service(stores, settings)
    request = CheckinRequest(photos["wolfowitz"][3], idempotency_key="kiosk-frame-0001")
    first = await service.check_in(world.kiosk, request, None)
    again = await service.check_in(world.kiosk, request, None)
    assert again.replayed and not first.replayed
    assert again.model_dump(exclude={"replayed"}) == first.model_dump(exclude={"replayed"})
    # a retry without the key (or with another) runs again and finds the record: the first status, and the
    # confidence of the face it saw (another photo: another score, not the stored one)
    other = await service.check_in(world.kiosk, CheckinRequest(photos["wolfowitz"][3]), None)
    assert other.faces[0].outcome == "already_recorded"
    assert (other.faces[0].status, other.faces[0].confidence) == (
        first.faces[0].status,
        first.faces[0].confidence,
    )
    later = await service.check_in(world.kiosk, CheckinRequest(photos["wolfowitz"][2]), None)
    assert later.faces[0].outcome == "already_recorded" and later.faces[0].status == first.faces[0].status
    assert later.faces[0].confidence is not None
    assert later.faces[0].confidence != first.faces[0].confidence
    # concurrent identical requests: still one record
    burst = await asyncio.gather(
        *(service.check_in(world.kiosk, CheckinRequest(photos["lagos"][3]), None) for _ in range(3))
    )
    assert sorted(answer.faces[0].outcome for answer in burst) == [
        "already_recorded",
        "already_recorded",
        "recorded",
    ]
    assert len(rows(world)) == 2


async def test_a_stranger_is_unknown_counted_and_not_recorded(
    enrolled: World, stores: BiometricStores, settings: Settings, photos: dict[str, list[bytes]]
) -> None:
    world = enrolled
    lesson = world.lesson()
    answer = await kiosk_service(stores, settings).check_in(
        world.kiosk, CheckinRequest(photos["stranger"][0]), None
    )
    assert [(f.outcome, f.student) for f in answer.faces] == [("unknown", None)]
    assert answer.unknown == 1 and rows(world) == []
    assert stores.cache.unknown_count(lesson.id) == 1
    assert world.db.scalar(select(func.count()).where(AuditEvent.action == "checkin.unknown")) == 1


async def test_a_student_of_another_class_is_not_recorded(
    enrolled: World, stores: BiometricStores, settings: Settings, photos: dict[str, list[bytes]]
) -> None:
    world = enrolled
    world.lesson(world.other_class)  # class 8A, in room R2; Lagos is in 7B
    r2_kiosk = Principal(kind="kiosk", id=uuid.uuid4(), school_id=world.school.id, room="R2")
    answer = await kiosk_service(stores, settings).check_in(
        r2_kiosk, CheckinRequest(photos["lagos"][3]), None
    )
    assert answer.faces[0].outcome == "not_in_lesson"
    assert answer.faces[0].student.display_name == "Lagos T."
    assert rows(world) == []


async def test_the_roster_is_searched_first_at_its_own_threshold(
    enrolled: World,
    stores: BiometricStores,
    settings: Settings,
    photos: dict[str, list[bytes]],
    gallery: FaceGallery,
) -> None:
    """With a school threshold nobody reaches, a class member is still recognised (the roster is searched,
    at its threshold), and a student of another class is unknown there: never recorded."""
    pipeline = serving_pipeline(
        load_detector("fast", settings.model_cache),
        SfaceEmbedder.load(settings.model_cache),
        gallery,
        threshold=0.999,
        roster_threshold=0.4,
    )
    face_service = serving_face_service(pipeline, settings)
    service = kiosk_service(replace(stores, face_service=face_service, index=face_service.index), settings)
    world = enrolled
    world.lesson()
    member = await service.check_in(world.kiosk, CheckinRequest(photos["lagos"][3]), None)
    assert [(f.outcome, f.student.display_name) for f in member.faces] == [("recorded", "Lagos T.")]
    world.lesson(world.other_class)
    r2_kiosk = Principal(kind="kiosk", id=uuid.uuid4(), school_id=world.school.id, room="R2")
    other = await service.check_in(r2_kiosk, CheckinRequest(photos["lopez"][3]), None)
    assert [(f.outcome, f.student) for f in other.faces] == [("unknown", None)]
    assert len(rows(world)) == 1


async def test_group_frame_records_everyone_in_it(
    enrolled: World, stores: BiometricStores, settings: Settings, photos: dict[str, list[bytes]]
) -> None:
    world = enrolled
    world.lesson()
    frame = side_by_side(photos["lagos"][3], photos["stranger"][0], photos["lopez"][3])
    answer = await kiosk_service(stores, settings).check_in(world.kiosk, CheckinRequest(frame), None)
    named = sorted(f.student.display_name for f in answer.faces if f.outcome == "recorded")
    assert named == ["Lagos T.", "Lopez T."]
    assert answer.unknown >= 1
    assert {row.student_id for row in rows(world)} == {world.students[0].id, world.students[2].id}


async def test_verify_mode_confirms_the_claimed_student_only(
    enrolled: World, stores: BiometricStores, settings: Settings, photos: dict[str, list[bytes]]
) -> None:
    world = enrolled
    world.lesson()
    service = kiosk_service(stores, settings)
    lopez, lagos = world.students[2], world.students[0]
    wrong = await service.check_in(world.kiosk, CheckinRequest(photos["lopez"][3], student_id=lagos.id), None)
    assert wrong.faces[0].outcome == "not_verified" and rows(world) == []
    right = await service.check_in(world.kiosk, CheckinRequest(photos["lopez"][3], student_id=lopez.id), None)
    assert (right.mode, right.faces[0].outcome) == ("verify", "recorded")
    assert rows(world)[0].method is CheckinMethod.face_verify


async def test_which_session_the_kiosk_checks_into(
    enrolled: World, stores: BiometricStores, settings: Settings, photos: dict[str, list[bytes]]
) -> None:
    world = enrolled
    service = kiosk_service(stores, settings)
    frame = photos["lagos"][3]
    with pytest.raises(Conflict) as none_open:
        await service.check_in(world.kiosk, CheckinRequest(frame), None)
    assert none_open.value.code == "no_open_lesson"
    upcoming = world.lesson(started_min_ago=-10)  # starts in 10 minutes: open (15 minutes early)
    answer = await service.check_in(world.kiosk, CheckinRequest(frame), None)
    assert answer.faces[0].lesson_id == upcoming.id
    elsewhere = world.lesson(world.other_class)
    with pytest.raises(Forbidden):
        await service.check_in(world.kiosk, CheckinRequest(frame, lesson_id=elsewhere.id), None)
    finished = world.lesson(started_min_ago=120)
    with pytest.raises(Conflict):
        await service.check_in(world.kiosk, CheckinRequest(frame, lesson_id=finished.id), None)


async def test_one_time_codes(world: World, settings: Settings) -> None:
    lesson = world.lesson()
    student = world.students[1]  # no consent: codes are the way in
    issued = codes.issue_code(world.db, world.teacher, lesson.id, student.id, ttl_minutes=30, request_id=None)
    world.db.commit()
    assert issued.qr.endswith(issued.code.replace("-", ""))
    assert decoded(issued.qr_svg) == issued.qr  # the QR picture reads as the code's URI
    stored = world.db.scalars(select(CheckinCode)).one()
    assert issued.code.replace("-", "") not in stored.code_hash  # only a hash is kept
    with pytest.raises(NotFound):  # another student cannot use it
        codes.redeem_code(world.db, world.student_user, issued.code, None)
    r2_kiosk = Principal(kind="kiosk", id=uuid.uuid4(), school_id=world.school.id, room="R2")
    with pytest.raises(Forbidden) as elsewhere:  # a kiosk in another room refuses it, and it stays unused
        codes.redeem_code(world.db, r2_kiosk, issued.code, None)
    assert elsewhere.value.code == "wrong_room"
    world.db.rollback()
    first = codes.redeem_code(world.db, world.kiosk, issued.code.lower(), None)
    world.db.commit()
    assert (first.mode, first.faces[0].outcome, first.faces[0].status) == (
        "code",
        "recorded",
        AttendanceStatus.present,
    )
    again = codes.redeem_code(world.db, world.kiosk, issued.code, None)
    assert again.faces[0].outcome == "already_recorded"
    assert [r.method for r in rows(world)] == [CheckinMethod.code]
    with pytest.raises(Conflict):  # the outsider is not in this class
        codes.issue_code(world.db, world.admin, lesson.id, world.outsider.id, ttl_minutes=30, request_id=None)
    world.db.rollback()
    with pytest.raises(Forbidden):
        codes.issue_code(
            world.db, world.other_teacher, lesson.id, student.id, ttl_minutes=30, request_id=None
        )
    world.db.rollback()
    late = codes.issue_code(
        world.db, world.teacher, lesson.id, world.students[2].id, ttl_minutes=30, request_id=None
    )
    world.db.scalars(
        select(CheckinCode).where(CheckinCode.student_id == world.students[2].id)
    ).one().expires_at = utcnow() - timedelta(seconds=1)
    world.db.commit()
    with pytest.raises(Conflict) as expired:
        codes.redeem_code(world.db, world.kiosk, late.code, None)
    assert expired.value.code == "code_expired"
    with pytest.raises(NotFound):
        codes.redeem_code(world.db, world.kiosk, "AAAAA-AAAAA", None)


async def test_teachers_mark_and_correct_with_history(world: World) -> None:
    lesson = world.lesson()
    student = world.students[0]
    marked = attendance.mark(
        world.db,
        world.teacher,
        lesson.id,
        student.id,
        AttendanceMark(status="present", reason="saw them"),
        "r1",
    )
    world.db.commit()
    assert (marked.method, marked.status) == (CheckinMethod.manual, AttendanceStatus.present)
    attendance.mark(
        world.db,
        world.teacher,
        lesson.id,
        student.id,
        AttendanceMark(status="excused", reason="doctor's note"),
        None,
    )
    world.db.commit()
    history = attendance.changes(world.db, world.teacher, marked.id)
    assert [(c.old_status, c.new_status, c.reason) for c in history] == [
        (None, AttendanceStatus.present, "saw them"),
        (AttendanceStatus.present, AttendanceStatus.excused, "doctor's note"),
    ]
    assert {c.changed_by for c in history} == {world.teacher.actor}
    # the student may read their own record's history, not others'
    assert len(attendance.changes(world.db, world.student_user, marked.id)) == 2
    with pytest.raises(Forbidden):
        attendance.mark(
            world.db,
            world.other_teacher,
            lesson.id,
            student.id,
            AttendanceMark(status="late", reason="nope"),
            None,
        )
    with pytest.raises(Conflict):
        attendance.mark(
            world.db,
            world.admin,
            lesson.id,
            world.outsider.id,
            AttendanceMark(status="present", reason="x y"),
            None,
        )
    assert world.db.scalar(select(func.count()).select_from(AttendanceChange)) == 2
