"""The worker as a background task of an app (each Ingress replica runs one; they share the work safely)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI

from app.core.config import Settings
from app.notifications.worker import NotificationWorker


def attach_worker(app: FastAPI, settings: Settings) -> bool:
    """Run ``NotificationWorker.run_forever`` for the app's lifetime (its lifespan), when the app has a
    database and ``notify_worker`` is on. Returns whether it was attached."""
    engine = getattr(app.state, "engine", None)
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
