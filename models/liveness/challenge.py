"""The active challenges a kiosk can ask for, and the single-use nonces that bind an answer to one request.

Why a nonce: without it a recorded burst that once passed could be sent again (a replay). Each challenge is
stored in Redis under a random nonce for a few seconds; redeeming it is one atomic script, so two requests
racing with one nonce cannot both win. A retry of the *same* attempt (same kiosk, same Idempotency-Key, e.g.
after a 503) may redeem it again: it is the same burst from the same kiosk, and the attendance it records is
idempotent anyway; any other second use is refused.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from enum import StrEnum

import redis


class Action(StrEnum):
    turn_left = "turn_left"
    turn_right = "turn_right"


#: What the kiosk shows. "Left" is the student's own left: in the camera's unmirrored picture the nose then
#: moves to the picture's right (+x), which is what ``DIRECTION`` encodes.
INSTRUCTIONS = {
    Action.turn_left: "Turn your head slowly to your left",
    Action.turn_right: "Turn your head slowly to your right",
}
DIRECTION = {Action.turn_left: 1.0, Action.turn_right: -1.0}


class Redemption(StrEnum):
    fresh = "fresh"  # first use (or a retry of the same attempt): go on
    used = "used"  # redeemed before by another attempt: a replay
    invalid = "invalid"  # never issued, expired, or issued to another kiosk


@dataclass(frozen=True, slots=True)
class Challenge:
    nonce: str
    action: Action
    expires_in_s: int


# KEYS[1] = challenge key; ARGV[1] = kiosk id, ARGV[2] = attempt id ("" when none), ARGV[3] = a random id
# that stands for an attempt without one (so no later request can claim to be its retry).
# Answers {status, action}. KEEPTTL: a redeemed nonce still expires when the challenge would have.
_REDEEM = """
local raw = redis.call('GET', KEYS[1])
if not raw then return {'invalid', ''} end
local record = cjson.decode(raw)
if record['kiosk'] ~= ARGV[1] then return {'invalid', ''} end
if record['attempt'] then
  if ARGV[2] ~= '' and record['attempt'] == ARGV[2] then return {'fresh', record['action']} end
  return {'used', record['action']}
end
if ARGV[2] ~= '' then record['attempt'] = ARGV[2] else record['attempt'] = 'once:' .. ARGV[3] end
redis.call('SET', KEYS[1], cjson.encode(record), 'KEEPTTL')
return {'fresh', record['action']}
"""


class ChallengeLedger:
    """Issues challenges and redeems their nonces, in Redis (shared by every Ingress replica)."""

    def __init__(self, client: redis.Redis, ttl_s: int, prefix: str = "rollcall:challenge:") -> None:
        self._redis = client
        self._ttl_s = ttl_s
        self._prefix = prefix
        self._redeem = client.register_script(_REDEEM)

    def issue(self, kiosk: str, action: Action | None = None) -> Challenge:
        """A new challenge for ``kiosk``: a random action unless one is given (tests, evaluation)."""
        chosen = action or secrets.choice(list(Action))
        nonce = secrets.token_urlsafe(24)
        record = json.dumps({"kiosk": kiosk, "action": chosen.value})
        self._redis.set(self._prefix + nonce, record, ex=self._ttl_s)
        return Challenge(nonce, chosen, self._ttl_s)

    def redeem(self, nonce: str, kiosk: str, attempt: str | None) -> tuple[Redemption, Action | None]:
        """Mark ``nonce`` used by this attempt; the status, and the action it asked for when it exists."""
        if not nonce or len(nonce) > 64:
            return Redemption.invalid, None
        status, action = self._redeem(
            keys=[self._prefix + nonce], args=[kiosk, attempt or "", secrets.token_hex(8)]
        )
        status = status.decode() if isinstance(status, bytes) else status
        action = action.decode() if isinstance(action, bytes) else action
        return Redemption(status), (Action(action) if action else None)
