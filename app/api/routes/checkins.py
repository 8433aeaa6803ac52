"""Check-in: a kiosk asks for a challenge, then sends a burst of frames answering it (identify, or verify a
claimed student); a code from the teacher is the non-biometric way in. Retrying a request with the same
Idempotency-Key returns the first answer."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Header, Response, UploadFile

from app.api.deps import DbDep, RequestIdDep, SettingsDep, read_image
from app.api.errors import error_responses
from app.api.school_deps import Multipart, SchoolServicesDep
from app.api.security import KioskOnly, require
from app.core.enums import Role
from app.core.errors import InvalidInput
from app.schemas.attendance import ChallengeIssued, ChallengeRequest, CheckinAnswer, CodeRedeem
from app.services.checkin import codes
from app.services.checkin.service import CheckinRequest
from app.services.identity.principal import KIOSK, Principal

router = APIRouter(prefix="/v1/checkins", tags=["check-in"])

KioskOrStudent = Annotated[Principal, Depends(require(KIOSK, Role.student))]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="The kiosk's id for this attempt (1-128 of A-Z a-z 0-9 _ . : -); a retry with it is "
        "answered with the first answer and records nothing new.",
    ),
]


@router.post(
    "/challenge",
    summary="Get a liveness challenge for the next check-in",
    status_code=201,
    response_model=ChallengeIssued,
    responses=error_responses(403, 404, 409, 503),
)
async def challenge(
    kiosk: KioskOnly, services: SchoolServicesDep, body: ChallengeRequest | None = None
) -> ChallengeIssued:
    """Show `instruction`, capture `frames.default` frames (`frames.min`..`frames.max`) `frames.interval_ms`
    apart while the student follows it, and send them with `nonce` to `POST /v1/checkins` within
    `expires_in_s`. With `colours` (null when the school's colour layer is off), fill the screen with
    `colours.sequence[i]` during [i*slot_ms, (i+1)*slot_ms) from the start of the capture and send each
    frame's time in `frame_times_ms`. 409 `no_open_lesson` when nothing is open in the kiosk's room,
    `liveness_off` when checks are off."""
    return await services.checkin.challenge(kiosk, body.lesson_id if body else None)


@router.post(
    "",
    summary="Check in by face at a kiosk",
    response_model=CheckinAnswer,
    responses=error_responses(400, 403, 404, 409, 413, 415, 422, 503),
)
async def check_in(
    kiosk: KioskOnly,
    _multipart: Multipart,
    services: SchoolServicesDep,
    settings: SettingsDep,
    request_id: RequestIdDep,
    response: Response,
    frames: Annotated[
        list[UploadFile] | None,
        File(description="The burst answering the challenge, in capture order (one part per frame)."),
    ] = None,
    nonce: Annotated[str | None, Form(max_length=64, description="From POST /v1/checkins/challenge.")] = None,
    frame_times_ms: Annotated[
        list[str] | None,
        Form(
            description="When each frame was grabbed, ms from the start of the capture (one per frame, in "
            "order); required when the challenge has colours."
        ),
    ] = None,
    frame: Annotated[
        UploadFile | None,
        File(description="Only when liveness checks are off: one frame, every face in it is checked in."),
    ] = None,
    idempotency_key: IdempotencyKey = None,
    lesson_id: Annotated[
        uuid.UUID | None, Form(description="Default: the lesson open in the kiosk's room now.")
    ] = None,
    student_id: Annotated[
        uuid.UUID | None, Form(description="1:1 mode: the student the face must be.")
    ] = None,
) -> CheckinAnswer:
    """The burst is judged for liveness first (422 `liveness_failed` with `reasons` and `hints`, 400
    `challenge_required`/`nonce_invalid`, 409 `nonce_used`, 422 `frame_times_required`/`frame_times_invalid`),
    then its most frontal face is identified. Each
    face is answered `recorded` (present or late), `already_recorded`, `unknown` (counted, never recorded),
    `not_in_lesson`, or in 1:1 mode `not_verified`; with the student's display name and the match
    confidence. 409 `no_open_lesson` when nothing is open in the kiosk's room. An `Idempotency-Key` is bound
    to its request: the same request replays the first answer (`Idempotent-Replayed: true`; a retry arriving
    while the first still runs waits for it), another request with that key is 422
    `idempotency_key_reused`."""
    if len(frames or []) > settings.burst_max_frames:  # before reading any of them
        raise InvalidInput(
            f"a burst takes at most {settings.burst_max_frames} frames",
            code="too_many_frames",
            max=settings.burst_max_frames,
        )
    burst = tuple([await read_image(part, "frames", settings.burst_max_frame_bytes) for part in frames or []])
    single = await read_image(frame, "frame", settings.max_upload_bytes) if frame is not None else None
    request = CheckinRequest(
        single,
        lesson_id=lesson_id,
        student_id=student_id,
        idempotency_key=idempotency_key,
        frames=burst,
        nonce=nonce,
        frame_times_ms=tuple(frame_times_ms or ()),
    )
    answer = await services.checkin.check_in(kiosk, request, request_id)
    if answer.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return answer


@router.post(
    "/code",
    summary="Check in with a one-time code from the teacher",
    response_model=CheckinAnswer,
    responses=error_responses(403, 404, 409, 422),
)
def redeem_code(
    body: CodeRedeem, caller: KioskOrStudent, session: DbDep, request_id: RequestIdDep
) -> CheckinAnswer:
    """At a kiosk of the school, or by the student in their own app (a code only works for its student).
    Presenting a used code again answers with the record it made."""
    return codes.redeem_code(session, caller, body.code, request_id)
