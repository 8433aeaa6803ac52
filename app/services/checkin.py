"""Kiosk check-in by face: which session, whose face, record once, answer.

The flow, in order (each step can end it):
1. Idempotency: a retried request with the same ``Idempotency-Key`` from the same kiosk gets the first
   answer back from Redis without running anything again (and without counting its unknown faces twice).
2. Session: the request's ``session_id`` (which must be in the kiosk's school and room, and open), else every
   session open in the kiosk's room now (from ``checkin_early_minutes`` before its start until its end, not
   closed). Back-to-back lessons can overlap in that window; each recognised student is then checked in to the
   latest-starting one whose class they are in.
3. Liveness: ``LivenessGate.check``. Until the liveness issue lands the gate is ``NoLivenessCheck``, which
   passes every frame and says so (``checked: false`` in the answer); a failed check ends the flow before
   any identification and is audited.
4. Identification (1:N), or verification (1:1) when the request claims a ``student_id``.
5. Recording, in one transaction: one attendance row per recognised eligible student (``record_once``),
   present or late by the session's start and grace; one audit event per face decision.
6. Unknown faces are counted (Redis, per session, shown in the session report; and one audit event) but
   never recorded; the answer is cached for the idempotency key.

Why identify in the whole school's gallery and then keep the class's students, rather than search among the
class's members only: a search restricted to the members always returns the most similar *member*, so a
student of another class (or a sibling) standing at the kiosk is far more likely to be taken for one of
them; over the school's gallery that student is recognised as themself and answered "not in this session".
The whole school is also one Milvus partition (the gallery is the partition key), so nothing is gained in
speed by filtering to a list of labels, and no label list needs to travel into a filter expression.
"""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, Protocol

import numpy as np
import redis
from sqlalchemy import func, select
from sqlmodel import Session

from app.core.config import Settings
from app.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from app.db.tables import (
    Attendance,
    CheckinMethod,
    ClassMember,
    ClassSession,
    SchoolClass,
    Student,
    utcnow,
)
from app.schemas.attendance import CheckinAnswer, CheckinFace, Liveness, StudentRef
from app.services.activity import log_action, target
from app.services.attendance import record_once
from app.services.biometrics import BiometricStores, gallery_of, templates_of
from app.services.principal import Principal
from app.services.uow import in_transaction

log = logging.getLogger(__name__)
IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9_.:-]{1,128}")


@dataclass(frozen=True, slots=True)
class CheckinRequest:
    frame: bytes
    session_id: uuid.UUID | None = None
    student_id: uuid.UUID | None = None  # set: 1:1 verification of this student's claim
    idempotency_key: str | None = None


class LivenessGate(Protocol):
    """Is the frame a live person at the kiosk (not a photo or a screen)? The liveness issue implements it."""

    async def check(self, kiosk: Principal, frame: bytes) -> Liveness: ...


class NoLivenessCheck:
    """The placeholder gate: every frame passes, and the answer says nothing was checked."""

    async def check(self, kiosk: Principal, frame: bytes) -> Liveness:
        return Liveness(checked=False, passed=True, score=None)


@dataclass(frozen=True, slots=True)
class OpenSession:
    """A session the kiosk can check students in to, with its class's members."""

    lesson: ClassSession
    members: frozenset[uuid.UUID]


@dataclass(slots=True)
class _Seen:
    """One face's identity decision before anything is recorded."""

    outcome: Literal["match", "unknown", "not_in_session", "not_verified"]
    student_id: uuid.UUID | None
    score: float | None
    box: list[float]
    session: OpenSession | None = None


class CheckinService:
    def __init__(
        self,
        stores: BiometricStores,
        settings: Settings,
        liveness: LivenessGate | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._stores = stores
        self._settings = settings
        self._liveness = liveness or NoLivenessCheck()
        self._clock = clock

    async def check_in(
        self, kiosk: Principal, request: CheckinRequest, request_id: str | None
    ) -> CheckinAnswer:
        if kiosk.kind != "kiosk":
            raise Forbidden("check-in by face is done at a kiosk", code="forbidden")
        key = _checked_key(request.idempotency_key)
        cache = self._stores.cache
        # Redis is asked first, even without a key: if it is down the request fails (503) before anything is
        # written, rather than recording attendance and then failing on the counters.
        if key is None:
            await asyncio.to_thread(cache.ping)
        elif (cached := await asyncio.to_thread(cache.answer, kiosk.id, key)) is not None:
            return CheckinAnswer.model_validate_json(cached).model_copy(update={"replayed": True})
        now = self._clock()
        sessions = await in_transaction(
            self._stores.engine,
            open_sessions,
            kiosk,
            request.session_id,
            now,
            self._settings.checkin_early_minutes,
        )
        liveness = await self._liveness.check(kiosk, request.frame)
        if not liveness.passed:
            await in_transaction(
                self._stores.engine, log_action, kiosk, "checkin.liveness", None, request_id, result="denied"
            )
            raise InvalidInput("the liveness check failed", code="liveness_failed", score=liveness.score)
        if request.student_id is not None:
            mode: Literal["identify", "verify"] = "verify"
            seen = await self._verify(kiosk, sessions, request.student_id, request.frame)
        else:
            mode = "identify"
            seen = await self._identify(kiosk, sessions, request.frame)
        faces = await in_transaction(
            self._stores.engine, self._record, kiosk, seen, mode, now, key, request_id
        )
        unknown = sum(face.outcome == "unknown" for face in faces)
        answer = CheckinAnswer(
            mode=mode,
            faces=faces,
            liveness=liveness,
            recorded=sum(face.outcome == "recorded" for face in faces),
            unknown=unknown,
        )
        await asyncio.to_thread(self._after_commit, kiosk, sessions[0].lesson.id, answer, key)
        return answer

    def _after_commit(
        self, kiosk: Principal, session_id: uuid.UUID, answer: CheckinAnswer, key: str | None
    ) -> None:
        """Count unknown faces and keep the answer for replays. The attendance is committed by now, so a
        Redis failure here must not turn the answer into an error (a retry would still find the records)."""
        cache = self._stores.cache
        try:
            cache.count_unknown(session_id, answer.unknown)
            if key is not None:
                students = [face.student.id for face in answer.faces if face.student is not None]
                cache.remember(kiosk.id, key, answer.model_dump_json(), students)
        except redis.RedisError as exc:
            log.warning("check-in recorded, but Redis failed afterwards: %s", type(exc).__name__)

    # ------------------------------------------------------------------ identity

    async def _identify(self, kiosk: Principal, sessions: list[OpenSession], frame: bytes) -> list[_Seen]:
        results = await self._stores.faces.identify(gallery_of(kiosk.school_id), frame)
        seen = []
        for result in results:
            box = [round(float(v), 1) for v in result.face.face.box]
            student_id = _student_of(result.match.label)
            if student_id is None:
                seen.append(_Seen("unknown", None, result.match.score, box))
                continue
            lesson = _session_for(sessions, student_id)
            outcome: Literal["match", "not_in_session"] = "match" if lesson is not None else "not_in_session"
            seen.append(_Seen(outcome, student_id, result.match.score, box, lesson))
        return seen

    async def _verify(
        self, kiosk: Principal, sessions: list[OpenSession], student_id: uuid.UUID, frame: bytes
    ) -> list[_Seen]:
        """1:1: the frame's largest face against the claimed student's own templates, from PostgreSQL."""
        faces = self._stores.faces
        found = await faces.detect(frame)
        if not found.faces:
            raise InvalidInput("no face was found in the frame", code="no_face", field="frame")
        subject = int(np.argmax([detected.quality.face_size for detected in found.faces]))
        box = [round(float(v), 1) for v in found.faces[subject].face.box]
        lesson = _session_for(sessions, student_id)
        if lesson is None:
            return [_Seen("not_in_session", student_id, None, box)]
        templates = await in_transaction(self._stores.engine, templates_of, student_id)
        embedded = await faces.embed(found.crops[subject : subject + 1])
        stored = [self._stores.cipher.open(t) for t in templates if t.model_id == embedded.model.model_id]
        if not stored:
            raise Conflict("the student is not enrolled for face check-in", code="not_enrolled")
        score = float(np.clip(np.max(np.stack(stored) @ embedded.vectors[0]), -1.0, 1.0))
        outcome: Literal["match", "not_verified"] = (
            "match" if score >= faces.verify_threshold else "not_verified"
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
        request_id: str | None,
    ) -> list[CheckinFace]:
        ids = {face.student_id for face in seen if face.student_id is not None}
        students = {
            student.id: student
            for student in session.scalars(select(Student).where(Student.id.in_(ids)))
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
            if face.outcome != "match" or face.session is None:
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
                lesson=face.session.lesson,
                student_id=student.id,
                method=method,
                at=now,
                recorded_by=kiosk.actor,
                confidence=face.score,
                idempotency_key=key,
            )
            answers.append(record_answer(record, ref, created, box=face.box))
            if created:
                log_action(
                    session,
                    kiosk,
                    f"checkin.{mode}",
                    target("student", student.id),
                    request_id,
                    session_id=str(record.session_id),
                    status=record.status.value,
                    confidence=round(face.score or 0.0, 4),
                )
        unknown = sum(answer.outcome == "unknown" for answer in answers)
        if unknown:
            log_action(session, kiosk, "checkin.unknown", None, request_id, faces=unknown)
        return answers


def record_answer(
    record: Attendance, student: StudentRef, created: bool, box: list[float] | None = None
) -> CheckinFace:
    """How a recorded (or already recorded) attendance is answered: the stored record speaks, so a retry
    gets the same status and confidence as the first request did."""
    return CheckinFace(
        outcome="recorded" if created else "already_recorded",
        student=student,
        status=record.status,
        confidence=record.confidence,
        session_id=record.session_id,
        attendance_id=record.id,
        box=box,
    )


def open_sessions(
    session: Session, kiosk: Principal, session_id: uuid.UUID | None, now: datetime, early_minutes: int
) -> list[OpenSession]:
    """The sessions this kiosk checks into now, latest start first (see the module docstring)."""
    room = func.coalesce(ClassSession.room, SchoolClass.room)
    query = (
        select(ClassSession, room)
        .join(SchoolClass, SchoolClass.id == ClassSession.class_id)
        .where(SchoolClass.school_id == kiosk.school_id)
    )
    early = timedelta(minutes=early_minutes)
    if session_id is not None:
        row = session.execute(query.where(ClassSession.id == session_id)).first()
        if row is None:
            raise NotFound(f"no session {session_id}", code="session_not_found", id=str(session_id))
        lesson, lesson_room = row
        if lesson_room != kiosk.room:
            raise Forbidden("the session is not in this kiosk's room", code="wrong_room", room=lesson_room)
        if lesson.closed_at is not None or not lesson.starts_at - early <= now < lesson.ends_at:
            raise Conflict("the session is not open for check-in now", code="session_not_open")
        lessons = [lesson]
    else:
        lessons = list(
            session.scalars(
                query.with_only_columns(ClassSession)
                .where(
                    room == kiosk.room,
                    ClassSession.closed_at.is_(None),
                    ClassSession.starts_at <= now + early,
                    ClassSession.ends_at > now,
                )
                .order_by(ClassSession.starts_at.desc())
            )
        )
        if not lessons:
            raise Conflict(f"no session is open in room {kiosk.room!r} now", code="no_open_session")
    members: dict[uuid.UUID, set[uuid.UUID]] = {lesson.class_id: set() for lesson in lessons}
    for class_id, student_id in session.execute(
        select(ClassMember.class_id, ClassMember.student_id).where(ClassMember.class_id.in_(members))
    ):
        members[class_id].add(student_id)
    return [OpenSession(lesson, frozenset(members[lesson.class_id])) for lesson in lessons]


def _session_for(sessions: list[OpenSession], student_id: uuid.UUID) -> OpenSession | None:
    return next((s for s in sessions if student_id in s.members), None)


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
