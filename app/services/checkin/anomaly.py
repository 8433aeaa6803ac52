"""Bursts of failed face matches at one kiosk: counted in Redis, alerted once, then a cool-down (429).

A kiosk that meets many faces it cannot match in a short time is at the wrong door, or someone is trying
faces, photos or screens on it (probing the match threshold or the liveness check). Every failed match counts
against the kiosk: an ``unknown`` face, a 1:1 claim ``not_verified``, a failed liveness check. The count is a
moving window in Redis (``kiosk_failed_match_limit``, e.g. ``30/5minute``; ``limits``, shared by replicas).

The first failure past the limit raises the alert, once per cool-down:
- an audit event ``security.failed_match_burst`` (result ``denied``, target the kiosk), in the school's
  hash-chained trail, where admins read it (``GET /v1/audit?action=security.failed_match_burst``);
- a warning in the log naming the kiosk and school by keyed pseudonyms only;
- face check-ins from that kiosk are answered 429 ``kiosk_cooling_down`` with Retry-After for
  ``kiosk_failed_match_cooldown_s`` (the code check-in and the rest of the API keep working).

Redis down: the monitor fails open (logged), like the other per-kiosk limits: attendance must not stop because
a counter cannot be read; the check-in itself then answers 503 for its own use of Redis.
"""

from __future__ import annotations

import asyncio
import logging

import redis
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from app.core.errors import RateLimited
from app.core.redis import RateLimiter
from app.core.setting_groups import FailedMatchPolicy
from app.services.identity.principal import Principal
from app.services.privacy import audit
from app.services.privacy.activity import log_action
from app.services.uow import in_transaction

log = logging.getLogger(__name__)

ALERT_ACTION = "security.failed_match_burst"
_COOLDOWN_KEY = "rollcall:kiosk:cooldown:{}"


class FailedMatchMonitor:
    """The ``CheckinWatch`` of every Ingress: counts failed matches per kiosk, alerts once, cools down."""

    def __init__(
        self, policy: FailedMatchPolicy, engine: Engine, client: redis.Redis, limiter: RateLimiter
    ) -> None:
        self._policy = policy
        self._engine = engine
        self._client = client
        self._limiter = limiter

    def cooldown_key(self, kiosk: Principal) -> str:
        """The Redis key whose time to live is the kiosk's remaining cool-down: the check-in reads it in its
        first round trip (``CheckinCache.begin``) and hands the figure to ``guard``."""
        return _COOLDOWN_KEY.format(kiosk.id)

    def guard(self, remaining_s: int) -> None:
        """429 while the kiosk is cooling down after an alert (``remaining_s`` > 0)."""
        if remaining_s > 0:
            raise RateLimited(
                "too many faces failed to match at this kiosk; face check-in pauses for a while",
                code="kiosk_cooling_down",
                retry_after_s=remaining_s,
            )

    async def observe(self, kiosk: Principal, failures: int, request_id: str | None) -> bool:
        """Count ``failures`` against the kiosk; raise the alert if that passed the limit. True if it did."""
        if failures <= 0:
            return False
        policy = self._policy
        try:
            limit = policy.limit
            over = await asyncio.to_thread(
                self._limiter.over, limit, "failed-match", str(kiosk.id), cost=failures
            )
            if not over:
                return False
            key = _COOLDOWN_KEY.format(kiosk.id)
            first = await asyncio.to_thread(self._client.set, key, "1", ex=policy.cooldown_s, nx=True)
        except redis.RedisError as exc:
            log.warning("failed-match monitor unavailable (%s); not counted", type(exc).__name__)
            return False
        if not first:  # already alerted for this burst
            return True
        ids = audit.keys_of(self._engine).ids
        log.warning(
            "possible attack: burst of failed face matches at kiosk %s (school %s) past %s; face check-in "
            "paused %d s",
            ids.hash_id(kiosk.id)[:16],
            ids.hash_id(kiosk.school_id)[:16],
            policy.limit,
            policy.cooldown_s,
        )
        try:
            await in_transaction(
                self._engine,
                log_action,
                kiosk,
                ALERT_ACTION,
                f"kiosk:{kiosk.id}",
                request_id,
                result="denied",
                room=kiosk.room,
                limit=policy.limit,
                cooldown_s=policy.cooldown_s,
            )
        except SQLAlchemyError as exc:
            # The check-in itself is committed already: its answer must not turn into an error. The log
            # line above is the alert then; the cool-down holds either way.
            log.error("failed-match alert not audited (%s)", type(exc).__name__)
        return True
