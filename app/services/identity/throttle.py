"""Failed sign-ins slow the one who fails, not the account: backoff per (account, address) and per address.

Why not a lock on the account: a lock any stranger can trigger (five wrong passwords for a teacher's email)
keeps the teacher out, and a lock only existing accounts get tells the stranger which emails exist. So:

- Every account name is throttled alike, whether a user has it or not (the key is a digest of the
  normalised email, never the user), so the answers cannot tell known emails from unknown ones.
- After ``free`` failures of one account from one address, that pair waits before its next try, doubling
  per further failure (``base_s``, ``2 * base_s``, ... up to ``max_s``): a guesser slows to a crawl, while the
  teacher signing in from another address is not slowed at all.
- One address failing across many accounts (credential stuffing) is throttled the same way, with its own,
  larger allowance (a school's staff may share one address).
- Many failures of one account across addresses (a distributed guess) raise an alert, once per window
  (``SignInAlert``), and lock nothing.
- A right password clears its own pair; an admin clears an account from every address (``clear``).

Every count is forgotten ``window_s`` after its last failure. Keys hold digests, never an email or an address.
Redis errors propagate: sign-in fails closed (503), as the rest of ``AuthService`` does.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass
from typing import cast

import redis

from app.core.setting_groups import ThrottlePolicy

_PAIR = "rollcall:signin:{{{account}}}:pair:{address}"  # hash tag: an account's keys share a cluster slot
_PAIRS = "rollcall:signin:{{{account}}}:pairs"
_ACCOUNT = "rollcall:signin:{{{account}}}:all"
_ADDRESS = "rollcall:signin-address:{address}"


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class Failure:
    """What one failure added up to: the account's failures from all addresses in the window, and whether
    this one crossed the alert threshold (it is the first to, in this window)."""

    account_failures: int
    alert: bool


class SignInThrottle:
    def __init__(self, client: redis.Redis, policy: ThrottlePolicy) -> None:
        """``client`` decodes responses (``app.core.redis.make_redis``)."""
        self._client = client
        self._policy = policy

    def wait_s(self, email: str, address: str, now: float | None = None) -> int:
        """Seconds before this account may be tried again from this address (0: now)."""
        account, where = _digest(email), _digest(address)
        pipe = self._client.pipeline(transaction=False)
        pipe.hmget(_PAIR.format(account=account, address=where), ["n", "t"])
        pipe.hmget(_ADDRESS.format(address=where), ["n", "t"])
        pair, alone = cast("list[list[str | None]]", pipe.execute())
        moment = time.time() if now is None else now
        policy = self._policy
        return max(
            self._left(pair, policy.free_failures, moment),
            self._left(alone, policy.address_free_failures, moment),
        )

    def fail(self, email: str, address: str, now: float | None = None) -> Failure:
        """Count one failure of ``email`` from ``address``."""
        account, where = _digest(email), _digest(address)
        moment = time.time() if now is None else now
        window = self._policy.window_s
        pair_key, pairs_key = _PAIR.format(account=account, address=where), _PAIRS.format(account=account)
        account_key, address_key = _ACCOUNT.format(account=account), _ADDRESS.format(address=where)
        pipe = self._client.pipeline(transaction=True)
        for key in (pair_key, address_key):
            pipe.hincrby(key, "n", 1)
            pipe.hset(key, "t", repr(moment))
            pipe.expire(key, window)
        pipe.sadd(pairs_key, where)
        pipe.expire(pairs_key, window)
        pipe.hincrby(account_key, "n", 1)
        pipe.expire(account_key, window)
        failures = int(pipe.execute()[-2])
        # HSETNX sets the mark once: of the failures past the threshold, only the first raises the alert.
        alert = failures >= self._policy.alert_failures
        return Failure(failures, alert and bool(self._client.hsetnx(account_key, "alerted", "1")))

    def succeed(self, email: str, address: str) -> None:
        """The right password from this address: its own pair starts over."""
        self._client.delete(_PAIR.format(account=_digest(email), address=_digest(address)))

    def clear(self, email: str) -> None:
        """An admin's unlock: the account is not slowed from any address (the addresses' own counts stay)."""
        account = _digest(email)
        addresses = cast("set[str]", self._client.smembers(_PAIRS.format(account=account)))
        keys = [_PAIR.format(account=account, address=address) for address in addresses]
        self._client.delete(*keys, _PAIRS.format(account=account), _ACCOUNT.format(account=account))

    def _left(self, state: list[str | None], free: int, now: float) -> int:
        count, last = state
        failures = int(count or 0)
        if failures < free or last is None:
            return 0
        policy = self._policy
        delay: float = min(policy.max_s, policy.base_s * 2 ** (failures - free))
        return max(0, math.ceil(float(last) + delay - now))
