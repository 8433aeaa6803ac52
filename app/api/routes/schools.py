"""The caller's school: read it, change it (admins), rebuild its face index from PostgreSQL (admins)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from pydantic import BaseModel

from app.api.deps import DbDep, RequestIdDep
from app.api.errors import error_responses
from app.api.school_deps import SchoolServicesDep
from app.api.security import AdminOnly, AnyUser
from app.schemas.schools import SchoolPublic, SchoolUpdate
from app.services.school import schools

router = APIRouter(prefix="/v1/schools", tags=["schools"])


class RebuildResult(BaseModel):
    vectors: int


@router.get(
    "/{school_id}", summary="The caller's school", response_model=SchoolPublic, responses=error_responses(404)
)
def get_school(school_id: uuid.UUID, user: AnyUser, session: DbDep) -> SchoolPublic:
    return SchoolPublic.model_validate(schools.get_school(session, user, school_id))


@router.patch(
    "/{school_id}",
    summary="Change the school",
    response_model=SchoolPublic,
    responses=error_responses(404, 409, 422),
)
def update_school(
    school_id: uuid.UUID, body: SchoolUpdate, admin: AdminOnly, session: DbDep, request_id: RequestIdDep
) -> SchoolPublic:
    return SchoolPublic.model_validate(schools.update_school(session, admin, school_id, body, request_id))


@router.post(
    "/{school_id}/gallery/rebuild",
    summary="Re-index every enrolled face from the encrypted templates in PostgreSQL",
    response_model=RebuildResult,
    responses=error_responses(404, 503),
)
async def rebuild_gallery(
    school_id: uuid.UUID, admin: AdminOnly, services: SchoolServicesDep, request_id: RequestIdDep
) -> RebuildResult:
    """For a lost or re-created Milvus: PostgreSQL is the source of truth, so nothing needs re-enrolling."""
    vectors = await schools.rebuild_gallery(services.stores, admin, school_id, request_id)
    return RebuildResult(vectors=vectors)
