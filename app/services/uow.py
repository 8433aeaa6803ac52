"""Transactions for async flows (check-in, enrollment): database steps run in worker threads.

Routers of plain CRUD get a transaction per request from ``app.api.deps.DbDep``. Flows that await the face
models or Milvus between database steps use these instead, so the event loop never blocks on PostgreSQL and a
database transaction is never held open while a model runs, except where a lock must span a Milvus write
(``UnitOfWork``: enrollment and erasure, which must not interleave for one student).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from types import TracebackType
from typing import Concatenate, ParamSpec, TypeVar

from sqlalchemy import Engine
from sqlmodel import Session

from app.db.session import transaction

P = ParamSpec("P")
T = TypeVar("T")


async def in_transaction(
    engine: Engine, step: Callable[Concatenate[Session, P], T], *args: P.args, **kwargs: P.kwargs
) -> T:
    """Run ``step(session, ...)`` in its own transaction in a worker thread: all of it commits, or none."""

    def work() -> T:
        with transaction(engine) as session:
            return step(session, *args, **kwargs)

    return await asyncio.to_thread(work)


class UnitOfWork:
    """One transaction that stays open across awaits: ``async with UnitOfWork(engine) as uow``.

    ``await uow.run(step, ...)`` runs each database step in a worker thread (one at a time, so the session is
    never used by two threads at once); leaving the block commits, an exception (cancellation included)
    rolls back. The caller compensates for any non-database effect itself when the block raises.
    """

    def __init__(self, engine: Engine) -> None:
        self.session = Session(engine, expire_on_commit=False)

    async def run(self, step: Callable[Concatenate[Session, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
        return await asyncio.to_thread(step, self.session, *args, **kwargs)

    async def __aenter__(self) -> UnitOfWork:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if exc_type is None:
                await asyncio.to_thread(self.session.commit)
        finally:
            # close() rolls back whatever is still open (an error above, or a failed commit).
            await asyncio.to_thread(self.session.close)
