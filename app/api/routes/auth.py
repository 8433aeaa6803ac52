"""Sign-in and the caller's own account: login, refresh, logout, MFA enrolment, password change."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from app.api.deps import DbDep, RequestIdDep
from app.api.errors import error_responses
from app.api.security import AnyUser, ClientIpDep, ServicesDep, TokenFamilyDep, require
from app.core.enums import Role
from app.schemas.auth import (
    LoginRequest,
    MfaActivate,
    MfaSetup,
    MfaSetupRequired,
    PasswordChange,
    RefreshRequest,
    TokenPair,
    UserPublic,
)
from app.services.identity.principal import Principal

router = APIRouter(prefix="/v1/auth", tags=["auth"])

#: Any signed-in user, and also an admin holding only the MFA-setup token that login gave them.
Enrolling = Annotated[Principal, Depends(require(Role.admin, Role.teacher, Role.student, setup_token=True))]


@router.post(
    "/login",
    summary="Sign in with email and password (and a TOTP code once MFA is on)",
    response_model=TokenPair | MfaSetupRequired,
    responses=error_responses(401, 422, 429, 503),
)
def login(body: LoginRequest, services: ServicesDep, ip: ClientIpDep, request_id: RequestIdDep) -> object:
    """Admins without MFA get `mfa_setup_required` and a setup token instead of a session."""
    return services.auth.login(body.email, body.password, body.totp_code, ip, request_id)


@router.post(
    "/refresh",
    summary="Swap a refresh token for a new pair (the old one is spent)",
    response_model=TokenPair,
    responses=error_responses(401, 422, 429, 503),
)
def refresh(
    body: RefreshRequest, services: ServicesDep, ip: ClientIpDep, request_id: RequestIdDep
) -> TokenPair:
    """Presenting a spent refresh token again ends its whole session (`refresh_token_reused`)."""
    return services.auth.refresh(body.refresh_token, ip, request_id)


@router.post("/logout", summary="End this session", status_code=204, responses=error_responses(401, 503))
def logout(principal: AnyUser, services: ServicesDep, family: TokenFamilyDep) -> Response:
    """The refresh token and every access token of this session stop working at once."""
    services.auth.logout(principal, family)
    return Response(status_code=204)


@router.get("/me", summary="The signed-in user", response_model=UserPublic, responses=error_responses(401))
def me(principal: AnyUser, services: ServicesDep, session: DbDep) -> UserPublic:
    return services.auth.me(session, principal)


@router.post(
    "/mfa/setup",
    summary="Start TOTP enrolment: a new secret to add to an authenticator app",
    response_model=MfaSetup,
    responses=error_responses(401, 409),
)
def mfa_setup(
    principal: Enrolling, services: ServicesDep, session: DbDep, request_id: RequestIdDep
) -> MfaSetup:
    return services.auth.mfa_setup(session, principal, request_id)


@router.post(
    "/mfa/activate",
    summary="Finish TOTP enrolment with a first code; returns a new session",
    response_model=TokenPair,
    responses=error_responses(401, 409, 422, 429),
)
def mfa_activate(
    body: MfaActivate,
    principal: Enrolling,
    services: ServicesDep,
    session: DbDep,
    ip: ClientIpDep,
    request_id: RequestIdDep,
) -> TokenPair:
    return services.auth.mfa_activate(session, principal, body.code, ip, request_id)


@router.post(
    "/password",
    summary="Change one's own password (ends every session)",
    status_code=204,
    responses=error_responses(401, 422),
)
def change_password(
    body: PasswordChange, principal: AnyUser, services: ServicesDep, session: DbDep, request_id: RequestIdDep
) -> Response:
    services.auth.change_password(session, principal, body.current_password, body.new_password, request_id)
    return Response(status_code=204)
