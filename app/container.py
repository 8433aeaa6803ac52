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
from app.core.redis import RateLimiter, make_redis
from app.db.session import make_engine
from app.services.biometrics.face_index import FaceIndex
from app.services.biometrics.face_service import FaceService
from app.services.biometrics.stores import BiometricStores, TemplateCipher
from app.services.checkin import lesson_cache
from app.services.checkin.anomaly import FailedMatchMonitor
from app.services.checkin.cache import CheckinCache
from app.services.checkin.challenges import ChallengeLedger
from app.services.checkin.service import CheckinService
from app.services.enrollment.service import EnrollmentService
from app.services.identity.auth import AuthService
from app.services.identity.kiosks import KioskService
from app.services.privacy import audit


@dataclass(frozen=True, slots=True)
class SecurityServices:
    """Sign-in, kiosk keys, and the shared rate limiter."""

    auth: AuthService
    kiosks: KioskService
    limiter: RateLimiter


@dataclass(frozen=True, slots=True)
class SchoolServices:
    """The two face flows (enrollment, check-in) over the biometric stores and the face models."""

    stores: BiometricStores
    enrollment: EnrollmentService
    checkin: CheckinService


@dataclass(frozen=True, slots=True)
class Container:
    settings: Settings
    #: ``None`` in a job (it has the index alone, or only the database).
    face_service: FaceService | None
    engine: Engine | None
    redis: redis.Redis | None
    #: Need PostgreSQL and Redis: ``None`` without.
    security: SecurityServices | None
    #: Also need the vector index: what erasure, retention and the rebuild use.
    stores: BiometricStores | None
    #: Also need the face models.
    school: SchoolServices | None

    def close(self) -> None:
        """Return the pooled connections (the process is stopping, or a test is done with it)."""
        if self.engine is not None:
            self.engine.dispose()
        if self.redis is not None:
            self.redis.close()


def build_container(
    settings: Settings, face_service: FaceService | None = None, index: FaceIndex | None = None
) -> Container:
    """Everything the app (or a job) uses, over ``face_service``: the face service its caller built on its own
    ports (deployment handles in the Ingress, in-process models in tests), whose index the stores use; or,
    in a job, over ``index`` alone (Milvus, no models).

    PostgreSQL and Redis connect lazily (first use), so a replica starts while they are still coming up.
    """
    # The audit trail's pseudonym and chain keys travel with the engine: the settings passed in, never the
    # environment, and no process-wide state.
    keys = audit.AuditKeys.from_id_key(settings.id_hash_key.get_secret_value())
    engine = audit.with_keys(make_engine(settings.database_url), keys) if settings.database_url else None
    client = make_redis(settings.redis_url, settings.redis_timeout_s) if settings.redis_url else None
    if engine is None or client is None:
        return Container(settings, face_service, engine, client, security=None, stores=None, school=None)
    # Committed changes to lessons, classes and rosters raise the lesson cache's version in Redis.
    engine = lesson_cache.track_changes(engine, client)
    limiter = RateLimiter(client, settings.redis_url)
    security = SecurityServices(
        AuthService(settings.sign_in, settings.keyring(), engine, client, limiter),
        KioskService(settings.passwords, settings.kiosk_key_cache_s, engine, client),
        limiter,
    )
    index = face_service.index if face_service is not None else index
    if index is None:
        return Container(settings, face_service, engine, client, security, stores=None, school=None)
    stores = BiometricStores(
        engine, index, TemplateCipher(settings.keyring()), CheckinCache(client, settings.idempotency_ttl_s)
    )
    if face_service is None:
        return Container(settings, face_service, engine, client, security, stores, school=None)
    checkin = CheckinService(
        stores,
        face_service,
        settings.checkin,
        ChallengeLedger(client, settings.challenge_ttl_s),
        watch=FailedMatchMonitor(settings.failed_matches, engine, client, limiter),
        lessons=lesson_cache.LessonCache(settings.lesson_cache_s),
    )
    school = SchoolServices(stores, EnrollmentService(stores, face_service, settings.enrollment), checkin)
    return Container(settings, face_service, engine, client, security, stores, school)
