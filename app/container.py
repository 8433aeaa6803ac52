"""The composition root: every long-lived object of a process, built in one place from the settings.

``build_container`` is called once per process: by the Ingress replica (over the Serve deployments' handles),
by ``python -m app.jobs`` and the other CLIs (over an in-process index), and by the test fixtures. It answers
"where is X built, and from what?" for the engine, the Redis client, the rate limiter, the biometric stores
and every service the routers use; routers read them from the container (``app.api.deps``), never build them.

A process without a database or Redis configured still gets a container (a face-only deployment, a test of
the face routes): ``engine``/``redis`` are then ``None`` and the routes that need them answer 503.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis
from sqlalchemy import Engine

from app.core.config import Settings
from app.core.crypto import Keyring
from app.core.redis import RateLimiter, make_redis
from app.db.session import make_engine
from app.services import audit
from app.services.anomaly import FailedMatchMonitor
from app.services.auth import AuthService
from app.services.biometrics import BiometricStores, TemplateCipher
from app.services.checkin import CheckinService
from app.services.checkin_cache import CheckinCache
from app.services.enrollment import EnrollmentService
from app.services.faces import FaceService
from app.services.kiosks import KioskService
from models.liveness import ChallengeLedger


@dataclass(frozen=True, slots=True)
class SecurityServices:
    """Sign-in, kiosk keys, and the shared rate limiter."""

    auth: AuthService
    kiosks: KioskService
    limiter: RateLimiter


@dataclass(frozen=True, slots=True)
class SchoolServices:
    """The biometric stores and the two face flows over them (enrollment, check-in)."""

    stores: BiometricStores
    enrollment: EnrollmentService
    checkin: CheckinService


@dataclass(frozen=True, slots=True)
class Container:
    settings: Settings
    #: ``None`` in a job that works on the database alone.
    faces: FaceService | None
    engine: Engine | None
    redis: redis.Redis | None
    #: Both need PostgreSQL and Redis (and the school services a face service): ``None`` without.
    security: SecurityServices | None
    school: SchoolServices | None

    def close(self) -> None:
        """Return the pooled connections (the process is stopping, or a test is done with it)."""
        if self.engine is not None:
            self.engine.dispose()
        if self.redis is not None:
            self.redis.close()


def keyring_of(settings: Settings) -> Keyring:
    return Keyring.from_text(settings.template_key.get_secret_value(), settings.template_key_id)


def build_container(settings: Settings, faces: FaceService | None = None) -> Container:
    """Everything the app (or a job) uses, over ``faces``: the face service its caller built on its own
    pipeline port (deployment handles in the Ingress, in-process models or an index in jobs and tests).

    PostgreSQL and Redis connect lazily (first use), so a replica starts while they are still coming up.
    """
    # The audit trail's pseudonym and chain keys travel with the engine: the settings passed in, never the
    # environment, and no process-wide state.
    keys = audit.AuditKeys.from_settings(settings)
    engine = audit.with_keys(make_engine(settings.database_url), keys) if settings.database_url else None
    client = make_redis(settings.redis_url, settings.redis_timeout_s) if settings.redis_url else None
    if engine is None or client is None:
        return Container(settings, faces, engine, client, security=None, school=None)
    limiter = RateLimiter(client, settings.redis_url)
    security = SecurityServices(
        AuthService(settings, engine, client, limiter), KioskService(settings, engine, client), limiter
    )
    if faces is None:
        return Container(settings, faces, engine, client, security, school=None)
    stores = BiometricStores(
        engine, faces, TemplateCipher(keyring_of(settings)), CheckinCache(client, settings.idempotency_ttl_s)
    )
    checkin = CheckinService(
        stores,
        settings,
        ChallengeLedger(client, settings.challenge_ttl_s),
        watch=FailedMatchMonitor(settings, engine, client, limiter),
    )
    school = SchoolServices(stores, EnrollmentService(stores, settings), checkin)
    return Container(settings, faces, engine, client, security, school)
