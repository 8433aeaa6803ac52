"""Kiosk API keys: issued by an admin for one school and room, shown once, stored as prefix + argon2 hash.

A key reads ``rck_<prefix>_<secret>``: the prefix (public, unique) finds the row, the secret is checked
against its argon2 hash. Checking argon2 on every request would cost tens of milliseconds and 64 MiB each,
so a key that checked out is remembered in Redis for ``kiosk_key_cache_s`` under its prefix together with a
SHA-256 of the whole key (safe: the key is 256-bit random, so the digest cannot be brute-forced). Revoking
deletes that entry, so a revoked key stops working at once (a request already past the database check when
the revocation commits may re-cache it; the cache life bounds that).

Without Redis, kiosks keep working from PostgreSQL alone (slower): check-in must not stop with a cache.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import cast

import redis
from sqlalchemy import Engine, update
from sqlmodel import Session, col, select

from app.core import metrics
from app.core.enums import Role
from app.core.errors import Unauthenticated
from app.core.security import password_hasher
from app.core.setting_groups import PasswordPolicy
from app.db.session import transaction
from app.db.tables import KioskKey, utcnow
from app.schemas.kiosks import KioskKeyCreate, KioskKeyIssued, KioskKeyPublic
from app.services.identity.access import in_school, refuse_suspended, require_role
from app.services.identity.principal import Principal
from app.services.privacy import audit

log = logging.getLogger(__name__)
_KEY = re.compile(r"^rck_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")


@dataclass(frozen=True, slots=True)
class _CachedKey:
    kiosk_id: uuid.UUID
    school_id: uuid.UUID
    room: str
    digest: str


def _digest(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


class KioskService:
    def __init__(
        self, passwords: PasswordPolicy, key_cache_s: int, engine: Engine, client: redis.Redis
    ) -> None:
        """``key_cache_s``: how long a checked key is trusted from Redis without argon2 (0: never)."""
        self.key_cache_s = key_cache_s
        self.engine = engine
        self.client = client
        self.hasher = password_hasher(passwords)

    def issue(
        self, session: Session, principal: Principal, data: KioskKeyCreate, request_id: str | None
    ) -> KioskKeyIssued:
        """A new key for the admin's school; the plaintext is in the answer and nowhere else."""
        require_role(principal, Role.admin)
        prefix = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        row = KioskKey(
            school_id=principal.school_id,
            room=data.room,
            name=data.name,
            prefix=prefix,
            key_hash=self.hasher.hash(secret),
            created_by=principal.id,
        )
        session.add(row)
        session.flush()
        audit.record(
            session, principal, "kiosk_key.issue", f"kiosk:{row.id}", "ok", request_id, room=row.room
        )
        public = KioskKeyPublic.model_validate(row)
        return KioskKeyIssued(**public.model_dump(), api_key=f"rck_{prefix}_{secret}")

    def list(
        self, session: Session, principal: Principal, include_revoked: bool = False
    ) -> list[KioskKeyPublic]:
        require_role(principal, Role.admin)
        query = select(KioskKey).where(KioskKey.school_id == principal.school_id)
        if not include_revoked:
            query = query.where(col(KioskKey.revoked_at).is_(None))
        rows = session.exec(query.order_by(col(KioskKey.room), col(KioskKey.name))).all()
        return [KioskKeyPublic.model_validate(row) for row in rows]

    def revoke(
        self, session: Session, principal: Principal, key_id: uuid.UUID, request_id: str | None
    ) -> KioskKeyPublic:
        """Stop a key now (idempotent: revoking a revoked key changes nothing)."""
        require_role(principal, Role.admin)
        row = in_school(session, principal, KioskKey, key_id, "kiosk_key")
        if row.revoked_at is None:
            row.revoked_at = utcnow()
            session.add(row)
            audit.record(session, principal, "kiosk_key.revoke", f"kiosk:{row.id}", "ok", request_id)
            self._forget(row.prefix)
        return KioskKeyPublic.model_validate(row)

    def authenticate(self, api_key: str) -> Principal:
        """The kiosk behind ``api_key``; ``Unauthenticated`` (``invalid_api_key``) for anything else."""
        try:
            return self._authenticate(api_key)
        except Unauthenticated:
            metrics.sign_in_refused("invalid_api_key")
            raise

    def _authenticate(self, api_key: str) -> Principal:
        invalid = Unauthenticated("the API key is not valid", code="invalid_api_key")
        match = _KEY.match(api_key.strip())
        if match is None:
            raise invalid
        prefix, secret = match.groups()
        cached = self._cached(prefix)
        if cached is not None:
            if not hmac.compare_digest(cached.digest, _digest(api_key.strip())):
                raise invalid
            return Principal(kind="kiosk", id=cached.kiosk_id, school_id=cached.school_id, room=cached.room)
        with transaction(self.engine) as session:
            row = session.exec(select(KioskKey).where(KioskKey.prefix == prefix)).first()
            if row is None or row.revoked_at is not None or not self.hasher.verify(secret, row.key_hash):
                raise invalid
            refuse_suspended(session, row.school_id)
            session.execute(update(KioskKey).where(col(KioskKey.id) == row.id).values(last_used_at=utcnow()))
        self._remember(prefix, _CachedKey(row.id, row.school_id, row.room, _digest(api_key.strip())))
        return Principal(kind="kiosk", id=row.id, school_id=row.school_id, room=row.room)

    @staticmethod
    def _cache_key(prefix: str) -> str:
        return f"auth:kiosk:{prefix}"

    def _cached(self, prefix: str) -> _CachedKey | None:
        if self.key_cache_s <= 0:
            return None
        try:
            raw = cast("str | None", self.client.get(self._cache_key(prefix)))
        except redis.RedisError as exc:
            log.warning("kiosk key cache unavailable (%s); checking PostgreSQL", type(exc).__name__)
            return None
        if raw is None:
            return None
        data = json.loads(raw)
        return _CachedKey(uuid.UUID(data["id"]), uuid.UUID(data["school_id"]), data["room"], data["digest"])

    def forget(self, prefixes: Iterable[str]) -> None:
        """Drop these keys' cache entries, so their next request is checked against PostgreSQL (a school
        suspended by the operator: ``app.services.operations.tenancy``)."""
        for prefix in prefixes:
            self._forget(prefix)

    def _forget(self, prefix: str) -> None:
        """Drop a revoked key from the cache. Revoking must work while Redis is down (a stolen key is an
        emergency): then nobody can read the cache either and every check goes to PostgreSQL, which knows;
        an entry that survives the outage lives at most ``kiosk_key_cache_s`` more."""
        try:
            self.client.delete(self._cache_key(prefix))
        except redis.RedisError as exc:
            log.warning(
                "kiosk key cache unavailable (%s); the revoked key's entry expires by itself",
                type(exc).__name__,
            )

    def _remember(self, prefix: str, entry: _CachedKey) -> None:
        if self.key_cache_s <= 0:
            return
        value = json.dumps(
            {
                "id": str(entry.kiosk_id),
                "school_id": str(entry.school_id),
                "room": entry.room,
                "digest": entry.digest,
            }
        )
        try:
            self.client.set(self._cache_key(prefix), value, ex=self.key_cache_s)
        except redis.RedisError as exc:
            log.warning("kiosk key cache unavailable (%s)", type(exc).__name__)
