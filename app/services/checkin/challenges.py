"""Single-use challenge nonces: what binds a kiosk's liveness answer to one request, kept in Redis.

Why a nonce: without it a recorded burst that once passed could be sent again (a replay). Each challenge is
stored in Redis under a random nonce for a few seconds, with what it asked for (the action and, when the
school's colour layer is on, the colour sequence the kiosk's screen shows): the answer is judged against what
the nonce binds, never against anything the request says. Redeeming it is one atomic script, so two requests
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

from models.liveness import Action, ColourSequence


class Redemption(StrEnum):
    fresh = "fresh"  # first use (or a retry of the same attempt): go on
    used = "used"  # redeemed before by another attempt: a replay
    invalid = "invalid"  # never issued, expired, or issued to another kiosk


@dataclass(frozen=True, slots=True)
class Terms:
    """What a nonce binds: the action asked for, and the colours the screen shows (``None``: no colours)."""

    action: Action
    colours: ColourSequence | None = None


@dataclass(frozen=True, slots=True)
class Challenge:
    nonce: str
    action: Action
    expires_in_s: int
    colours: ColourSequence | None = None


# KEYS[1] = challenge key; ARGV[1] = kiosk id, ARGV[2] = attempt id ("" when none), ARGV[3] = a random id
# that stands for an attempt without one (so no later request can claim to be its retry).
# Answers {status, the record as issued}. KEEPTTL: a redeemed nonce still expires when the challenge would.
_REDEEM = """
local raw = redis.call('GET', KEYS[1])
if not raw then return {'invalid', ''} end
local record = cjson.decode(raw)
if record['kiosk'] ~= ARGV[1] then return {'invalid', ''} end
if record['attempt'] then
  if ARGV[2] ~= '' and record['attempt'] == ARGV[2] then return {'fresh', raw} end
  return {'used', raw}
end
if ARGV[2] ~= '' then record['attempt'] = ARGV[2] else record['attempt'] = 'once:' .. ARGV[3] end
redis.call('SET', KEYS[1], cjson.encode(record), 'KEEPTTL')
return {'fresh', raw}
"""


class ChallengeLedger:
    """Issues challenges and redeems their nonces, in Redis (shared by every Ingress replica)."""

    def __init__(self, client: redis.Redis, ttl_s: int, prefix: str = "rollcall:challenge:") -> None:
        self._redis = client
        self._ttl_s = ttl_s
        self._prefix = prefix
        self._redeem = client.register_script(_REDEEM)

    def issue(
        self, kiosk: str, action: Action | None = None, colours: ColourSequence | None = None
    ) -> Challenge:
        """A new challenge for ``kiosk``: a random action unless one is given (tests, evaluation), and the
        colour sequence its screen is to show, if any (``colours.random_sequence``)."""
        chosen = action or secrets.choice(list(Action))
        nonce = secrets.token_urlsafe(24)
        shown = colours.to_json() if colours is not None else None
        record = json.dumps({"kiosk": kiosk, "action": chosen.value, "colours": shown})
        self._redis.set(self._prefix + nonce, record, ex=self._ttl_s)
        return Challenge(nonce, chosen, self._ttl_s, colours)

    def redeem(self, nonce: str, kiosk: str, attempt: str | None) -> tuple[Redemption, Terms | None]:
        """Mark ``nonce`` used by this attempt; the status, and what it binds when it exists."""
        if not nonce or len(nonce) > 64:
            return Redemption.invalid, None
        status, raw = self._redeem(
            keys=[self._prefix + nonce], args=[kiosk, attempt or "", secrets.token_hex(8)]
        )
        status = status.decode() if isinstance(status, bytes) else status
        if not raw:
            return Redemption(status), None
        record = json.loads(raw)
        shown = record.get("colours")
        colours = ColourSequence.from_json(shown) if shown else None
        return Redemption(status), Terms(Action(record["action"]), colours)
