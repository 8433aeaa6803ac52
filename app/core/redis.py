"""Redis: the client factory, rate limits (``limits`` on Redis) and one-time nonces.

Every replica shares the counters, so a limit holds across the cluster, not per process.

Failure policy (what happens when Redis is down), decided per use rather than globally:
- ``RateLimiter.hit(..., fail_open=False)`` (login, refresh, MFA: the routes that guard secrets) answers
  ``Unavailable`` (503 with Retry-After): without the counter, password guessing would be unlimited.
- ``fail_open=True`` (every authenticated route) lets the request through and logs a warning: the caller
  has already proved who they are, the limit only protects capacity, and attendance must not stop because
  a cache is down. Signed-in *users* still get 503 during a Redis outage, because checking that their
  session was not revoked needs Redis (``services.identity.auth``); kiosks keep working from PostgreSQL.
"""

from __future__ import annotations

import logging
import math
import secrets
import time

import redis
from limits import RateLimitItem, parse_many
from limits.storage import RedisStorage
from limits.strategies import MovingWindowRateLimiter

from app.core.errors import RateLimited, Unavailable

log = logging.getLogger(__name__)


def make_redis(url: str, timeout_s: float = 2.0) -> redis.Redis:
    """A pooled client that fails fast (so a down Redis answers 503 promptly) and returns ``str``."""
    return redis.Redis.from_url(
        url,
        socket_connect_timeout=timeout_s,
        socket_timeout=timeout_s,
        health_check_interval=30,
        decode_responses=True,
    )


class RateLimiter:
    """Moving-window limits in Redis: exact (no burst at a window edge), counted across replicas."""

    def __init__(self, client: redis.Redis, url: str) -> None:
        # limits builds its own client from the URL and the pool we hand it; the pool is shared with
        # ``client`` so both use the same connections and timeouts.
        self._storage = RedisStorage(url, connection_pool=client.connection_pool)
        self._limiter = MovingWindowRateLimiter(self._storage)
        self._parsed: dict[str, list[RateLimitItem]] = {}

    def hit(self, limit: str, *identifiers: str, fail_open: bool) -> None:
        """Count one request against every item of ``limit`` (e.g. ``"10/minute;100/hour"``) for
        ``identifiers``; ``RateLimited`` with the seconds until a slot frees up when one is exhausted."""
        items = self._items(limit)
        try:
            for item in items:
                if not self._limiter.hit(item, *identifiers):
                    reset_at = self._limiter.get_window_stats(item, *identifiers).reset_time
                    retry_after = max(1, math.ceil(reset_at - time.time()))
                    raise RateLimited(
                        "too many requests; try again later", retry_after_s=retry_after, limit=str(item)
                    )
        except redis.RedisError as exc:
            if fail_open:
                log.warning("rate limiter unavailable (%s); letting the request through", type(exc).__name__)
                return
            raise Unavailable(
                "the rate limiter is unavailable; try again shortly", code="cache_unavailable"
            ) from exc

    def over(self, limit: str, *identifiers: str, cost: int = 1) -> bool:
        """Count ``cost`` events against ``limit`` for ``identifiers``; True when that passes it (the events
        that do not fit are not counted). For monitors that act on a burst rather than refuse a request;
        Redis errors propagate (the caller decides how to fail)."""
        return not all(self._limiter.hit(item, *identifiers, cost=cost) for item in self._items(limit))

    def _items(self, limit: str) -> list[RateLimitItem]:
        items = self._parsed.get(limit)
        if items is None:
            items = self._parsed[limit] = parse_many(limit)
        return items


class OneTimeValues:
    """Short-lived values that can be taken exactly once (kiosk challenge nonces, MFA steps).

    ``take`` uses GETDEL (Redis 6.2+), atomic across replicas: two requests presenting the same nonce cannot
    both succeed.
    """

    def __init__(self, client: redis.Redis, namespace: str) -> None:
        self._client = client
        self._namespace = namespace

    def issue(self, ttl_s: int, value: str = "1") -> str:
        """A new unguessable nonce holding ``value`` (e.g. JSON of what it was issued for) for ``ttl_s``."""
        nonce = secrets.token_urlsafe(24)
        self._client.set(self._key(nonce), value, ex=ttl_s)
        return nonce

    def take(self, nonce: str) -> str | None:
        """The value stored with ``nonce``, removing it; None if unknown, expired or already taken."""
        if not nonce or len(nonce) > 128:
            return None
        value = self._client.getdel(self._key(nonce))
        return None if value is None else str(value)

    def claim(self, name: str, ttl_s: int) -> bool:
        """Mark ``name`` used; False if it already was (within ``ttl_s``): a replay."""
        return bool(self._client.set(self._key(name), "1", ex=ttl_s, nx=True))

    def _key(self, nonce: str) -> str:
        return f"{self._namespace}:{nonce}"
