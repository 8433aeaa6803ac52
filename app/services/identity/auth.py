"""Who may sign in and stay signed in: login, refresh rotation, logout, throttling, MFA, and users (admins).

Transactions: commands whose *failure* must itself be stored manage their own transaction on the engine:
``login`` (a wrong password is audited and slows further tries, yet the caller gets an error) and
``refresh`` (a reused token is audited). Every other command runs in the caller's transaction (one per
request, ``app.api.deps.DbDep``) and writes its audit event there, so both commit or neither does.

A sign-in is a refresh-token family in Redis (never called a session: a lesson is the class meeting,
a ``Session`` the database's):
- ``login`` opens a family (``auth:fam:{<id>}``: owner and the hash of the one current refresh token). Its
  life is fixed at login (``refresh_token_ttl_s``); refreshing never extends it.
- ``refresh`` swaps the current token for a new one atomically (a Lua script). Presenting a token that was
  already swapped out means two parties hold the family (a stolen token): the whole family is revoked.
  Two refreshes racing with the same token are treated alike (strict; clients must serialise refreshes).
- Access tokens carry their family id (``sid``) and are accepted only while the family exists, so logout,
  reuse detection, deactivation and role changes take effect at once rather than when tokens expire.
- Redis down: sign-in, refresh and every user-authenticated request answer 503 (fail closed); see
  ``app.core.redis`` for why rate limits on other routes fail open.

Redis keys use hash tags (``{...}``) so each family's keys stay in one slot of a Redis Cluster.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import uuid
from dataclasses import dataclass
from typing import Any, cast

import redis
from pwdlib import PasswordHash
from pydantic import ValidationError
from sqlalchemy import Engine, func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.core import metrics
from app.core.crypto import CryptoError, Keyring
from app.core.enums import Role
from app.core.errors import Conflict, Forbidden, InvalidInput, RateLimited, Unauthenticated
from app.core.qr import qr_svg
from app.core.redis import OneTimeValues, RateLimiter
from app.core.security import (
    TokenClaims,
    TokenType,
    issue_token,
    match_totp,
    new_totp_secret,
    password_hasher,
    totp_uri,
    verify_token,
)
from app.core.setting_groups import PasswordPolicy, SignInPolicy
from app.db.session import transaction
from app.db.tables import School, Student, User
from app.schemas.auth import (
    MfaSetup,
    MfaSetupRequired,
    TemporaryPassword,
    TokenPair,
    UserCreate,
    UserPublic,
    UserUpdate,
)
from app.schemas.common import Page, PageParams
from app.schemas.schools import SchoolCreate
from app.services.identity.access import in_school, refuse_suspended, require_role
from app.services.identity.principal import Principal
from app.services.identity.throttle import SignInThrottle
from app.services.privacy import audit

log = logging.getLogger(__name__)

#: Atomic rotation. KEYS: family hash, its used-token set. ARGV: presented token hash, new token hash.
_ROTATE = """
local current = redis.call('HGET', KEYS[1], 'cur')
if not current then return {'missing', ''} end
local owner = redis.call('HGET', KEYS[1], 'user')
if current == ARGV[1] then
  redis.call('HSET', KEYS[1], 'cur', ARGV[2])
  redis.call('SADD', KEYS[2], ARGV[1])
  redis.call('PEXPIRE', KEYS[2], redis.call('PTTL', KEYS[1]))
  return {'ok', owner}
end
if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 1 then
  redis.call('DEL', KEYS[1], KEYS[2])
  return {'reused', owner}
end
return {'invalid', ''}
"""


def _text(value: Any) -> str:
    """Redis answers bytes unless the client decodes: accept both."""
    return value.decode() if isinstance(value, bytes) else str(value)


def _digest(token: str) -> str:
    """Refresh tokens are 256-bit random: a fast hash is enough to keep them out of Redis in clear."""
    return hashlib.sha256(token.encode()).hexdigest()


def normalise_email(email: str) -> str:
    return email.strip().lower()


#: Sign-in refusals counted as failed (``rollcall_failed_logins``); ``mfa_required`` is a step, not one.
SIGN_IN_REFUSALS = frozenset({"invalid_credentials", "sign_in_throttled", "invalid_mfa_code"})
#: Refusals that count towards the throttle (a throttled try does not: waiting is not failing again).
COUNTED_REFUSALS = frozenset({"invalid_credentials", "invalid_mfa_code"})
#: The audit action of a sign-in alert (many failures of one account from all addresses).
ALERT_ACTION = "auth.sign_in_alert"


class TokenFamilies:
    """Refresh-token families in Redis (see the module docstring)."""

    def __init__(self, client: redis.Redis, ttl_s: int) -> None:
        self._client = client
        self._ttl_s = ttl_s
        self._rotate = client.register_script(_ROTATE)

    @staticmethod
    def _family_key(family: str) -> str:
        return f"auth:fam:{{{family}}}"

    @staticmethod
    def _user_key(user_id: uuid.UUID) -> str:
        return f"auth:user:{{{user_id}}}"

    def open(self, user_id: uuid.UUID) -> tuple[str, str]:
        """A new family for ``user_id``: ``(family id, its first refresh token)``."""
        family = secrets.token_hex(16)
        token = f"{family}.{secrets.token_urlsafe(32)}"
        pipe = self._client.pipeline(transaction=True)
        pipe.hset(self._family_key(family), mapping={"user": str(user_id), "cur": _digest(token)})
        pipe.expire(self._family_key(family), self._ttl_s)
        pipe.sadd(self._user_key(user_id), family)
        pipe.expire(self._user_key(user_id), self._ttl_s)
        pipe.execute()
        return family, token

    def owner(self, token: str) -> tuple[str, uuid.UUID] | None:
        """``(family, user id)`` the token claims to belong to, if that family still exists."""
        family = token.partition(".")[0]
        if len(family) != 32 or not all(c in "0123456789abcdef" for c in family):
            return None
        owner = self._client.hget(self._family_key(family), "user")
        return (family, uuid.UUID(_text(owner))) if owner else None

    def rotate(self, token: str) -> tuple[str, str]:
        """``(outcome, new token)``; outcome is ``ok``, ``reused`` (family now revoked), ``missing`` or
        ``invalid``."""
        family = token.partition(".")[0]
        new_token = f"{family}.{secrets.token_urlsafe(32)}"
        keys = [self._family_key(family), f"{self._family_key(family)}:used"]
        outcome, _owner = self._rotate(keys=keys, args=[_digest(token), _digest(new_token)])
        return _text(outcome), new_token

    def is_active(self, family: str) -> bool:
        return bool(family) and bool(self._client.exists(self._family_key(family)))

    def revoke(self, family: str, user_id: uuid.UUID | None = None) -> None:
        pipe = self._client.pipeline(transaction=True)
        pipe.delete(self._family_key(family), f"{self._family_key(family)}:used")
        if user_id is not None:
            pipe.srem(self._user_key(user_id), family)
        pipe.execute()

    def revoke_user(self, user_id: uuid.UUID) -> int:
        """End every sign-in of ``user_id`` (deactivation, role or password change, MFA reset)."""
        families = [_text(f) for f in cast("set[Any]", self._client.smembers(self._user_key(user_id)))]
        pipe = self._client.pipeline(transaction=True)
        for family in families:
            pipe.delete(self._family_key(family), f"{self._family_key(family)}:used")
        pipe.delete(self._user_key(user_id))
        pipe.execute()
        return len(families)


@dataclass(frozen=True, slots=True)
class _Refusal:
    """A login attempt that failed; raised only after its record (failure count, audit) has committed."""

    error: Exception


class AuthService:
    """Sign-in and its token families; holds the engine for the commands that commit their own failures."""

    def __init__(
        self,
        policy: SignInPolicy,
        keyring: Keyring,
        engine: Engine,
        client: redis.Redis,
        limiter: RateLimiter,
    ) -> None:
        self.policy = policy
        self.engine = engine
        self.hasher = password_hasher(policy.passwords)
        self.keyring = keyring
        self.families = TokenFamilies(client, policy.refresh_ttl_s)
        self.throttle = SignInThrottle(client, policy.throttle)
        self.limiter = limiter
        self._used_codes = OneTimeValues(client, "auth:totp-used")
        # Verified against when the email is unknown, so an unknown email costs the same time as a known one.
        self._dummy_hash = self.hasher.hash(secrets.token_urlsafe(16))

    # -- passwords and TOTP secrets ----------------------------------------------------------------------

    def hash_password(self, password: str, email: str = "") -> str:
        return new_password_hash(self.policy.passwords, self.hasher, password, email)

    def _totp_secret(self, user: User) -> str | None:
        if user.totp_secret_enc is None:
            return None
        try:
            return self.keyring.open(user.totp_secret_enc, _totp_aad(user.id)).decode()
        except CryptoError:
            return None  # a key removed from the ring too early: treated as "no MFA", so it cannot be passed

    def _accept_code(self, user: User, code: str | None) -> bool:
        """Is ``code`` the user's current TOTP, used for the first time? (Replays are refused.)"""
        secret = self._totp_secret(user)
        step = match_totp(secret, code) if secret and code else None
        return step is not None and self._used_codes.claim(f"{user.id}:{step}", ttl_s=120)

    # -- sign-in -----------------------------------------------------------------------------------------

    def login(
        self, email: str, password: str, totp_code: str | None, client_ip: str, request_id: str | None
    ) -> TokenPair | MfaSetupRequired:
        """Tokens for the right password (and TOTP code once MFA is on); a setup token for an admin without
        MFA. Refusals: 401 ``invalid_credentials`` (wrong password and unknown email alike: same answer,
        same argon2 work), ``mfa_required``/``invalid_mfa_code``; 429 ``sign_in_throttled`` with the seconds
        to wait while this account (any account, known or not) is slowed from this address
        (``SignInThrottle``)."""
        self.limiter.hit(self.policy.rate_limit, "login", client_ip, fail_open=False)
        account = normalise_email(email)
        wait = self.throttle.wait_s(account, client_ip)
        with transaction(self.engine) as session:
            user = session.exec(select(User).where(User.email == account)).first()
            if wait:
                _audit_login(session, user, "denied", request_id, client_ip, reason="throttled")
                slowed = RateLimited(
                    "too many failed sign-ins; wait", retry_after_s=wait, code="sign_in_throttled"
                )
                outcome: TokenPair | MfaSetupRequired | _Refusal = _Refusal(slowed)
            else:
                outcome = self._login(session, user, password, totp_code, request_id, client_ip)
        if not isinstance(outcome, _Refusal):
            self.throttle.succeed(account, client_ip)
            return outcome
        code = getattr(outcome.error, "code", "")
        if code in SIGN_IN_REFUSALS:
            metrics.sign_in_refused(code)
        if code in COUNTED_REFUSALS:
            failure = self.throttle.fail(account, client_ip)
            if failure.alert:
                self._alert(user, failure.account_failures, request_id, client_ip)
        raise outcome.error

    def _login(
        self,
        session: Session,
        user: User | None,
        password: str,
        totp_code: str | None,
        request_id: str | None,
        client_ip: str,
    ) -> TokenPair | MfaSetupRequired | _Refusal:
        if user is None or not user.is_active:
            self.hasher.verify(password, self._dummy_hash)
            reason = "inactive" if user else "unknown_email"
            _audit_login(session, user, "denied", request_id, client_ip, reason=reason)
            return _Refusal(Unauthenticated("wrong email or password", code="invalid_credentials"))
        valid, new_hash = self.hasher.verify_and_update(password, user.password_hash)
        if not valid:
            _audit_login(session, user, "denied", request_id, client_ip, reason="bad_password")
            return _Refusal(Unauthenticated("wrong email or password", code="invalid_credentials"))
        try:
            refuse_suspended(session, user.school_id)
        except Forbidden as refused:
            # Told only to someone who knows the password: a suspended school is no secret from its staff.
            _audit_login(session, user, "denied", request_id, client_ip, reason="school_suspended")
            return _Refusal(refused)
        if user.mfa_enabled:
            if not totp_code:
                # The password was right: no failure counted; the client asks for the code and retries.
                return _Refusal(
                    Unauthenticated("enter the code from your authenticator", code="mfa_required")
                )
            if not self._accept_code(user, totp_code):
                _audit_login(session, user, "denied", request_id, client_ip, reason="bad_mfa_code")
                return _Refusal(Unauthenticated("the code is not valid", code="invalid_mfa_code"))
        if new_hash:
            user.password_hash = new_hash  # hashing parameters changed since it was stored
            session.add(user)
        if user.role is Role.admin and not user.mfa_enabled:
            _audit_login(session, user, "ok", request_id, client_ip, next="mfa_setup")
            token, _ = issue_token(
                self.policy.tokens,
                TokenType.mfa_setup,
                user_id=user.id,
                school_id=user.school_id,
                role=user.role,
                ttl_s=self.policy.mfa_setup_ttl_s,
            )
            return MfaSetupRequired(setup_token=token, expires_in=self.policy.mfa_setup_ttl_s)
        _audit_login(session, user, "ok", request_id, client_ip)
        # Opened before the commit: if Redis fails, the login (and its audit event) rolls back with it.
        return self.issue_tokens(user)

    def _alert(self, user: User | None, failures: int, request_id: str | None, client_ip: str) -> None:
        """Many failures of one account from all addresses: a distributed guess. Alerted (log, metric, audit
        event in the user's school, if the account exists), never locked."""
        log.warning(
            "possible password guessing: %d failed sign-ins of one %s account within %d s",
            failures,
            "existing" if user else "unknown",
            self.policy.throttle.window_s,
        )
        metrics.sign_in_alert()
        with transaction(self.engine) as session:
            audit.record(
                session,
                audit.SYSTEM_ACTOR,
                ALERT_ACTION,
                f"user:{user.id}" if user else None,
                "denied",
                request_id,
                school_id=user.school_id if user else None,
                failures=failures,
                ip=client_ip,
            )

    def issue_tokens(self, user: User) -> TokenPair:
        """New tokens (a new family) for ``user`` without any check: for this service after its checks, and
        for trusted in-process callers (tests, tools); never reachable from a route as such."""
        family, refresh_token = self.families.open(user.id)
        return self._pair(user, family, refresh_token)

    def _pair(self, user: User, family: str, refresh_token: str) -> TokenPair:
        access, _ = issue_token(
            self.policy.tokens,
            TokenType.access,
            user_id=user.id,
            school_id=user.school_id,
            role=user.role,
            family=family,
            student_id=user.student_id,
        )
        return TokenPair(
            access_token=access, refresh_token=refresh_token, expires_in=self.policy.tokens.access_ttl_s
        )

    def refresh(self, refresh_token: str, client_ip: str, request_id: str | None) -> TokenPair:
        """A new pair for a current refresh token; the presented one is spent. The user is re-read, so a
        role change or deactivation shows in the new access token (and revoked sign-ins end here)."""
        self.limiter.hit(self.policy.rate_limit, "refresh", client_ip, fail_open=False)
        invalid = Unauthenticated("the refresh token is not valid", code="invalid_refresh_token")
        owner = self.families.owner(refresh_token)
        if owner is None:
            raise invalid
        family, user_id = owner
        # Read the user before spending the token: if PostgreSQL is down the client keeps a usable token.
        with transaction(self.engine) as session:
            user = session.get(User, user_id)
        if user is None or not user.is_active:
            self.families.revoke(family, user_id)
            raise invalid
        outcome, new_token = self.families.rotate(refresh_token)
        if outcome == "reused":
            self.families.revoke(family, user_id)
            with transaction(self.engine) as session:
                audit.record(
                    session, f"user:{user_id}", "auth.refresh_reuse", None, "denied", request_id,
                    ip=client_ip, school_id=user.school_id,
                )  # fmt: skip
            raise Unauthenticated(
                "this refresh token was already used; the sign-in has been ended", code="refresh_token_reused"
            )
        if outcome != "ok":
            raise invalid
        return self._pair(user, family, new_token)

    def logout(self, principal: Principal, family: str) -> None:
        """End the caller's session: its refresh token and every access token of it stop working now."""
        self.families.revoke(family, principal.id)

    # -- authenticating requests -------------------------------------------------------------------------

    def principal_from_token(self, token: str, *, allow_setup: bool = False) -> tuple[Principal, TokenClaims]:
        """The caller behind an access token (or, where ``allow_setup``, an MFA-setup token)."""
        try:
            claims = verify_token(self.policy.tokens, token, TokenType.access)
        except Unauthenticated:
            if not allow_setup:
                raise
            claims = verify_token(self.policy.tokens, token, TokenType.mfa_setup)
        if claims.type is TokenType.access and not self.families.is_active(claims.family):
            raise Unauthenticated("this sign-in has ended; sign in again", code="sign_in_revoked")
        principal = Principal(
            kind="user",
            id=claims.user_id,
            school_id=claims.school_id,
            role=claims.role,
            student_id=claims.student_id,
        )
        return principal, claims

    # -- MFA ---------------------------------------------------------------------------------------------

    def mfa_setup(self, session: Session, principal: Principal, request_id: str | None) -> MfaSetup:
        """A new TOTP secret, stored encrypted and pending until ``mfa_activate`` proves the app has it."""
        user = self._own_user(session, principal)
        if user.mfa_enabled:
            raise Conflict("MFA is already on; an admin can reset it", code="mfa_already_enabled")
        secret = new_totp_secret()
        user.totp_secret_enc = self.keyring.seal(secret.encode(), _totp_aad(user.id))
        session.add(user)
        audit.record(session, principal, "auth.mfa_setup", f"user:{user.id}", "ok", request_id)
        uri = totp_uri(secret, user.email)
        return MfaSetup(secret=secret, otpauth_uri=uri, qr_svg=qr_svg(uri, "TOTP enrolment"))

    def mfa_activate(
        self, session: Session, principal: Principal, code: str, client_ip: str, request_id: str | None
    ) -> TokenPair:
        """Turn MFA on with a first valid code and return fresh tokens (for an admin, this completes the
        sign-in that the setup token started). Counted per client IP like sign-ins: codes are guessable."""
        self.limiter.hit(self.policy.rate_limit, "mfa", client_ip, fail_open=False)
        user = self._own_user(session, principal)
        if user.mfa_enabled:
            raise Conflict("MFA is already on", code="mfa_already_enabled")
        if user.totp_secret_enc is None:
            raise Conflict("start with /v1/auth/mfa/setup", code="mfa_not_set_up")
        if not self._accept_code(user, code):
            metrics.sign_in_refused("invalid_mfa_code")
            # 401 as at sign-in: activation ends a sign-in (it answers the token pair), and the code is the
            # factor it is refused on.
            raise Unauthenticated("the code is not valid", code="invalid_mfa_code")
        user.mfa_enabled = True
        session.add(user)
        audit.record(session, principal, "auth.mfa_enable", f"user:{user.id}", "ok", request_id)
        return self.issue_tokens(user)

    def change_password(
        self, session: Session, principal: Principal, current: str, new: str, request_id: str | None
    ) -> None:
        """Change one's own password; every sign-in of the user ends (sign in again)."""
        user = self._own_user(session, principal)
        if not self.hasher.verify(current, user.password_hash):
            metrics.sign_in_refused("invalid_credentials")
            raise InvalidInput("the current password is wrong", code="invalid_credentials")
        user.password_hash = self.hash_password(new, user.email)
        session.add(user)
        audit.record(session, principal, "auth.password_change", f"user:{user.id}", "ok", request_id)
        self.families.revoke_user(user.id)

    def me(self, session: Session, principal: Principal) -> UserPublic:
        return UserPublic.model_validate(self._own_user(session, principal))

    @staticmethod
    def _own_user(session: Session, principal: Principal) -> User:
        user = session.get(User, principal.id) if principal.kind == "user" else None
        if user is None or not user.is_active:
            raise Unauthenticated("this account no longer exists", code="invalid_token")
        return user

    # -- users (admins of the school) --------------------------------------------------------------------

    def create_user(
        self, session: Session, principal: Principal, data: UserCreate, request_id: str | None
    ) -> UserPublic:
        require_role(principal, Role.admin)
        if data.role is Role.student:
            if data.student_id is None:
                raise InvalidInput("a student account needs student_id", code="student_required")
            in_school(session, principal, Student, data.student_id, "student")
        elif data.student_id is not None:
            raise InvalidInput("only student accounts link to a student", code="invalid_student_link")
        user = User(
            school_id=principal.school_id,
            email=normalise_email(data.email),
            full_name=data.full_name,
            role=data.role,
            password_hash=self.hash_password(data.password, data.email),
            student_id=data.student_id,
        )
        session.add(user)
        _flush_unique(session, "a user with this email (or for this student) already exists")
        audit.record(
            session, principal, "user.create", f"user:{user.id}", "ok", request_id,
            role=user.role.value, student_id=user.student_id,
        )  # fmt: skip
        return UserPublic.model_validate(user)

    def list_users(
        self, session: Session, principal: Principal, page: PageParams, role: Role | None = None
    ) -> Page[UserPublic]:
        require_role(principal, Role.admin)
        query = select(User).where(User.school_id == principal.school_id)
        if role is not None:
            query = query.where(User.role == role)
        pattern = page.like()
        if pattern:
            query = query.where(
                col(User.email).ilike(pattern, escape="\\") | col(User.full_name).ilike(pattern, escape="\\")
            )
        total = session.exec(select(func.count()).select_from(query.subquery())).one()
        rows = session.exec(query.order_by(col(User.email)).limit(page.limit).offset(page.offset)).all()
        items = [UserPublic.model_validate(row) for row in rows]
        return Page[UserPublic](items=items, total=total, limit=page.limit, offset=page.offset)

    def get_user(self, session: Session, principal: Principal, user_id: uuid.UUID) -> UserPublic:
        return UserPublic.model_validate(self._user_row(session, principal, user_id))

    @staticmethod
    def _user_row(session: Session, principal: Principal, user_id: uuid.UUID) -> User:
        require_role(principal, Role.admin)
        return in_school(session, principal, User, user_id, "user")

    def update_user(
        self,
        session: Session,
        principal: Principal,
        user_id: uuid.UUID,
        data: UserUpdate,
        request_id: str | None,
    ) -> UserPublic:
        """Apply the fields sent. The school always keeps one active admin, and no admin deactivates
        themself (they could not sign in to undo it); any change to what the user may do (role, activity,
        password, MFA) ends their sign-ins."""
        user = self._user_row(session, principal, user_id)
        if user.id == principal.id and data.is_active is False:
            raise Conflict("you cannot remove your own account", code="cannot_remove_self")
        changed: dict[str, Any] = {}
        if data.full_name is not None and data.full_name != user.full_name:
            user.full_name = changed["full_name"] = data.full_name
        stays_admin = (data.role or user.role) is Role.admin and (
            data.is_active if data.is_active is not None else user.is_active
        )
        if user.role is Role.admin and user.is_active and not stays_admin:
            self._keep_an_admin(session, user)
        if data.role is not None and data.role != user.role:
            if data.role is Role.student and user.student_id is None:
                raise InvalidInput("a student account needs a student record", code="student_required")
            if user.role is Role.student and data.role is not Role.student:
                user.student_id = None
            user.role = data.role
            changed["role"] = data.role.value
        if data.is_active is not None and data.is_active != user.is_active:
            user.is_active = changed["is_active"] = data.is_active
        if data.password is not None:
            user.password_hash = self.hash_password(data.password, user.email)
            changed["password_reset"] = True
        if data.unlock:
            self.throttle.clear(user.email)
            changed["unlock"] = True
        if data.reset_mfa and (user.mfa_enabled or user.totp_secret_enc is not None):
            user.mfa_enabled, user.totp_secret_enc = False, None
            changed["reset_mfa"] = True
        if not changed:
            return UserPublic.model_validate(user)
        session.add(user)
        _flush_unique(session, "that change clashes with another user")
        audit.record(session, principal, "user.update", f"user:{user.id}", "ok", request_id, **changed)
        if changed.keys() & {"role", "is_active", "password_reset", "reset_mfa"}:
            self.families.revoke_user(user.id)
        return UserPublic.model_validate(user)

    def reset_password(
        self, session: Session, principal: Principal, user_id: uuid.UUID, request_id: str | None
    ) -> TemporaryPassword:
        """A new random password for a user who lost theirs, for the admin to hand over: like a password the
        admin types (``update_user``), it is audited as ``password_reset`` and ends every sign-in of the
        user. Only its hash is kept."""
        password = temporary_password(self.policy.passwords.min_length)
        user = self.update_user(session, principal, user_id, UserUpdate(password=password), request_id)
        return TemporaryPassword(user_id=user.id, password=password)

    def deactivate_user(
        self, session: Session, principal: Principal, user_id: uuid.UUID, request_id: str | None
    ) -> UserPublic:
        """What DELETE means for a user: records they made keep naming them, so the row stays, inactive."""
        return self.update_user(session, principal, user_id, UserUpdate(is_active=False), request_id)

    @staticmethod
    def _keep_an_admin(session: Session, leaving: User) -> None:
        """Refuse to demote or deactivate the school's last active admin. The admins' rows are locked, so
        two admins demoting each other at once cannot both succeed."""
        admins = session.exec(
            select(User.id)
            .where(User.school_id == leaving.school_id, User.role == Role.admin, col(User.is_active))
            .with_for_update()
        ).all()
        if not [admin for admin in admins if admin != leaving.id]:
            raise Conflict("the school must keep at least one active admin", code="last_admin")


#: Letters and digits nobody misreads on a screen or over the phone (no 0/o, 1/l/i).
_READABLE = "abcdefghjkmnpqrstuvwxyz23456789"


def temporary_password(min_length: int) -> str:
    """Random groups of five readable characters, at least ``min_length`` and 20 of them (99 bits or more)."""
    groups = -(-max(min_length, 20) // 5)
    return "-".join("".join(secrets.choice(_READABLE) for _ in range(5)) for _ in range(groups))


def new_password_hash(passwords: PasswordPolicy, hasher: PasswordHash, password: str, email: str = "") -> str:
    """The argon2 hash of an acceptable new password (``InvalidInput`` ``weak_password`` otherwise)."""
    if len(password) < passwords.min_length:
        raise InvalidInput(
            f"the password must have at least {passwords.min_length} characters", code="weak_password"
        )
    if email and password.strip().lower() == normalise_email(email):
        raise InvalidInput("the password must not be the email address", code="weak_password")
    return hasher.hash(password)


@dataclass(frozen=True, slots=True)
class NewSchool:
    """A school to found and its first admin (the bootstrap, or the operator's ``python -m app.tenants``)."""

    name: str
    timezone: str
    email: str
    full_name: str
    password: str


def bootstrap(session: Session, passwords: PasswordPolicy, new: NewSchool) -> tuple[School, User]:
    """The first school and its first admin, on a database without users (``python -m app.bootstrap``).
    The admin enrols TOTP at first sign-in (login answers with a setup token). Needs no Redis."""
    if session.exec(select(func.count()).select_from(User)).one():
        raise Conflict("users already exist; sign in as an admin instead", code="already_bootstrapped")
    return found_school(session, passwords, new, "bootstrap")


def found_school(
    session: Session, passwords: PasswordPolicy, new: NewSchool, action: str
) -> tuple[School, User]:
    """The school with its first admin, audited as ``action`` by the system (the bootstrap, or the
    installation's operator adding a school: ``app.services.operations.tenancy``)."""
    try:
        wanted = SchoolCreate(name=new.name.strip(), timezone=new.timezone)
    except ValidationError as exc:
        problems = [str(error["msg"]) for error in exc.errors()]
        raise InvalidInput("; ".join(problems), code="invalid_input") from exc
    school = School(name=wanted.name, timezone=wanted.timezone)
    session.add(school)
    _flush_unique(session, "that school already exists")
    admin = User(
        school_id=school.id,
        email=normalise_email(new.email),
        full_name=new.full_name.strip(),
        role=Role.admin,
        password_hash=new_password_hash(passwords, password_hasher(passwords), new.password, new.email),
    )
    session.add(admin)
    _flush_unique(session, "that email already exists")
    audit.record(session, audit.SYSTEM_ACTOR, action, f"user:{admin.id}", "ok", None, school_id=school.id)
    return school, admin


def _audit_login(
    session: Session, user: User | None, result: str, request_id: str | None, client_ip: str, **details: Any
) -> None:
    """Every sign-in attempt leaves an event: who (or an unknown email), from where, and how it ended."""
    actor = f"user:{user.id}" if user else audit.SYSTEM_ACTOR
    school_id = user.school_id if user else None
    audit.record(
        session, actor, "auth.login", None, result, request_id, ip=client_ip, school_id=school_id, **details
    )


def _totp_aad(user_id: uuid.UUID) -> bytes:
    """Binds a sealed TOTP secret to its user: copied onto another row, it no longer opens."""
    return b"totp:" + user_id.bytes


def _flush_unique(session: Session, message: str) -> None:
    """Flush now so a unique-constraint clash is a 409 here, not a 500 at commit (the caller's transaction
    then rolls back as a whole)."""
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict(message, code="duplicate") from exc
