"""Kiosk API keys: admins issue (shown once), list and revoke them; a kiosk can check its own key."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from pydantic import BaseModel, Field

from app.api.deps import DbDep, RequestIdDep, SettingsDep
from app.api.errors import error_responses
from app.api.security import AdminOnly, KioskOnly, ServicesDep
from app.schemas.kiosks import KioskKeyCreate, KioskKeyIssued, KioskKeyPublic
from app.services.school import schools

router = APIRouter(prefix="/v1/kiosks", tags=["kiosks"])


class KioskIdentity(BaseModel):
    kiosk_id: uuid.UUID
    school_id: uuid.UUID
    room: str | None
    liveness: bool = Field(
        description="Whether check-ins here pass liveness (off: the school's switch or the installation's); "
        "the kiosk says so on screen."
    )


@router.get("", summary="List the school's kiosk keys", response_model=list[KioskKeyPublic])
def list_keys(
    admin: AdminOnly, services: ServicesDep, session: DbDep, include_revoked: bool = False
) -> list[KioskKeyPublic]:
    return services.kiosks.list(session, admin, include_revoked)


@router.post(
    "",
    summary="Issue a key for a kiosk in one room",
    status_code=201,
    response_model=KioskKeyIssued,
    responses=error_responses(422),
)
def issue_key(
    body: KioskKeyCreate, admin: AdminOnly, services: ServicesDep, session: DbDep, request_id: RequestIdDep
) -> KioskKeyIssued:
    """`api_key` is in this answer only: store it on the kiosk now."""
    return services.kiosks.issue(session, admin, body, request_id)


@router.get("/me", summary="The calling kiosk (checks its key)", response_model=KioskIdentity)
def whoami(kiosk: KioskOnly, session: DbDep, settings: SettingsDep) -> KioskIdentity:
    live = settings.checkin.checks_liveness(schools.liveness_switch(session, kiosk.school_id))
    return KioskIdentity(kiosk_id=kiosk.id, school_id=kiosk.school_id, room=kiosk.room, liveness=live)


@router.delete(
    "/{key_id}",
    summary="Revoke a kiosk key (effective at once)",
    response_model=KioskKeyPublic,
    responses=error_responses(404),
)
def revoke_key(
    key_id: uuid.UUID, admin: AdminOnly, services: ServicesDep, session: DbDep, request_id: RequestIdDep
) -> KioskKeyPublic:
    return services.kiosks.revoke(session, admin, key_id, request_id)
