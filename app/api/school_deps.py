"""Dependencies of the school-domain routers: paging input, the biometric stores, the check-in and
enrollment services (the container's)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request

from app.api.deps import EngineDep, RedisDep, get_container, require_multipart
from app.container import SchoolServices
from app.core.errors import Unavailable
from app.schemas.common import PageParams
from app.services.checkin.cache import CheckinCache


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


def school_services(request: Request, _engine: EngineDep, _client: RedisDep) -> SchoolServices:
    """The container's (503 through ``get_engine``/``get_redis`` when a store is not configured)."""
    services = get_container(request).school
    if services is None:  # not reached: the container builds them whenever both stores are configured
        raise Unavailable("the school services are not configured", code="database_unavailable")
    return services


SchoolServicesDep = Annotated[SchoolServices, Depends(school_services)]


def cache(services: SchoolServicesDep) -> CheckinCache:
    return services.stores.cache


CacheDep = Annotated[CheckinCache, Depends(cache)]
