"""Dependencies of the school-domain routers: paging input, the biometric stores, the check-in and
enrollment services. Built once per app from what ``create_app`` put on ``app.state``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query, Request

from app.api.deps import EngineDep, FaceServiceDep, RedisDep, SettingsDep, require_multipart
from app.core.crypto import Keyring
from app.core.redis import RateLimiter
from app.schemas.common import PageParams
from app.services.anomaly import FailedMatchMonitor, MonitoredCheckinService
from app.services.biometrics import BiometricStores, TemplateCipher
from app.services.checkin import CheckinService
from app.services.checkin_cache import CheckinCache
from app.services.enrollment import EnrollmentService
from models.liveness import ChallengeLedger


def page_params(
    limit: Annotated[int, Query(ge=1, le=200, description="Items per page.")] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000, description="Items to skip.")] = 0,
    q: Annotated[
        str | None, Query(max_length=100, description="Search: part of a name, number or code.")
    ] = None,
) -> PageParams:
    return PageParams(limit=limit, offset=offset, q=q)


PageDep = Annotated[PageParams, Depends(page_params)]

#: 415 unless the body is multipart. Declared as a parameter *after* the caller's principal, so that an
#: unauthenticated or wrong-role request is answered 401/403 before its body is judged.
Multipart = Annotated[None, Depends(require_multipart)]


@dataclass(frozen=True, slots=True)
class SchoolServices:
    stores: BiometricStores
    enrollment: EnrollmentService
    checkin: CheckinService


def school_services(
    request: Request, engine: EngineDep, client: RedisDep, faces: FaceServiceDep, settings: SettingsDep
) -> SchoolServices:
    """One set per app (503 through ``get_engine``/``get_redis`` when a store is not configured)."""
    services: SchoolServices | None = getattr(request.app.state, "school_services", None)
    if services is None:
        keyring = Keyring.from_text(settings.template_key.get_secret_value(), settings.template_key_id)
        stores = BiometricStores(
            engine, faces, TemplateCipher(keyring), CheckinCache(client, settings.idempotency_ttl_s)
        )
        challenges = ChallengeLedger(client, settings.challenge_ttl_s)
        monitor = FailedMatchMonitor(settings, engine, client, RateLimiter(client, settings.redis_url))
        services = SchoolServices(
            stores,
            EnrollmentService(stores, settings),
            MonitoredCheckinService(stores, settings, challenges, monitor=monitor),
        )
        request.app.state.school_services = services
    return services


SchoolServicesDep = Annotated[SchoolServices, Depends(school_services)]


def cache(services: SchoolServicesDep) -> CheckinCache:
    return services.stores.cache


CacheDep = Annotated[CheckinCache, Depends(cache)]
