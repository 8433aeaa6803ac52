"""Check-in state kept in Redis: replayable answers per Idempotency-Key, and unknown-face counters.

An answer names the students a face was matched to, so it is face-derived data: each student keeps an index
of the cached answers that mention them, and withdrawing consent deletes those answers with the rest of the
biometric data. Everything here expires (``ttl_s``); PostgreSQL stays the record of attendance itself.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any, cast

import redis

_PREFIX = "rollcall:checkin"
#: Unknown-face counters are kept for the reports of recent lessons, then expire.
UNKNOWN_TTL_S = 35 * 86_400


class CheckinCache:
    def __init__(self, client: redis.Redis, ttl_s: int) -> None:
        self._client = client
        self._ttl_s = ttl_s

    def ping(self) -> None:
        """Raise if Redis cannot be reached (callers check before writing anything elsewhere)."""
        self._client.ping()

    def answer(self, kiosk_id: uuid.UUID, key: str) -> str | None:
        """The JSON answer already given to this kiosk for this Idempotency-Key, if any."""
        value = self._client.get(self._answer_key(kiosk_id, key))
        return None if value is None else str(value)

    def remember(
        self, kiosk_id: uuid.UUID, key: str, answer_json: str, student_ids: Iterable[uuid.UUID]
    ) -> None:
        """Keep the answer for replays; index it under each student it mentions (for erasure)."""
        answer_key = self._answer_key(kiosk_id, key)
        pipe = self._client.pipeline(transaction=True)
        pipe.set(answer_key, answer_json, ex=self._ttl_s)
        for student_id in set(student_ids):
            index = self._student_key(student_id)
            pipe.sadd(index, answer_key)
            pipe.expire(index, self._ttl_s)
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

    def count_unknown(self, lesson_id: uuid.UUID, faces: int) -> None:
        if faces <= 0:
            return
        key = self._unknown_key(lesson_id)
        pipe = self._client.pipeline(transaction=True)
        pipe.incrby(key, faces)
        pipe.expire(key, UNKNOWN_TTL_S)
        pipe.execute()

    def unknown_count(self, lesson_id: uuid.UUID) -> int:
        value = cast("str | None", self._client.get(self._unknown_key(lesson_id)))
        return int(value) if value is not None else 0

    @staticmethod
    def _answer_key(kiosk_id: uuid.UUID, key: str) -> str:
        return f"{_PREFIX}:answer:{kiosk_id}:{key}"

    @staticmethod
    def _student_key(student_id: uuid.UUID) -> str:
        return f"{_PREFIX}:by-student:{student_id}"

    @staticmethod
    def _unknown_key(lesson_id: uuid.UUID) -> str:
        return f"{_PREFIX}:unknown:{lesson_id}"
