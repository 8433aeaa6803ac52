"""Check-in state kept in Redis: replayable answers per Idempotency-Key, and unknown-face counters.

An Idempotency-Key is bound to the request that first used it (a fingerprint of the kiosk, the lesson, the
claimed student, the nonce, the frame times and every frame's bytes): the same request replays the first
answer; another request with that key is refused, so a kiosk never greets one student with another's answer.
The key is claimed before any work, so two concurrent retries never both run the pipeline.

An answer names the students a face was matched to, so it is face-derived data: each student keeps an index
of the cached answers that mention them, and withdrawing consent deletes those answers with the rest of the
biometric data. Everything here expires (``ttl_s``); PostgreSQL stays the record of attendance itself.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal, cast

import redis

from app.services.checkin.lesson_cache import VERSION_KEY as LESSONS_VERSION_KEY

_PREFIX = "rollcall:checkin"
#: How long a claim lives unrenewed: a replica that died holding one blocks its retries this long at most.
#: The holder renews it every ``RENEW_S`` while it works (``renew``), so a slow check-in keeps its claim.
RUNNING_TTL_S = 5
RENEW_S = 1.5
#: KEYS: the key's hash. ARGV: the request's fingerprint, the claim's life. Returns {state, first answer}.
_CLAIM = """
local fp = redis.call('HGET', KEYS[1], 'fp')
if not fp then
  redis.call('HSET', KEYS[1], 'fp', ARGV[1])
  redis.call('EXPIRE', KEYS[1], ARGV[2])
  return {'claimed', ''}
end
if fp ~= ARGV[1] then return {'reused', ''} end
local answer = redis.call('HGET', KEYS[1], 'answer')
if answer then return {'done', answer} end
return {'running', ''}
"""
#: KEYS: the key's hash. ARGV: the fingerprint that claimed it, the claim's life. Extends it while unanswered.
_RENEW = """
if redis.call('HGET', KEYS[1], 'fp') == ARGV[1] and redis.call('HEXISTS', KEYS[1], 'answer') == 0 then
  redis.call('EXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
#: KEYS: the key's hash. ARGV: the fingerprint that claimed it. Deletes it only while unanswered and ours.
_RELEASE = """
if redis.call('HGET', KEYS[1], 'fp') == ARGV[1] and redis.call('HEXISTS', KEYS[1], 'answer') == 0 then
  redis.call('DEL', KEYS[1])
end
return 0
"""
#: Unknown-face counters are kept for the reports of recent lessons, then expire.
UNKNOWN_TTL_S = 35 * 86_400


ClaimState = Literal["claimed", "done", "running", "reused"]


@dataclass(frozen=True, slots=True)
class Claim:
    state: ClaimState
    answer: str | None = None  # the first answer's JSON, when ``done``


@dataclass(frozen=True, slots=True)
class Replay:
    """An answer kept for replays of its request, with the students it names (erasure deletes it)."""

    kiosk_id: uuid.UUID
    key: str
    fingerprint: str
    answer_json: str
    student_ids: Iterable[uuid.UUID]


@dataclass(frozen=True, slots=True)
class Begun:
    """A check-in's first Redis round trip: its claim on the Idempotency-Key (``None`` without one) and the
    lesson cache's version (``app.services.checkin.lesson_cache``)."""

    claim: Claim | None
    lessons_version: str
    cooldown_s: int = 0  # the kiosk's remaining cool-down (``FailedMatchMonitor``), 0 when none


class CheckinCache:
    def __init__(self, client: redis.Redis, ttl_s: int) -> None:
        self._client = client
        self._ttl_s = ttl_s
        self._claim = client.register_script(_CLAIM)
        self._release = client.register_script(_RELEASE)
        self._renew = client.register_script(_RENEW)

    def begin(
        self, kiosk_id: uuid.UUID, key: str | None, fingerprint: str | None, cooldown_key: str | None = None
    ) -> Begun:
        """One round trip for what a check-in needs from Redis before any work: with a ``key``, its claim;
        the lesson cache's version; with ``cooldown_key``, the kiosk's remaining cool-down. Raises if Redis is
        down, before anything is written.

        The claim takes ``key`` for the request ``fingerprint`` names, atomically across replicas:
        ``claimed`` (run it, renewing the claim; it lapses ``RUNNING_TTL_S`` after the last renewal if this
        replica dies), ``done`` with the first answer, ``running`` (the same request is being answered
        elsewhere: wait and ask again), or ``reused`` (the key was given to a different request: refused)."""
        pipe = self._client.pipeline(transaction=False)
        pipe.get(LESSONS_VERSION_KEY)
        claiming = False
        if key is not None and fingerprint is not None:
            answer_key = self._answer_key(kiosk_id, key)
            self._claim(keys=[answer_key], args=[fingerprint, RUNNING_TTL_S], client=pipe)
            claiming = True
        if cooldown_key is not None:
            pipe.ttl(cooldown_key)
        results = pipe.execute()
        claim = None
        if claiming:
            state, answer = cast("list[str]", results[1])
            claim = Claim(cast("ClaimState", state), answer or None)
        cooldown = max(int(results[-1]), 0) if cooldown_key is not None else 0
        return Begun(claim, str(results[0] or "0"), cooldown)

    def renew(self, kiosk_id: uuid.UUID, key: str, fingerprint: str) -> None:
        """Keep a claim alive while its request is still being answered."""
        self._renew(keys=[self._answer_key(kiosk_id, key)], args=[fingerprint, RUNNING_TTL_S])

    def release(self, kiosk_id: uuid.UUID, key: str, fingerprint: str) -> None:
        """Give a claim back unanswered (the request failed): a retry may run it again."""
        self._release(keys=[self._answer_key(kiosk_id, key)], args=[fingerprint])

    def _queue_answer(self, pipe: Any, replay: Replay) -> None:
        answer_key = self._answer_key(replay.kiosk_id, replay.key)
        pipe.hset(answer_key, mapping={"fp": replay.fingerprint, "answer": replay.answer_json})
        pipe.expire(answer_key, self._ttl_s)
        for student_id in set(replay.student_ids):
            index = self._student_key(student_id)
            pipe.sadd(index, answer_key)
            pipe.expire(index, self._ttl_s)

    def finish(self, lesson_id: uuid.UUID | None, unknown: int, replay: Replay | None) -> None:
        """After a check-in committed, in one round trip: count its ``unknown`` faces against the lesson
        and, with ``replay``, keep the answer for replays of the same request, indexed under each student it
        mentions (for erasure)."""
        pipe = self._client.pipeline(transaction=True)
        if lesson_id is not None and unknown > 0:
            self._queue_unknown(pipe, lesson_id, unknown)
        if replay is not None:
            self._queue_answer(pipe, replay)
        if pipe:
            pipe.execute()

    def forget_student(self, student_id: uuid.UUID) -> int:
        """Delete every cached answer that mentions the student; returns how many there were."""
        index = self._student_key(student_id)
        keys = [str(key) for key in cast("set[Any]", self._client.smembers(index))]
        pipe = self._client.pipeline(transaction=True)
        if keys:
            pipe.delete(*keys)
        pipe.delete(index)
        results = pipe.execute()
        return int(results[0]) if keys else 0

    def _queue_unknown(self, pipe: Any, lesson_id: uuid.UUID, faces: int) -> None:
        key = self._unknown_key(lesson_id)
        pipe.incrby(key, faces)
        pipe.expire(key, UNKNOWN_TTL_S)

    def unknown_count(self, lesson_id: uuid.UUID) -> int:
        value = cast("str | None", self._client.get(self._unknown_key(lesson_id)))
        return int(value) if value is not None else 0

    @staticmethod
    def _answer_key(kiosk_id: uuid.UUID, key: str) -> str:
        return f"{_PREFIX}:idempotency:{kiosk_id}:{key}"

    @staticmethod
    def _student_key(student_id: uuid.UUID) -> str:
        return f"{_PREFIX}:by-student:{student_id}"

    @staticmethod
    def _unknown_key(lesson_id: uuid.UUID) -> str:
        return f"{_PREFIX}:unknown:{lesson_id}"
