"""Privacy: erasure and export of a student's data, the disclosure log, erasure receipts, review frames and
the consent texts (docs/PRIVACY.md)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from app.api.deps import DbDep, RedisDep, RequestIdDep, SettingsDep
from app.api.errors import error_responses
from app.api.school_deps import SchoolServicesDep
from app.api.security import AdminOnly, AnyUser, require
from app.core.enums import Role
from app.schemas.privacy import (
    DisclosurePage,
    DisclosurePublic,
    ErasureReceipt,
    Purpose,
    ReviewFramePublic,
)
from app.services.checkin import review_frames
from app.services.identity.principal import Principal
from app.services.privacy import disclosure, erasure, portability
from app.services.privacy.consent_texts import CONSENT_TEXTS, ConsentText

router = APIRouter(tags=["privacy"])

AdminOrStudent = Annotated[Principal, Depends(require(Role.admin, Role.student))]


@router.post(
    "/v1/students/{student_id}/erase",
    summary="Erase a student everywhere (GDPR): every store, one operation, a receipt",
    response_model=ErasureReceipt,
    responses=error_responses(404, 503),
)
async def erase_student(
    student_id: uuid.UUID,
    admin: AdminOnly,
    services: SchoolServicesDep,
    client: RedisDep,
    settings: SettingsDep,
    request_id: RequestIdDep,
) -> ErasureReceipt:
    """Removes the student's biometric and personal data from PostgreSQL, Redis and Milvus (vectors deleted
    and compacted) and their sign-in account; keeps a tombstone without personal data. 503 when a store is
    down: nothing was erased, retry. Repeating the request answers the stored receipt (`replayed`)."""
    return await erasure.erase_student(
        services.stores,
        client,
        admin,
        student_id,
        request_id,
        compaction_wait_s=settings.erase_compaction_wait_s,
    )


@router.get(
    "/v1/students/{student_id}/export",
    summary="Everything held about a student, as a ZIP of JSON and CSV (GDPR access and portability)",
    response_class=Response,
    responses={
        200: {"content": {"application/zip": {}}, "description": "student.json, attendance.csv, README.txt"},
        **error_responses(403, 404, 422),
    },
)
def export_student(
    student_id: uuid.UUID,
    caller: AdminOrStudent,
    session: DbDep,
    request_id: RequestIdDep,
    purpose: Annotated[Purpose, Query(description="Why the record is exported (disclosure log, FERPA).")],
) -> Response:
    """Admins of the student's school, or the student themself. Face templates are not included (see the
    statement in student.json); the export is written to the disclosure log."""
    made = portability.export_student(session, caller, student_id, purpose, request_id)
    return Response(
        content=made.data,
        media_type=portability.MEDIA_TYPE,
        headers={
            "Content-Disposition": f'attachment; filename="{made.filename}"',
            "Cache-Control": "no-store",
        },
    )


@router.get(
    "/v1/privacy/disclosures",
    summary="The disclosure log: who viewed or exported which student's record, and why",
    response_model=DisclosurePage,
)
def list_disclosures(
    admin: AdminOnly,
    session: DbDep,
    student_id: uuid.UUID | None = None,
    action: Annotated[str | None, Query(max_length=32, description="view or export")] = None,
    before: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> DisclosurePage:
    entries = disclosure.list_disclosures(
        session, admin, student_id=student_id, action=action, before=before, limit=limit
    )
    return DisclosurePage(
        items=[DisclosurePublic.model_validate(entry) for entry in entries],
        next_before=entries[-1].at if len(entries) == limit else None,
    )


@router.get(
    "/v1/privacy/erasures", summary="Receipts of the school's erasures", response_model=list[ErasureReceipt]
)
def list_erasures(
    admin: AdminOnly, session: DbDep, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> list[ErasureReceipt]:
    return [erasure.receipt_of(row) for row in erasure.list_receipts(session, admin, limit)]


@router.get(
    "/v1/privacy/erasures/{receipt_id}",
    summary="One erasure receipt",
    response_model=ErasureReceipt,
    responses=error_responses(404),
)
def get_erasure(receipt_id: uuid.UUID, admin: AdminOnly, session: DbDep) -> ErasureReceipt:
    return erasure.receipt_of(erasure.get_receipt(session, admin, receipt_id))


@router.get(
    "/v1/privacy/review-frames",
    summary="Frames of failed check-ins kept for review (only when the school keeps them; 24 h at most)",
    response_model=list[ReviewFramePublic],
)
def list_review_frames(admin: AdminOnly, session: DbDep) -> list[ReviewFramePublic]:
    return [ReviewFramePublic.model_validate(row) for row in review_frames.list_frames(session, admin)]


@router.get(
    "/v1/privacy/review-frames/{frame_id}",
    summary="The image of one kept frame (audited)",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}}, **error_responses(404)},
)
def get_review_frame(
    frame_id: uuid.UUID,
    admin: AdminOnly,
    session: DbDep,
    services: SchoolServicesDep,
    request_id: RequestIdDep,
) -> Response:
    image, media_type = review_frames.open_frame(
        session, admin, services.stores.cipher.keyring, frame_id, request_id
    )
    return Response(content=image, media_type=media_type, headers={"Cache-Control": "no-store"})


@router.delete(
    "/v1/privacy/review-frames/{frame_id}",
    summary="Delete a kept frame once reviewed",
    status_code=204,
    responses=error_responses(404),
)
def delete_review_frame(
    frame_id: uuid.UUID, admin: AdminOnly, session: DbDep, request_id: RequestIdDep
) -> Response:
    review_frames.delete_frame(session, admin, frame_id, request_id)
    return Response(status_code=204)


@router.get(
    "/v1/privacy/consent-texts",
    summary="The consent texts by version, and the version enrollment requires now",
    response_model=dict[str, object],
)
def consent_texts(user: AnyUser, settings: SettingsDep) -> dict[str, object]:
    def shown(text: ConsentText) -> dict[str, str]:
        return {"version": text.version, "title": text.title, "body": text.body}

    return {"current": settings.consent_version, "texts": [shown(text) for text in CONSENT_TEXTS.values()]}
