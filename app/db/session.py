"""Engine and per-request sessions: one pooled engine per process, one transaction per command.

Routers receive a ``Session`` through dependency injection; domain services take it as an argument and never
commit half a command: the caller's ``transaction()`` commits once at the end or rolls everything back.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, event
from sqlmodel import Session, create_engine


def make_engine(url: str, *, pool_size: int = 5, max_overflow: int = 10, timeout_s: float = 5.0) -> Engine:
    """A pooled engine whose connects and statements fail fast, so a down database answers 503 promptly."""
    engine = create_engine(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=timeout_s,
        pool_pre_ping=True,  # a server restarted since the last request is reconnected, not an error
        connect_args={"connect_timeout": max(1, int(timeout_s))},
    )

    @event.listens_for(engine, "connect")
    def _statement_timeout(dbapi_connection: object, _record: object) -> None:
        with dbapi_connection.cursor() as cursor:  # type: ignore[attr-defined]
            cursor.execute(f"SET statement_timeout = {int(timeout_s * 1000) * 6}")

    return engine


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """A session whose work commits together at the end, or not at all."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
