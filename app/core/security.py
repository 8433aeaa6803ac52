"""Passwords (argon2id via pwdlib), access tokens (JWT, HS256) and TOTP codes: pure functions of their inputs.

Why each choice:
- argon2id with configurable cost: production keeps pwdlib's defaults (64 MiB, 3 passes); tests pass cheap
  parameters through the settings, and production refuses those at start-up (``app.core.config``).
  ``verify_and_update`` rehashes a password on login when the parameters have changed since it was stored.
- JWTs are verified with ONE explicit algorithm (never the token's own ``alg`` header: that is how
  ``alg=none`` and RS/HS confusion attacks work) and must carry ``exp``, ``iat``, ``iss``, ``aud``, ``sub``,
  ``jti`` and ``typ``. ``typ`` separates an access token from the short MFA-enrolment token, so neither can
  be used as the other. Refresh tokens are not JWTs: they are opaque and kept in Redis
  (``services.identity.auth``).
- TOTP (RFC 6238, 30 s steps, one step of clock drift either way); a code is accepted once (the caller
  remembers the last step used), so a code read over a shoulder cannot be replayed within its window.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import jwt
import pyotp
from pwdlib import PasswordHash
from pwdlib.exceptions import UnknownHashError
from pwdlib.hashers.argon2 import Argon2Hasher

from app.core.enums import Role
from app.core.errors import Unauthenticated
from app.core.setting_groups import PasswordPolicy, TokenSigning

JWT_ALGORITHM = "HS256"
REQUIRED_CLAIMS = ("exp", "iat", "iss", "aud", "sub", "jti", "typ")
TOTP_ISSUER = "Rollcall"
TOTP_STEP_S = 30


class TokenType(StrEnum):
    access = "access"
    mfa_setup = "mfa_setup"  # only enrols TOTP: an admin's first sign-in before MFA exists


class _PasswordHash(PasswordHash):
    """A stored value no hasher recognises (a disabled or imported account, a damaged row) never matches: a
    failed check like a wrong password, not a server error (pwdlib raises ``UnknownHashError``)."""

    def verify(self, password: str | bytes, hash: str | bytes) -> bool:
        try:
            return super().verify(password, hash)
        except UnknownHashError:
            return False

    def verify_and_update(self, password: str | bytes, hash: str | bytes) -> tuple[bool, str | None]:
        try:
            return super().verify_and_update(password, hash)
        except UnknownHashError:
            return False, None


def password_hasher(passwords: PasswordPolicy) -> PasswordHash:
    return _PasswordHash(
        (
            Argon2Hasher(
                time_cost=passwords.argon2_time_cost,
                memory_cost=passwords.argon2_memory_kib,
                parallelism=passwords.argon2_parallelism,
            ),
        )
    )


@dataclass(frozen=True, slots=True)
class TokenClaims:
    """What a verified token says about its bearer."""

    type: TokenType
    user_id: uuid.UUID
    school_id: uuid.UUID
    role: Role
    family: str  # the refresh-token family this token belongs to ("" for an MFA-setup token)
    token_id: str
    expires_at: datetime
    student_id: uuid.UUID | None = None


def issue_token(
    tokens: TokenSigning,
    token_type: TokenType,
    *,
    user_id: uuid.UUID,
    school_id: uuid.UUID,
    role: Role,
    family: str = "",
    student_id: uuid.UUID | None = None,
    ttl_s: int | None = None,
    now: datetime | None = None,
) -> tuple[str, datetime]:
    """A signed token and when it expires (default life: the access-token TTL)."""
    issued = now or datetime.now(UTC)
    expires = issued + timedelta(seconds=ttl_s if ttl_s is not None else tokens.access_ttl_s)
    claims: dict[str, Any] = {
        "iss": tokens.issuer,
        "aud": tokens.audience,
        "sub": str(user_id),
        "iat": int(issued.timestamp()),
        "nbf": int(issued.timestamp()),
        "exp": int(expires.timestamp()),
        "jti": secrets.token_hex(16),
        "typ": token_type.value,
        "sch": str(school_id),
        "role": role.value,
        "sid": family,
    }
    if student_id is not None:
        claims["stu"] = str(student_id)
    token = jwt.encode(claims, tokens.secret_key.get_secret_value(), algorithm=JWT_ALGORITHM)
    return token, expires


def verify_token(tokens: TokenSigning, token: str, expected: TokenType) -> TokenClaims:
    """The claims of a genuine, current token of type ``expected``; otherwise ``Unauthenticated``."""
    try:
        claims = jwt.decode(
            token,
            tokens.secret_key.get_secret_value(),
            algorithms=[JWT_ALGORITHM],
            audience=tokens.audience,
            issuer=tokens.issuer,
            options={"require": list(REQUIRED_CLAIMS), "verify_signature": True},
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthenticated("the access token has expired", code="token_expired") from exc
    except jwt.PyJWTError as exc:
        raise Unauthenticated("the token is not valid", code="invalid_token") from exc
    if claims.get("typ") != expected.value:
        raise Unauthenticated(f"this is not an {expected.value} token", code="invalid_token")
    try:
        return TokenClaims(
            type=expected,
            user_id=uuid.UUID(claims["sub"]),
            school_id=uuid.UUID(claims["sch"]),
            role=Role(claims["role"]),
            family=str(claims.get("sid", "")),
            token_id=str(claims["jti"]),
            expires_at=datetime.fromtimestamp(int(claims["exp"]), UTC),
            student_id=uuid.UUID(claims["stu"]) if claims.get("stu") else None,
        )
    except (KeyError, ValueError, TypeError) as exc:
        raise Unauthenticated("the token is not valid", code="invalid_token") from exc


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(secret: str, account: str) -> str:
    """The otpauth:// URI authenticator apps read (shown as a QR code)."""
    return pyotp.TOTP(secret, interval=TOTP_STEP_S).provisioning_uri(name=account, issuer_name=TOTP_ISSUER)


def totp_code(secret: str, at: datetime | None = None) -> str:
    """The current code (for tests and the bootstrap's printout)."""
    return pyotp.TOTP(secret, interval=TOTP_STEP_S).at(at or datetime.now(UTC))


def match_totp(secret: str, code: str, now: datetime | None = None) -> int | None:
    """The time step ``code`` belongs to (now, or one step either side), or None if it matches none.

    Returning the step lets the caller refuse a second use of the same code (replay)."""
    cleaned = code.strip().replace(" ", "")
    if not cleaned.isdigit() or len(cleaned) != 6:
        return None
    moment = now or datetime.now(UTC)
    totp = pyotp.TOTP(secret, interval=TOTP_STEP_S)
    current = totp.timecode(moment)
    for step in (current, current - 1, current + 1):
        if secrets.compare_digest(totp.generate_otp(step), cleaned):
            return step
    return None
