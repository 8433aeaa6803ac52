"""The Notifier deployment: the notification delivery worker (email, SMS, push, webhooks), one replica.

It answers no request; Serve keeps it running (``check_health`` fails once the worker's thread has died, and
Serve replaces the replica) and the Ingress's ``/ready`` pings it. It is the only deployment bound with the
notification channels' credentials (tests/unit/test_deployment_privilege.py).
"""

from __future__ import annotations

import logging

from ray import serve

from app.container import build_container
from app.core.config import Settings
from app.notifications.background import BackgroundWorker
from deployments.metrics import setup_replica

log = logging.getLogger("ray.serve")


@serve.deployment(name="Notifier")
class Notifier:
    def __init__(self, settings: Settings) -> None:
        setup_replica(settings.logs, settings.id_hash_key)
        self._container = build_container(settings)
        self._worker: BackgroundWorker | None = None
        if self._container.engine is None:
            log.warning("no database is configured: notifications are not delivered")
            return
        self._worker = BackgroundWorker(self._container.engine, settings)
        self._worker.start()

    def ping(self) -> str:
        return "ok" if self._worker is not None else "not_configured"

    def check_health(self) -> None:
        if self._worker is not None and not self._worker.alive:
            raise RuntimeError("the notification worker stopped")

    def __del__(self) -> None:
        if self._worker is not None:
            self._worker.stop()
        self._container.close()
