"""The delivery worker on a thread of its own, for a process whose event loop is not ours to take (the
Notifier Serve deployment; ``python -m app.notifications worker`` runs the loop directly instead).

Only the Notifier runs it, so deliveries are not tied to Ingress replicas and the channels' credentials
(SMTP, Twilio, ntfy) stay out of the replicas that answer requests. Several workers would still share the
work safely (deliveries are claimed with ``FOR UPDATE SKIP LOCKED``).
"""

from __future__ import annotations

import asyncio
import threading

from sqlalchemy import Engine

from app.core.config import Settings
from app.notifications.worker import NotificationWorker


class BackgroundWorker:
    def __init__(self, engine: Engine, settings: Settings) -> None:
        self._worker = NotificationWorker(engine, settings)
        self._loop = asyncio.new_event_loop()
        self._stop = asyncio.Event()
        self._thread = threading.Thread(target=self._run, name="notification-worker", daemon=True)

    def start(self) -> None:
        self._thread.start()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Ask the loop to end after its current pass, and wait for it (at most ``timeout_s``)."""
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
            self._thread.join(timeout_s)

    def _run(self) -> None:
        try:
            self._loop.run_until_complete(self._worker.run_forever(self._stop))
        finally:
            self._loop.close()
