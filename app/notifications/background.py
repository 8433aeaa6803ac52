"""The worker as a background task of an app (each Ingress replica runs one; they share the work safely)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI

from app.container import Container
from app.notifications.worker import NotificationWorker


def attach_worker(app: FastAPI) -> bool:
    """Run ``NotificationWorker.run_forever`` for the app's lifetime (its lifespan), when the app's container
    has a database and ``notify_worker`` is on. Returns whether it was attached."""
    container: Container = app.state.container
    engine, settings = container.engine, container.settings
    if engine is None or not settings.notify_worker:
        return False
    previous = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(application: Any) -> AsyncIterator[Any]:
        async with previous(application) as state:
            stop = asyncio.Event()
            task = asyncio.create_task(NotificationWorker(engine, settings).run_forever(stop))
            try:
                yield state
            finally:
                stop.set()
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(task, timeout=10)

    app.router.lifespan_context = lifespan
    return True
