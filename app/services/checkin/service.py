"""Kiosk check-in by face: which lesson, whose face, record once, answer.

The flow, in order (each step can end it):
1. Idempotency: a retried request with the same ``Idempotency-Key`` from the same kiosk gets the first
   answer back from Redis without running anything again (and without counting its unknown faces twice).
   The key is bound to the request's fingerprint (``CheckinRequest.fingerprint``): another request with it
   is refused (422 ``idempotency_key_reused``), and a retry arriving while the first is still running waits
   for its answer (``app.services.checkin.cache``).
2. Lesson: the request's ``lesson_id`` (which must be in the kiosk's school and room, and open), else every
   lesson open in the kiosk's room now (from ``checkin_early_minutes`` before its start until its end, not
   closed). Back-to-back lessons can overlap in that window; each recognised student is then checked in to the
   latest-starting one whose class they are in.
3. Liveness (on unless the school's admin switched it off, ``School.liveness``, or the installation runs with
   ``liveness_mode: off``): the request's challenge nonce is redeemed (single
   use, this kiosk's, not expired), then the Liveness deployment judges the burst of frames: the subject
   turned the asked way in 3-D, one continuous person, nothing flat, and (when the school's colour layer is
   on) the face reflected the colour sequence the nonce bound, at the frames' times. A failure ends the flow
   before any identification, is audited, and names its reasons. The burst's most frontal face (the probe)
   is then quality-checked with the lenient check-in limits. Switched off, a single frame is taken as is
   (every face in it, for group check-in), the answer says ``checked: false`` and so do the records
   (``Attendance.liveness_checked``); the challenge route answers 409 ``liveness_off``, which tells the
   kiosk to send one frame and show that liveness is off.
4. Identification (1:N) of the probe (or of each face of the single frame), or verification (1:1) when the
   request claims a ``student_id``.
5. Recording, in one transaction: one attendance row per recognised eligible student (``record_once``),
   present or late by the lesson's start and grace; one audit event per face decision.
6. Unknown faces are counted (Redis, per lesson, shown in the lesson report; and one audit event) but
   never recorded; the answer is cached for the idempotency key.

Identification searches where the student is expected first: the roster of the lessons open here (their
classes' members), at the roster's own threshold. A stranger meets some 30 faces there instead of a whole
school's 500-2,000, so the threshold that keeps strangers out (FPIR 1 %) is lower and a real member is
found more often: errors of 1:N grow with the gallery (docs/MODELS.md). Only a face the roster does not
know is searched in the whole school, at the school's stricter threshold: a student of another class (or a
sibling) is then recognised as themself and answered ``not_in_lesson``, never recorded. The roster's
threshold carries the risk that such a student looks enough like a member to pass it; its operating point
is measured with strangers searched against rosters (``models.eval identify --roster``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import logging
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, Protocol

import numpy as np
import redis
from sqlalchemy import func, select
from sqlmodel import Session, col

from app.core import metrics
from app.core.enums import CheckinMethod
from app.core.errors import BadRequest, Conflict, Forbidden, InvalidInput, NotFound
from app.core.setting_groups import CheckinPolicy
from app.db.tables import Attendance, ClassMember, Lesson, School, SchoolClass, Student, utcnow
from app.schemas.attendance import (
    BurstSpec,
    ChallengeIssued,
    CheckinAnswer,
    CheckinFace,
    ColourChallenge,
    Liveness,
    StudentRef,
)
from app.services.biometrics.face_service import FaceService
from app.services.biometrics.ports import Embeddings
from app.services.biometrics.stores import BiometricStores, gallery_of, label_of, templates_of
from app.services.checkin.cache import RENEW_S, Begun, Replay
from app.services.checkin.challenges import ChallengeLedger, Redemption
from app.services.checkin.lesson_cache import LessonCache, LessonsHere, OpenLesson
from app.services.checkin.review_frames import FAILED_OUTCOMES, keep_failed_frame
from app.services.identity.principal import Principal
from app.services.privacy.activity import log_action, target
from app.services.school.attendance import record_once
from app.services.uow import in_transaction
from models.detection import DetectedFace
from models.liveness import INSTRUCTIONS, ColourSequence, random_sequence

log = logging.getLogger(__name__)
IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9_.:-]{1,128}")
#: How often a concurrent retry asks whether the first request has answered, and how long it waits for it
#: (below the Serve proxy's 30 s request timeout). A holder that died lets go within ``RUNNING_TTL_S``.
CLAIM_POLL_S = 0.05
CLAIM_WAIT_S = 25.0
#: A frame time as the kiosk sends it: a non-negative decimal number of ms (JavaScript's own formatting).
FRAME_TIME = re.compile(r"[0-9]{1,9}(\.[0-9]{1,9})?(e-[0-9]{1,3})?")


#: Error codes of a check-in refused as not live: a ``CheckinWatch`` counts them against the kiosk, with the
#: answers' failed matches (``FAILED_OUTCOMES``).
LIVENESS_FAILED_CODES = frozenset({"liveness_failed"})


class CheckinWatch(Protocol):
    """Watches a kiosk's face check-ins (``app.services.checkin.anomaly.FailedMatchMonitor``): refuses a
    kiosk that must wait, and counts each answer's failed matches."""

    def cooldown_key(self, kiosk: Principal) -> str: ...

    def guard(self, remaining_s: int) -> None: ...

    async def observe(self, kiosk: Principal, failures: int, request_id: str | None) -> bool: ...


@dataclass(frozen=True, slots=True)
class CheckinRequest:
    frame: bytes | None = None  # liveness off: the one frame, every face in it is checked in
    lesson_id: uuid.UUID | None = None
    student_id: uuid.UUID | None = None  # set: 1:1 verification of this student's claim
    idempotency_key: str | None = None
    frames: tuple[bytes, ...] = ()  # liveness on: the burst answering the challenge, in capture order
    nonce: str | None = None
    frame_times_ms: tuple[str, ...] = ()  # when each frame was grabbed, as sent (checked here)

    def fingerprint(self, kiosk_id: uuid.UUID) -> str:
        """What an Idempotency-Key is bound to: everything that could change the answer (the kiosk, the
        lesson, the claimed student, the nonce, the frame times and each frame's bytes)."""
        digest = hashlib.sha256()
        for part in (kiosk_id, self.lesson_id, self.student_id, self.nonce, *self.frame_times_ms):
            digest.update(f"{part}\x1f".encode())
        for frame in (self.frame, *self.frames):
            digest.update(hashlib.sha256(frame or b"").digest())
        return digest.hexdigest()

    @property
    def first_frame(self) -> bytes | None:
        """The single frame, else the burst's first: what a one-frame use (or a review copy) takes."""
        return self.frame or (self.frames[0] if self.frames else None)


@dataclass(frozen=True, slots=True)
class _Keyed:
    """An Idempotency-Key this request holds, and the fingerprint it is bound to."""

    key: str
    fingerprint: str


@dataclass(slots=True)
class _Seen:
    """One face's identity decision before anything is recorded."""

    outcome: Literal["match", "unknown", "not_in_lesson", "not_verified"]
    student_id: uuid.UUID | None
    score: float | None
    box: list[float]
    lesson: OpenLesson | None = None


@dataclass(frozen=True, slots=True)
class _Probe:
    """A face to identify, with its vector."""

    face: DetectedFace
    embeddings: Embeddings


#: What the kiosk tells the student for each liveness reason (codes: ``models.liveness.decision``).
LIVENESS_HINTS = {
    "no_face": "Look at the camera",
    "face_lost": "Stay in front of the camera while you turn",
    "multiple_faces": "One person at a time, please",
    "inconsistent_track": "Move slowly and stay in the frame",
    "different_faces": "One person at a time, please",
    "no_motion": "Turn your head as shown",
    "planar_motion": "Turn your head as shown",
    "wrong_direction": "Turn the other way",
    "challenge_not_performed": "Turn your head a little further",
    "colour_not_reflected": "Come closer to the screen and face it",
    "colour_mismatch": "Start again, facing the screen",
    "colour_timing": "Hold still in front of the screen until it finishes",
    "nonce_used": "Start again",
}


class CheckinService:
    def __init__(
        self,
        stores: BiometricStores,
        face_service: FaceService,
        policy: CheckinPolicy,
        challenges: ChallengeLedger,
        watch: CheckinWatch | None = None,
        clock: Callable[[], datetime] = utcnow,
        lessons: LessonCache | None = None,
    ) -> None:
        """``lessons``: the replica's lesson cache (``app.services.checkin.lesson_cache``; the engine must
        track changes for it); without one every check-in reads its lessons from PostgreSQL."""
        self._stores = stores
        self._face_service = face_service
        self._policy = policy
        self._challenges = challenges
        self._watch = watch
        self._clock = clock
        self._lessons = lessons or LessonCache(0)

    async def challenge(self, kiosk: Principal, lesson_id: uuid.UUID | None) -> ChallengeIssued:
        """A challenge for the next check-in at this kiosk. The lesson is checked now, so a kiosk in a
        room with nothing open learns it before the student performs anything."""
        if kiosk.kind != "kiosk":
            raise Forbidden("challenges are issued to kiosks", code="forbidden")
        policy = self._policy
        if not policy.checks_liveness(True):  # off for every school: no need to ask Redis or PostgreSQL
            raise _liveness_off()
        begun = await asyncio.to_thread(self._stores.cache.begin, kiosk.id, None, None)
        now = self._clock()
        here = await self._here(kiosk, lesson_id, now, begun.lessons_version)
        if not policy.checks_liveness(here.liveness):
            raise _liveness_off()
        open_at(here.lessons, lesson_id, now, policy.early_minutes, kiosk)
        lit = here.colour_challenge
        colours = random_sequence(policy.colour_slots, policy.colour_slot_ms) if lit else None
        issued = await asyncio.to_thread(self._challenges.issue, str(kiosk.id), None, colours)
        return ChallengeIssued(
            nonce=issued.nonce,
            action=issued.action.value,
            instruction=INSTRUCTIONS[issued.action],
            expires_in_s=issued.expires_in_s,
            frames=BurstSpec(
                min=policy.burst_min_frames,
                max=policy.burst_max_frames,
                default=policy.burst_default_frames,
                interval_ms=policy.burst_interval_ms,
            ),
            colours=ColourChallenge(sequence=list(colours.sequence), slot_ms=colours.slot_ms)
            if colours is not None
            else None,
        )

    async def check_in(
        self, kiosk: Principal, request: CheckinRequest, request_id: str | None
    ) -> CheckinAnswer:
        if kiosk.kind != "kiosk":
            raise Forbidden("check-in by face is done at a kiosk", code="forbidden")
        try:
            answer = await self._check_in(kiosk, request, request_id)
        except InvalidInput as exc:
            if exc.code in LIVENESS_FAILED_CODES:
                metrics.liveness_refused(str(kiosk.id))
                if self._watch is not None:
                    await self._watch.observe(kiosk, 1, request_id)
            raise
        if not answer.replayed:
            decided = [(face.outcome, face.confidence) for face in answer.faces]
            metrics.checkin_faces(str(kiosk.id), answer.mode, decided)
            if self._watch is not None:
                failed = sum(face.outcome in FAILED_OUTCOMES for face in answer.faces)
                await self._watch.observe(kiosk, failed, request_id)
        return answer

    async def _check_in(
        self, kiosk: Principal, request: CheckinRequest, request_id: str | None
    ) -> CheckinAnswer:
        key = _checked_key(request.idempotency_key)
        cache = self._stores.cache
        # Redis is asked first, even without a key: if it is down the request fails (503) before anything is
        # written, rather than recording attendance and then failing on the counters.
        if key is None:
            begun = await self._begin(kiosk, None, None)
            return await self._answer(kiosk, request, None, request_id, begun.lessons_version)
        fingerprint = request.fingerprint(kiosk.id)
        replay, version = await self._claim(kiosk, key, fingerprint)
        if replay is not None:
            return replay
        renewing = asyncio.create_task(self._keep_claim(kiosk, key, fingerprint))
        try:
            return await self._answer(kiosk, request, _Keyed(key, fingerprint), request_id, version)
        except BaseException:
            with contextlib.suppress(redis.RedisError):  # unanswered: the claim lapses by itself anyway
                await asyncio.to_thread(cache.release, kiosk.id, key, fingerprint)
            raise
        finally:
            renewing.cancel()

    async def _keep_claim(self, kiosk: Principal, key: str, fingerprint: str) -> None:
        """Renew the claim while the request runs (a check-in far slower than ``RUNNING_TTL_S`` keeps it)."""
        while True:
            await asyncio.sleep(RENEW_S)
            try:
                await asyncio.to_thread(self._stores.cache.renew, kiosk.id, key, fingerprint)
            except redis.RedisError as exc:  # the answer is stored at the end either way
                log.warning("could not renew an idempotency claim: %s", type(exc).__name__)

    async def _begin(self, kiosk: Principal, key: str | None, fingerprint: str | None) -> Begun:
        """The check-in's first Redis round trip (``CheckinCache.begin``: the claim, the lesson cache's
        version, the kiosk's cool-down); a kiosk cooling down is refused here (429), before any work."""
        cache = self._stores.cache
        cooldown = self._watch.cooldown_key(kiosk) if self._watch is not None else None
        begun = await asyncio.to_thread(cache.begin, kiosk.id, key, fingerprint, cooldown)
        if self._watch is None or begun.cooldown_s <= 0:
            return begun
        if key is not None and fingerprint is not None and begun.claim and begun.claim.state == "claimed":
            # taken in the same round trip: given back, so the kiosk's retry after the pause runs at once
            with contextlib.suppress(redis.RedisError):
                await asyncio.to_thread(cache.release, kiosk.id, key, fingerprint)
        self._watch.guard(begun.cooldown_s)
        return begun

    async def _claim(self, kiosk: Principal, key: str, fingerprint: str) -> tuple[CheckinAnswer | None, str]:
        """``(None, lesson cache version)`` once this request holds ``key``; the first answer when it was
        answered already. The same request still running elsewhere (a concurrent retry) is waited for, never
        run twice."""
        deadline = time.monotonic() + CLAIM_WAIT_S
        while True:
            begun = await self._begin(kiosk, key, fingerprint)
            claim = begun.claim
            assert claim is not None  # asked with a key
            if claim.state == "claimed":
                return None, begun.lessons_version
            if claim.state == "done" and claim.answer is not None:
                answer = CheckinAnswer.model_validate_json(claim.answer)
                return answer.model_copy(update={"replayed": True}), begun.lessons_version
            if claim.state == "reused":
                raise InvalidInput(
                    "this Idempotency-Key was used for a different check-in; send a new key",
                    code="idempotency_key_reused",
                )
            if time.monotonic() > deadline:
                raise Conflict(
                    "this check-in is still being answered; retry shortly", code="checkin_in_progress"
                )
            await asyncio.sleep(CLAIM_POLL_S)

    async def _answer(
        self,
        kiosk: Principal,
        request: CheckinRequest,
        keyed: _Keyed | None,
        request_id: str | None,
        lessons_version: str,
    ) -> CheckinAnswer:
        """Run the check-in: open lessons, liveness and identity, the records, then the answer's keeping."""
        key = keyed.key if keyed is not None else None
        now = self._clock()
        here = await self._here(kiosk, request.lesson_id, now, lessons_version)
        lessons = open_at(here.lessons, request.lesson_id, now, self._policy.early_minutes, kiosk)
        if self._policy.checks_liveness(here.liveness):
            liveness, probes = await self._live_probe(kiosk, request, key, request_id)
        else:
            liveness, probes = Liveness(checked=False, passed=True), await self._frame_faces(request)
        mode: Literal["identify", "verify"] = "identify" if request.student_id is None else "verify"
        if request.student_id is not None:
            seen = await self._verify(lessons, request.student_id, probes[0])
        else:
            seen = await self._identify(kiosk, lessons, probes)
        faces = await in_transaction(
            self._stores.engine, self._record, kiosk, seen, mode, now, key, liveness.checked, request_id
        )
        unknown = sum(face.outcome == "unknown" for face in faces)
        answer = CheckinAnswer(
            mode=mode,
            faces=faces,
            liveness=liveness,
            recorded=sum(face.outcome == "recorded" for face in faces),
            unknown=unknown,
        )
        await asyncio.to_thread(self._after_commit, kiosk, lessons[0].lesson.id, answer, keyed)
        # Off by default: with keep_failed_checkin_frames a failed match keeps one frame 24 h, for review.
        frame = request.first_frame
        outcomes = [face.outcome for face in faces]
        await keep_failed_frame(self._stores, self._policy, kiosk, frame, lessons[0].lesson.id, outcomes)
        return answer

    def _after_commit(
        self, kiosk: Principal, lesson_id: uuid.UUID, answer: CheckinAnswer, keyed: _Keyed | None
    ) -> None:
        """Count unknown faces and keep the answer for replays. The attendance is committed by now, so a
        Redis failure here must not turn the answer into an error (a retry would still find the records)."""
        replay = None
        if keyed is not None:
            students = [face.student.id for face in answer.faces if face.student is not None]
            replay = Replay(kiosk.id, keyed.key, keyed.fingerprint, answer.model_dump_json(), students)
        try:
            self._stores.cache.finish(lesson_id, answer.unknown, replay)
        except redis.RedisError as exc:
            log.warning("check-in recorded, but Redis failed afterwards: %s", type(exc).__name__)

    async def _here(
        self, kiosk: Principal, lesson_id: uuid.UUID | None, now: datetime, version: str
    ) -> LessonsHere:
        """The kiosk's lessons and its school's liveness switches, from the replica's lesson cache when its
        entry is current (``version``), else from PostgreSQL."""
        key = (kiosk.school_id, kiosk.room, lesson_id)
        here = self._lessons.get(key, version)
        if here is None:
            loaded_at = self._lessons.now()
            horizon = timedelta(minutes=self._policy.early_minutes, seconds=self._lessons.ttl_s)
            here = await in_transaction(self._stores.engine, lessons_here, kiosk, lesson_id, now, horizon)
            self._lessons.put(key, version, here, loaded_at)
        return here

    # ------------------------------------------------------------------ identity

    async def _live_probe(
        self, kiosk: Principal, request: CheckinRequest, key: str | None, request_id: str | None
    ) -> tuple[Liveness, list[_Probe]]:
        """Redeem the nonce, judge the burst, and quality-check its probe face (see the module docstring)."""
        policy = self._policy
        if not request.nonce:
            raise BadRequest(
                "a challenge nonce is required: ask POST /v1/checkins/challenge first",
                code="challenge_required",
            )
        count = len(request.frames)
        if count < policy.burst_min_frames:
            raise InvalidInput(
                f"{count} frames sent; a burst needs at least {policy.burst_min_frames}",
                code="too_few_frames",
                min=policy.burst_min_frames,
            )
        if count > policy.burst_max_frames:
            raise InvalidInput(
                f"{count} frames sent; a burst takes at most {policy.burst_max_frames}",
                code="too_many_frames",
                max=policy.burst_max_frames,
            )
        times = _frame_times(request.frame_times_ms, count, policy.challenge_ttl_s * 1000)
        status, terms = await asyncio.to_thread(self._challenges.redeem, request.nonce, str(kiosk.id), key)
        if status is Redemption.used:
            await self._deny(kiosk, request_id, reasons=["nonce_used"])
            raise Conflict("this challenge was already answered; ask for a new one", code="nonce_used")
        if status is Redemption.invalid or terms is None:
            raise BadRequest(
                "unknown or expired challenge; ask for a new one", code="nonce_invalid", field="nonce"
            )
        if terms.colours is not None:
            _check_lit(times, terms.colours)
        capture = await self._face_service.capture_live(
            list(request.frames), terms.action.value, times, terms.colours
        )
        verdict = capture.verdict
        if not verdict.passed or capture.face is None or capture.embeddings is None:
            await self._deny(kiosk, request_id, reasons=verdict.reasons, score=verdict.score)
            raise InvalidInput(
                "the liveness check failed",
                code="liveness_failed",
                reasons=verdict.reasons,
                hints=[LIVENESS_HINTS.get(reason, reason) for reason in verdict.reasons],
                score=verdict.score,
                action=verdict.action,
            )
        problems = capture.face.quality.problems(self._face_service.quality.checkin)
        if problems:
            await self._deny(kiosk, request_id, reasons=[p.code for p in problems])
            raise InvalidInput(
                "the face is not clear enough to recognise",
                code="poor_quality",
                reasons=[p.code for p in problems],
                hints=[p.hint for p in problems],
            )
        liveness = Liveness(checked=True, passed=True, score=verdict.score, action=verdict.action, reasons=[])
        return liveness, [_Probe(capture.face, capture.embeddings)]

    async def _frame_faces(self, request: CheckinRequest) -> list[_Probe]:
        """Liveness off: every face of the single frame with its vector (one embed call for all)."""
        frame = request.first_frame
        if frame is None:
            raise InvalidInput("a frame is required", code="no_frame", field="frame")
        found = await self._face_service.detect(frame)
        if not found.faces:
            raise InvalidInput("no face was found in the frame", code="no_face", field="frame")
        if request.student_id is not None:  # 1:1: only the largest face is the claimant
            subject = int(np.argmax([detected.quality.face_size for detected in found.faces]))
            embedded = await self._face_service.embed(found.crops[subject : subject + 1])
            return [_Probe(found.faces[subject], embedded)]
        embedded = await self._face_service.embed(found.crops)
        return [
            _Probe(face, Embeddings(embedded.vectors[i : i + 1], embedded.model))
            for i, face in enumerate(found.faces)
        ]

    async def _deny(self, kiosk: Principal, request_id: str | None, **details: object) -> None:
        await in_transaction(
            self._stores.engine,
            log_action,
            kiosk,
            "checkin.liveness",
            None,
            request_id,
            result="denied",
            **details,
        )

    async def _identify(
        self, kiosk: Principal, lessons: list[OpenLesson], probes: list[_Probe]
    ) -> list[_Seen]:
        vectors = np.concatenate([probe.embeddings.vectors for probe in probes])
        model = probes[0].embeddings.model
        gallery, index = gallery_of(kiosk.school_id), self._stores.index
        roster = frozenset(label_of(member) for lesson in lessons for member in lesson.members)
        matches = await index.search(gallery, Embeddings(vectors, model), roster)
        strangers = [i for i, match in enumerate(matches) if not match.known]
        if strangers:  # nobody of the roster: perhaps somebody of the school (one call for them all)
            school = await index.search(gallery, Embeddings(vectors[strangers], model))
            for i, match in zip(strangers, school, strict=True):
                matches[i] = match
        seen = []
        for probe, match in zip(probes, matches, strict=True):
            box = [round(float(v), 1) for v in probe.face.face.box]
            student_id = _student_of(match.label)
            if student_id is None:
                seen.append(_Seen("unknown", None, match.score, box))
                continue
            lesson = _lesson_for(lessons, student_id)
            outcome: Literal["match", "not_in_lesson"] = "match" if lesson is not None else "not_in_lesson"
            seen.append(_Seen(outcome, student_id, match.score, box, lesson))
        return seen

    async def _verify(self, lessons: list[OpenLesson], student_id: uuid.UUID, probe: _Probe) -> list[_Seen]:
        """1:1: the probe face against the claimed student's own templates, from PostgreSQL."""
        box = [round(float(v), 1) for v in probe.face.face.box]
        lesson = _lesson_for(lessons, student_id)
        if lesson is None:
            return [_Seen("not_in_lesson", student_id, None, box)]
        templates = await in_transaction(self._stores.engine, templates_of, student_id)
        model_id = probe.embeddings.model.model_id
        stored = [self._stores.cipher.open(t) for t in templates if t.model_id == model_id]
        if not stored:
            raise Conflict("the student is not enrolled for face check-in", code="not_enrolled")
        score = float(np.clip(np.max(np.stack(stored) @ probe.embeddings.vectors[0]), -1.0, 1.0))
        outcome: Literal["match", "not_verified"] = (
            "match" if score >= self._face_service.verify_threshold else "not_verified"
        )
        return [_Seen(outcome, student_id, score, box, lesson)]

    # ------------------------------------------------------------------ recording

    def _record(
        self,
        session: Session,
        kiosk: Principal,
        seen: list[_Seen],
        mode: Literal["identify", "verify"],
        now: datetime,
        key: str | None,
        live: bool,
        request_id: str | None,
    ) -> list[CheckinFace]:
        """One transaction: a record per recognised eligible student (``live``: whether liveness ran, kept
        on the record for reports), an audit event per face decision."""
        ids = {face.student_id for face in seen if face.student_id is not None}
        students = {
            student.id: student
            for student in session.scalars(select(Student).where(col(Student.id).in_(ids)))
            if student.school_id == kiosk.school_id and student.active
        }
        method = CheckinMethod.face_verify if mode == "verify" else CheckinMethod.face
        answers: list[CheckinFace] = []
        for face in seen:
            student = students.get(face.student_id) if face.student_id is not None else None
            if face.outcome == "unknown" or student is None:
                answers.append(CheckinFace(outcome="unknown", confidence=face.score, box=face.box))
                continue
            ref = StudentRef(id=student.id, display_name=student.display_name)
            if face.outcome != "match" or face.lesson is None:
                answers.append(
                    CheckinFace(outcome=face.outcome, student=ref, confidence=face.score, box=face.box)
                )
                log_action(
                    session,
                    kiosk,
                    f"checkin.{mode}",
                    target("student", student.id),
                    request_id,
                    result="denied",
                    reason=face.outcome,
                )
                continue
            record, created = record_once(
                session,
                lesson=face.lesson.lesson,
                student_id=student.id,
                method=method,
                at=now,
                recorded_by=kiosk.actor,
                confidence=face.score,
                idempotency_key=key,
                liveness_checked=live,
            )
            answers.append(record_answer(record, ref, created, face.score, box=face.box))
            if created:
                log_action(
                    session,
                    kiosk,
                    f"checkin.{mode}",
                    target("student", student.id),
                    request_id,
                    lesson_id=str(record.lesson_id),
                    status=record.status.value,
                    confidence=round(face.score or 0.0, 4),
                    liveness=live,
                )
        unknown = sum(answer.outcome == "unknown" for answer in answers)
        if unknown:
            log_action(session, kiosk, "checkin.unknown", None, request_id, faces=unknown)
        return answers


def record_answer(
    record: Attendance,
    student: StudentRef,
    created: bool,
    confidence: float | None,
    box: list[float] | None = None,
) -> CheckinFace:
    """How a recorded (or already recorded) attendance is answered: the stored record gives the status (a
    retry is as late as the first try was), this request's match gives the confidence (``None`` for a code):
    a kiosk shows how sure it is of the face in front of it, not of an earlier one."""
    return CheckinFace(
        outcome="recorded" if created else "already_recorded",
        student=student,
        status=record.status,
        confidence=confidence,
        lesson_id=record.lesson_id,
        attendance_id=record.id,
        box=box,
    )


def lessons_here(
    session: Session, kiosk: Principal, lesson_id: uuid.UUID | None, now: datetime, horizon: timedelta
) -> LessonsHere:
    """The kiosk's lesson ``lesson_id`` (checked to be its school's and room's), else its room's lessons
    not closed that are open now or open within ``horizon`` (a check-in's ``early_minutes`` plus the lesson
    cache's life), latest start first, with their classes' members; and the school's colour flag."""
    room = func.coalesce(Lesson.room, SchoolClass.room)
    query = (
        select(Lesson, room)
        .join(SchoolClass, col(SchoolClass.id) == Lesson.class_id)
        .where(col(SchoolClass.school_id) == kiosk.school_id)
    )
    if lesson_id is not None:
        row = session.execute(query.where(col(Lesson.id) == lesson_id)).first()
        if row is None:
            raise NotFound(f"no lesson {lesson_id}", code="lesson_not_found", id=str(lesson_id))
        lesson, lesson_room = row
        if lesson_room != kiosk.room:
            raise Forbidden("the lesson is not in this kiosk's room", code="wrong_room", room=lesson_room)
        lessons = [lesson]
    else:
        lessons = list(
            session.scalars(
                query.with_only_columns(Lesson)
                .where(
                    room == kiosk.room,
                    col(Lesson.closed_at).is_(None),
                    col(Lesson.starts_at) <= now + horizon,
                    col(Lesson.ends_at) > now,
                )
                .order_by(col(Lesson.starts_at).desc())
            )
        )
    members: dict[uuid.UUID, set[uuid.UUID]] = {lesson.class_id: set() for lesson in lessons}
    if members:
        for class_id, student_id in session.execute(
            select(col(ClassMember.class_id), col(ClassMember.student_id)).where(
                col(ClassMember.class_id).in_(members)
            )
        ):
            members[class_id].add(student_id)
    school = session.get(School, kiosk.school_id)
    return LessonsHere(
        [OpenLesson(lesson, frozenset(members[lesson.class_id])) for lesson in lessons],
        liveness=school is None or school.liveness,
        colour_challenge=school is None or school.colour_challenge,
    )


def _liveness_off() -> Conflict:
    return Conflict("liveness checks are switched off; send a single frame", code="liveness_off")


def open_at(
    lessons: list[OpenLesson],
    lesson_id: uuid.UUID | None,
    now: datetime,
    early_minutes: int,
    kiosk: Principal,
) -> list[OpenLesson]:
    """Which of ``lessons`` (from ``lessons_here``) take check-ins at ``now``: from ``early_minutes`` before
    their start until their end, not closed (see the module docstring)."""
    early = timedelta(minutes=early_minutes)
    open_now = [
        here
        for here in lessons
        if here.lesson.closed_at is None and here.lesson.starts_at - early <= now < here.lesson.ends_at
    ]
    if lesson_id is not None and not open_now:
        raise Conflict("the lesson is not open for check-in now", code="lesson_not_open")
    if not open_now:
        raise Conflict(f"no lesson is open in room {kiosk.room!r} now", code="no_open_lesson")
    return open_now


def _frame_times(sent: tuple[str, ...], frames: int, limit_ms: float) -> list[float] | None:
    """The kiosk's frame times (ms from the start of its capture), checked: one per frame, numbers, from 0
    and strictly increasing, within ``limit_ms`` (the challenge's life); ``None`` when none were sent."""
    if not sent:
        return None
    if len(sent) != frames:
        raise _times_invalid(f"{len(sent)} frame times for {frames} frames; send one per frame, in order")
    if not all(FRAME_TIME.fullmatch(value) for value in sent):
        raise _times_invalid("frame times must be numbers (ms from the start of the capture), e.g. 120.5")
    times = [float(value) for value in sent]
    if not all(t <= limit_ms for t in times):
        raise _times_invalid(f"frame times must lie within 0..{limit_ms:.0f} ms of the start of the capture")
    if any(after <= before for before, after in itertools.pairwise(times)):
        raise _times_invalid("frame times must increase strictly, in the order of the frames")
    return times


def _check_lit(times: list[float] | None, colours: ColourSequence) -> None:
    """With colours on, every frame must say when it was grabbed, within the screen's sequence."""
    if times is None:
        raise InvalidInput(
            "this challenge lights the face with colours: send frame_times_ms, one per frame",
            code="frame_times_required",
            field="frame_times_ms",
        )
    if times[-1] >= colours.duration_ms:
        raise _times_invalid(f"frame times must lie within the colour sequence's {colours.duration_ms} ms")


def _times_invalid(message: str) -> InvalidInput:
    return InvalidInput(message, code="frame_times_invalid", field="frame_times_ms")


def _lesson_for(lessons: list[OpenLesson], student_id: uuid.UUID) -> OpenLesson | None:
    return next((s for s in lessons if student_id in s.members), None)


def _student_of(label: str | None) -> uuid.UUID | None:
    if label is None:
        return None
    try:
        return uuid.UUID(label)
    except ValueError:  # a label not written by enrollment (the raw gallery API): nobody we know
        return None


def _checked_key(key: str | None) -> str | None:
    if key is None:
        return None
    if IDEMPOTENCY_KEY.fullmatch(key) is None:
        raise InvalidInput(
            "Idempotency-Key must be 1-128 characters from A-Z a-z 0-9 _ . : -",
            code="invalid_idempotency_key",
        )
    return key
