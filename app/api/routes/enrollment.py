"""A student's biometric consent and face enrollment.

Consent first (staff record it; an adult student may give their own), then 3-5 photos; withdrawing the
consent (staff, or the student themself) erases the face from PostgreSQL, Milvus and Redis in one command.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile
from pydantic import BaseModel, ConfigDict

from app.api.deps import DbDep, RequestIdDep, SettingsDep, read_image
from app.api.errors import error_responses
from app.api.school_deps import Multipart, SchoolServicesDep
from app.api.security import AnyUser, Staff
from app.schemas.common import Reason
from app.schemas.consent import (
    ConsentCreate,
    ConsentPublic,
    EnrollmentResult,
    EnrollmentState,
    WithdrawalResult,
)
from app.schemas.students import StudentPublic
from app.services.privacy import consent

router = APIRouter(prefix="/v1/students/{student_id}", tags=["consent and enrollment"])


class FlagRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason


@router.get(
    "/consents",
    summary="The student's consent history, newest first",
    response_model=list[ConsentPublic],
    responses=error_responses(403, 404),
)
def list_consents(student_id: uuid.UUID, user: AnyUser, session: DbDep) -> list[ConsentPublic]:
    return [ConsentPublic.model_validate(c) for c in consent.list_consents(session, user, student_id)]


@router.post(
    "/consents",
    summary="Record biometric consent (to the current text)",
    status_code=201,
    response_model=ConsentPublic,
    responses=error_responses(403, 404, 409, 422),
)
def grant_consent(
    student_id: uuid.UUID,
    body: ConsentCreate,
    user: AnyUser,
    session: DbDep,
    settings: SettingsDep,
    request_id: RequestIdDep,
) -> ConsentPublic:
    """A minor's (or a student without a birth date) needs `relation: guardian`."""
    given = consent.grant_consent(
        session,
        user,
        student_id,
        body,
        current_version=settings.consent_version,
        age_of_majority=settings.age_of_majority,
        request_id=request_id,
    )
    return ConsentPublic.model_validate(given)


@router.delete(
    "/consents",
    summary="Withdraw consent: erase the face everywhere",
    response_model=WithdrawalResult,
    responses=error_responses(403, 404, 503),
)
async def withdraw_consent(
    student_id: uuid.UUID,
    user: AnyUser,
    services: SchoolServicesDep,
    settings: SettingsDep,
    request_id: RequestIdDep,
) -> WithdrawalResult:
    """Templates (PostgreSQL), vectors (Milvus) and cached check-in answers (Redis) go in one command; a
    store that is down answers 503 and nothing is erased anywhere. Repeating it is harmless. Staff, or an
    adult student; a minor's own account gets 403 `guardian_required`."""
    return await consent.withdraw_consent(
        services.stores, user, student_id, request_id, age_of_majority=settings.age_of_majority
    )


@router.get(
    "/enrollment",
    summary="Enrollment status: none, pending, enrolled, needs_reenrollment",
    response_model=EnrollmentState,
    responses=error_responses(403, 404),
)
def enrollment_state(
    student_id: uuid.UUID, user: AnyUser, session: DbDep, settings: SettingsDep
) -> EnrollmentState:
    return consent.enrollment_state(session, user, student_id, settings.consent_version)


@router.post(
    "/enrollment",
    summary="Enroll the student's face from 3-5 photos",
    status_code=201,
    response_model=EnrollmentResult,
    responses=error_responses(403, 404, 409, 413, 415, 422, 503),
)
async def enroll(
    student_id: uuid.UUID,
    photos: Annotated[
        list[UploadFile], File(description="3-5 photos of the student alone, facing the camera.")
    ],
    staff: Staff,
    _multipart: Multipart,
    services: SchoolServicesDep,
    settings: SettingsDep,
    request_id: RequestIdDep,
    replace: Annotated[
        bool,
        Form(description="Admin only: confirm that these photos replace a different enrolled face."),
    ] = False,
    allow_duplicate: Annotated[
        bool,
        Form(description="Admin only: confirm a face that matches another student (e.g. a twin)."),
    ] = False,
) -> EnrollmentResult:
    """A new enrollment replaces the previous one, if it is the same face. Refusals (nothing is stored, each
    is audited):
    - 422 `enrollment_rejected`: every photo's verdict with `reasons` and `codes`; too few usable photos
      (a copy of another photo is refused as `duplicate_photo`), or photos of more than one person (the odd
      ones have `not_same_person`, listed in `not_same_person`).
    - 409 `consent_required` without a current consent; `face_mismatch` when the student is enrolled with a
      different face (an admin may send `replace=true`); `face_already_enrolled` when the face is enrolled as
      another student (an admin may send `allow_duplicate=true`).
    - 403 `forbidden`: a teacher sending `replace` or `allow_duplicate`."""
    data = [
        await read_image(photo, f"photos[{i}]", settings.max_upload_bytes) for i, photo in enumerate(photos)
    ]
    return await services.enrollment.enroll(
        staff, student_id, data, request_id, replace=replace, allow_duplicate=allow_duplicate
    )


@router.post(
    "/enrollment/flag",
    summary="Ask for new photos (the current ones keep working until replaced)",
    response_model=StudentPublic,
    responses=error_responses(403, 404, 409, 422),
)
def flag_reenrollment(
    student_id: uuid.UUID, body: FlagRequest, staff: Staff, session: DbDep, request_id: RequestIdDep
) -> StudentPublic:
    student = consent.flag_reenrollment(session, staff, student_id, body.reason, request_id)
    return StudentPublic.model_validate(student)
