"""Sign-in, tokens, MFA and users: the inputs the auth service takes and the shapes the API returns."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.core.enums import Role
from app.schemas.common import Email, Public, Text200

#: Long enough for any passphrase, short enough that argon2 is never fed megabytes.
Password = Annotated[str, StringConstraints(min_length=1, max_length=256)]
TotpCode = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\d{6}$")]


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: Email
    password: Password
    totp_code: TotpCode | None = Field(None, description="Required once MFA is on (always for admins).")


class RefreshRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    refresh_token: Annotated[str, StringConstraints(min_length=1, max_length=256)]


class TokenPair(BaseModel):
    """A signed-in session: a short-lived access token and the refresh token that renews it (once)."""

    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth 2 scheme name, not a secret
    expires_in: int = Field(description="Seconds the access token stays valid.")


class MfaSetupRequired(BaseModel):
    """An admin without MFA signed in with the right password: enrol TOTP with this token first."""

    mfa_setup_required: Literal[True] = True
    setup_token: str = Field(description="Bearer token for /v1/auth/mfa/setup and /mfa/activate only.")
    expires_in: int


class MfaSetup(BaseModel):
    secret: str = Field(description="Base32 TOTP secret; shown once.")
    otpauth_uri: str = Field(description="The same secret as an otpauth:// URI (render as a QR code).")
    qr_svg: str = Field(
        description="otpauth_uri as a QR code: a whole SVG document (show it inline or as a data: URI)."
    )


class MfaActivate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: TotpCode


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current_password: Password
    new_password: Password


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: Email
    full_name: Text200
    role: Role
    password: Password
    student_id: uuid.UUID | None = Field(None, description="Required for role student: their Student record.")


class UserUpdate(BaseModel):
    """Only the fields sent change. Any change of role, activity, password or MFA signs the user out."""

    model_config = ConfigDict(extra="forbid")

    full_name: Text200 | None = None
    role: Role | None = None
    is_active: bool | None = None
    password: Password | None = None
    unlock: bool = Field(False, description="Stop slowing sign-ins of this account (from every address).")
    reset_mfa: bool = Field(False, description="Remove the user's TOTP (they enrol again at next sign-in).")


class TemporaryPassword(BaseModel):
    """An admin's password reset: the new password is in this answer only (a hash is stored)."""

    user_id: uuid.UUID
    password: str = Field(description="Shown once: hand it to the user, who signs in with it.")


class UserPublic(Public):
    id: uuid.UUID
    school_id: uuid.UUID
    email: str
    full_name: str
    role: Role
    student_id: uuid.UUID | None
    is_active: bool
    mfa_enabled: bool
    created_at: datetime
