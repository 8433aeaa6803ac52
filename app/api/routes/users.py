"""Users of the admin's school: create, list, read, change (role, unlock, MFA reset), reset the password,
deactivate."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from app.api.deps import DbDep, RequestIdDep
from app.api.errors import error_responses
from app.api.security import AdminOnly, ServicesDep
from app.core.enums import Role
from app.schemas.auth import TemporaryPassword, UserCreate, UserPublic, UserUpdate
from app.schemas.common import Page, PageParams

router = APIRouter(prefix="/v1/users", tags=["users"])


@router.get("", summary="List the school's users", response_model=Page[UserPublic])
def list_users(
    admin: AdminOnly,
    services: ServicesDep,
    session: DbDep,
    role: Role | None = None,
    q: Annotated[str | None, Query(max_length=100, description="Part of the email or name.")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Page[UserPublic]:
    return services.auth.list_users(session, admin, PageParams(limit=limit, offset=offset, q=q), role)


@router.post(
    "",
    summary="Create a user",
    status_code=201,
    response_model=UserPublic,
    responses=error_responses(404, 409, 422),
)
def create_user(
    body: UserCreate, admin: AdminOnly, services: ServicesDep, session: DbDep, request_id: RequestIdDep
) -> UserPublic:
    """A student account links to its Student record (`student_id`); admins enrol MFA at first sign-in."""
    return services.auth.create_user(session, admin, body, request_id)


@router.get("/{user_id}", summary="One user", response_model=UserPublic, responses=error_responses(404))
def get_user(user_id: uuid.UUID, admin: AdminOnly, services: ServicesDep, session: DbDep) -> UserPublic:
    return services.auth.get_user(session, admin, user_id)


@router.patch(
    "/{user_id}",
    summary="Change a user (name, role, active, password, unlock, reset MFA)",
    response_model=UserPublic,
    responses=error_responses(404, 409, 422),
)
def update_user(
    user_id: uuid.UUID,
    body: UserUpdate,
    admin: AdminOnly,
    services: ServicesDep,
    session: DbDep,
    request_id: RequestIdDep,
) -> UserPublic:
    """Changing what the user may do (role, active, password, MFA) signs them out everywhere."""
    return services.auth.update_user(session, admin, user_id, body, request_id)


@router.post(
    "/{user_id}/password-reset",
    summary="Give a user a new random password (shown once)",
    response_model=TemporaryPassword,
    responses=error_responses(404),
)
def reset_password(
    user_id: uuid.UUID, admin: AdminOnly, services: ServicesDep, session: DbDep, request_id: RequestIdDep
) -> TemporaryPassword:
    """The password is in this answer only; the user's sign-ins end. To set a chosen password instead,
    PATCH `password`; `unlock` and `reset_mfa` are PATCH fields too."""
    return services.auth.reset_password(session, admin, user_id, request_id)


@router.delete(
    "/{user_id}",
    summary="Deactivate a user",
    response_model=UserPublic,
    responses=error_responses(404, 409),
)
def deactivate_user(
    user_id: uuid.UUID, admin: AdminOnly, services: ServicesDep, session: DbDep, request_id: RequestIdDep
) -> UserPublic:
    """The account stays (attendance and audit records name it) but can no longer sign in."""
    return services.auth.deactivate_user(session, admin, user_id, request_id)
