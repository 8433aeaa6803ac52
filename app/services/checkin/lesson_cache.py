"""The lessons a kiosk checks into, with their rosters, kept briefly in each Ingress replica.

A live check-in asked PostgreSQL for them twice (the challenge, then the check-in itself), and every
check-in of a class asks for the same rows. Each replica keeps what it loaded for ``ttl_s``, tagged with a
version counter in Redis that every committed change to a lesson, a class, a class's members or a school
raises (``track_changes``: SQLAlchemy session events, so no service has to remember to). A check-in reads the
counter in the Redis round trip it makes anyway (``CheckinCache.begin``); a changed counter, or an entry
older than ``ttl_s``, means loading again. So a roster edit on one replica is seen by the next check-in on
every replica; only if Redis failed right after such a commit can an entry outlive it, by ``ttl_s`` at most.

What is kept are the lessons that are, or will become, open within ``ttl_s``
(``app.services.checkin.service.lessons_here``); which of them are open is decided again at each check-in's
own time (``open_at``), so a lesson opens and ends on time however old the entry is.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis
from sqlalchemy import Engine, event
from sqlalchemy.orm import ORMExecuteState
from sqlmodel import Session

from app.db.tables import ClassMember, Lesson, School, SchoolClass

log = logging.getLogger(__name__)

#: The counter every committed change to what ``lessons_here`` reads raises.
VERSION_KEY = "rollcall:lessons:version"
#: The engine execution option that carries the Redis client to raise it with.
CLIENT_OPTION = "rollcall_lesson_changes"
_TRACKED = (Lesson, SchoolClass, ClassMember, School)
_TRACKED_TABLES = frozenset(str(model.__tablename__) for model in _TRACKED)
_CHANGED = "rollcall_lessons_changed"


def track_changes(engine: Engine, client: redis.Redis) -> Engine:
    """``engine`` (sharing its pool) whose sessions raise ``VERSION_KEY`` after committing a change to a
    lesson, a class, a class's members or a school."""
    return engine.execution_options(**{CLIENT_OPTION: client})


@event.listens_for(Session, "after_flush")
def _note_flush(session: Session, _context: Any) -> None:
    if any(isinstance(row, _TRACKED) for row in itertools.chain(session.new, session.dirty, session.deleted)):
        session.info[_CHANGED] = True


@event.listens_for(Session, "do_orm_execute")
def _note_statement(state: ORMExecuteState) -> None:
    """Bulk ``update()``/``delete()`` statements bypass the flush."""
    if state.is_update or state.is_delete:
        table = getattr(state.statement, "table", None)
        if getattr(table, "name", None) in _TRACKED_TABLES:
            state.session.info[_CHANGED] = True


@event.listens_for(Session, "after_commit")
def _raise_version(session: Session) -> None:
    if not session.info.pop(_CHANGED, False):
        return
    client = session.get_bind().get_execution_options().get(CLIENT_OPTION)
    if client is None:
        return
    try:
        client.incr(VERSION_KEY)
    except redis.RedisError as exc:
        log.warning("lesson cache version not raised (%s): entries expire by themselves", type(exc).__name__)


@event.listens_for(Session, "after_rollback")
def _forget_changes(session: Session) -> None:
    session.info.pop(_CHANGED, None)


#: (school, room, lesson asked for or None)
CacheKey = tuple[uuid.UUID | None, str | None, uuid.UUID | None]


@dataclass(frozen=True, slots=True)
class OpenLesson:
    """A lesson the kiosk can check students in to, with its class's members."""

    lesson: Lesson
    members: frozenset[uuid.UUID]


@dataclass(frozen=True, slots=True)
class LessonsHere:
    """What a kiosk's check-ins read from PostgreSQL: its room's lessons (open now or within the cache's
    life, latest start first), whether its school checks liveness and whether it lights faces with colours."""

    lessons: list[OpenLesson]
    liveness: bool
    colour_challenge: bool


@dataclass(frozen=True, slots=True)
class _Entry:
    version: str
    loaded_at: float
    here: LessonsHere


class LessonCache:
    """Per replica, thread-safe; ``ttl_s`` 0 keeps nothing."""

    def __init__(self, ttl_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self._clock = clock
        self._entries: dict[CacheKey, _Entry] = {}
        self._lock = threading.Lock()

    def get(self, key: CacheKey, version: str) -> LessonsHere | None:
        with self._lock:
            entry = self._entries.get(key)
        if entry is None or entry.version != version or self._clock() - entry.loaded_at >= self.ttl_s:
            return None
        return entry.here

    def put(self, key: CacheKey, version: str, here: LessonsHere, loaded_at: float) -> None:
        """Keep ``here`` as loaded at ``loaded_at`` (this cache's clock, read before the query)."""
        if self.ttl_s <= 0:
            return
        with self._lock:
            if len(self._entries) > 4096:  # rooms x lessons asked for: a bound, never reached by a school
                self._entries.clear()
            self._entries[key] = _Entry(version, loaded_at, here)

    def now(self) -> float:
        return self._clock()
