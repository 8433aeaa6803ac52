"""Who is calling, and may they call this route: the dependencies every route declares.

The contract:
- ``require(*allowed)`` is a dependency factory: the dependency returns the authenticated ``Principal`` or
  raises 401 (no, invalid, expired or revoked credentials; with ``WWW-Authenticate``) or 403 (authenticated,
  but the role is not in ``allowed``). ``allowed`` holds ``Role`` members and/or ``"kiosk"``.
- Users send ``Authorization: Bearer <access JWT>``; kiosks send ``X-API-Key: <key>``. Both at once is 401.
- The dependency carries its roles (``allowed_roles``), so ``route_policies(app)`` reads every route's
  policy from ``app.routes``; the RBAC matrix test proves each route against each role with it.
- Public routes are listed in ``PUBLIC_ROUTES`` and nowhere else; every other route must declare a
  ``require`` (the matrix test fails otherwise).
- ``Annotated`` aliases for the usual policies: ``AdminOnly``, ``Staff``, ``AnyUser``, ``KioskOnly``.

Rate limits: each authenticated request counts against its principal (per user, per kiosk key), failing
open when Redis is down (see ``app.core.redis``). Sign-in routes count per client IP and fail closed.

Tests that only exercise a route's own logic may override ``authenticate`` with a fixed principal
(``app.dependency_overrides[authenticate] = ...``); the role check in ``require`` still applies.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from app.api.deps import get_container, get_engine, get_redis
from app.api.errors import error_responses
from app.container import SecurityServices
from app.core.enums import Role
from app.core.errors import Forbidden, Unauthenticated, Unavailable
from app.services.identity.principal import KIOSK, Principal

#: (method, path) of every route anyone may call without credentials. HEAD follows its GET.
PUBLIC_ROUTES: frozenset[tuple[str, str]] = frozenset(
    {
        ("GET", "/health"),
        ("GET", "/ready"),
        ("GET", "/metrics"),  # scrapers have no accounts; ROLLCALL_METRICS_TOKEN guards it in production
        ("GET", "/v1/notifications/unsubscribe"),  # the link in a message: its signed token is the credential
        ("POST", "/v1/notifications/unsubscribe"),
        ("POST", "/v1/auth/login"),
        ("POST", "/v1/auth/refresh"),
        ("GET", "/openapi.json"),
        ("GET", "/docs"),
        ("GET", "/docs/oauth2-redirect"),
        ("GET", "/redoc"),
    }
)

Allowed = Role | Literal["kiosk"]

_bearer = HTTPBearer(
    auto_error=False, scheme_name="AccessToken", description="Access token from /v1/auth/login."
)
_api_key = APIKeyHeader(
    name="X-API-Key", auto_error=False, scheme_name="KioskKey", description="A kiosk's API key."
)
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
ApiKeyDep = Annotated[str | None, Depends(_api_key)]


def security_services(request: Request) -> SecurityServices:
    """The container's; 503 (through ``get_engine``/``get_redis``) when the app has no database or Redis."""
    get_engine(request), get_redis(request)
    services = get_container(request).security
    if services is None:  # not reached: the container builds them whenever both stores are configured
        raise Unavailable("the sign-in services are not configured", code="database_unavailable")
    return services


ServicesDep = Annotated[SecurityServices, Depends(security_services)]


def client_ip(request: Request) -> str:
    """The caller's address: the socket peer, or with ``trusted_proxy_hops`` = n the n-th entry from the
    right of X-Forwarded-For (the entries further left are whatever the client chose to send)."""
    hops = get_container(request).settings.trusted_proxy_hops
    if hops:
        forwarded = [part.strip() for part in request.headers.get("x-forwarded-for", "").split(",")]
        forwarded = [part for part in forwarded if part]
        if len(forwarded) >= hops:
            return forwarded[-hops]
    return request.client.host if request.client else "unknown"


ClientIpDep = Annotated[str, Depends(client_ip)]


def _authenticate(
    request: Request,
    services: SecurityServices,
    bearer: HTTPAuthorizationCredentials | None,
    api_key: str | None,
    *,
    allow_setup: bool,
) -> Principal:
    settings = get_container(request).settings
    if bearer is not None and api_key:
        raise Unauthenticated("send a bearer token or an API key, not both", code="ambiguous_credentials")
    if api_key:
        principal = services.kiosks.authenticate(api_key)
        services.limiter.hit(settings.kiosk_rate_limit, "kiosk", str(principal.id), fail_open=True)
    elif bearer is not None:
        principal, claims = services.auth.principal_from_token(bearer.credentials, allow_setup=allow_setup)
        request.state.token_family = claims.family
        services.limiter.hit(settings.user_rate_limit, "user", str(principal.id), fail_open=True)
    else:
        raise Unauthenticated(
            "sign in (Authorization: Bearer <token>) or send a kiosk key (X-API-Key)",
            code="not_authenticated",
        )
    request.state.principal = principal
    return principal


def authenticate(request: Request, services: ServicesDep, bearer: BearerDep, api_key: ApiKeyDep) -> Principal:
    """The caller of any protected route (access tokens and kiosk keys)."""
    return _authenticate(request, services, bearer, api_key, allow_setup=False)


def authenticate_enrolment(
    request: Request, services: ServicesDep, bearer: BearerDep, api_key: ApiKeyDep
) -> Principal:
    """Also accepts the MFA-setup token an admin without MFA gets from login (MFA enrolment routes only)."""
    return _authenticate(request, services, bearer, api_key, allow_setup=True)


def require(*allowed: Allowed, setup_token: bool = False) -> Callable[..., Principal]:
    """A dependency admitting only ``allowed`` (401 unauthenticated, 403 wrong role); see the module doc.

    ``setup_token=True`` also admits the MFA-setup token (only for the MFA enrolment routes)."""
    if not allowed:
        raise ValueError("require() needs at least one role; public routes go in PUBLIC_ROUTES")
    names = frozenset(item.value if isinstance(item, Role) else item for item in allowed)
    unknown = names - {role.value for role in Role} - {KIOSK}
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}")
    base = authenticate_enrolment if setup_token else authenticate

    # A default, not Annotated: annotations are strings here and ``base`` is local, so FastAPI could not
    # resolve it from one.
    def check_role(principal: Principal = Depends(base)) -> Principal:  # noqa: B008
        _require_one_of(principal, names)
        return principal

    check_role.allowed_roles = names  # type: ignore[attr-defined]
    check_role.__name__ = f"require_{'_or_'.join(sorted(names))}"
    return check_role


AdminOnly = Annotated[Principal, Depends(require(Role.admin))]
Staff = Annotated[Principal, Depends(require(Role.admin, Role.teacher))]
AnyUser = Annotated[Principal, Depends(require(Role.admin, Role.teacher, Role.student))]
KioskOnly = Annotated[Principal, Depends(require(KIOSK))]


def token_family(request: Request) -> str:
    """The refresh-token family of the caller's access token (set by ``authenticate``; "" otherwise)."""
    return str(getattr(request.state, "token_family", ""))


TokenFamilyDep = Annotated[str, Depends(token_family)]


async def check_caller_first(request: Request) -> None:
    """The caller of a protected route must authenticate, and hold one of its roles, before anything about
    its body is answered (``app.api.errors`` calls this before rendering a validation error)."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or (request.method, route.path) in PUBLIC_ROUTES:
        return
    replaced = request.app.dependency_overrides.get(authenticate)  # a test's stand-in for sign-in
    if replaced is not None:
        principal = replaced()
    else:
        bearer, api_key = await _bearer(request), await _api_key(request)
        principal = _authenticate(request, security_services(request), bearer, api_key, allow_setup=True)
    for names in _declared(route.dependant.dependencies):
        _require_one_of(principal, names)


def _require_one_of(principal: Principal, names: frozenset[str]) -> None:
    """403 unless the caller holds one of the roles ``names`` (a route's policy)."""
    if principal.role_name not in names:
        raise Forbidden(
            f"this needs one of the roles {', '.join(sorted(names))}",
            code="forbidden",
            role=principal.role_name,
        )


@dataclass(frozen=True, slots=True)
class RoutePolicy:
    """One method of one route and the ``require`` policies declared on it (router-level ones included)."""

    method: str
    path: str
    policies: tuple[frozenset[str], ...]
    is_api: bool  # False for the docs pages FastAPI adds itself

    @property
    def public(self) -> bool:
        return (self.method, self.path) in PUBLIC_ROUTES


def route_policies(app: FastAPI) -> list[RoutePolicy]:
    """Every (method, path) the app serves, with what it requires: the RBAC matrix test's input."""
    found: list[RoutePolicy] = []
    for route in iter_route_contexts(app.routes):
        is_api = isinstance(route.original_route, APIRoute)
        dependant = getattr(route, "dependant", None) if is_api else None
        policies = tuple(_declared(dependant.dependencies)) if dependant is not None else ()
        for method in sorted((route.methods or set()) - {"HEAD"}):
            found.append(RoutePolicy(method, str(route.path), policies, is_api))
    return found


def _declared(dependants: Iterable[Dependant], seen: set[int] | None = None) -> Iterator[frozenset[str]]:
    """Policies in the dependency tree; one dependable used twice is one policy (FastAPI runs it once)."""
    seen = set() if seen is None else seen
    for dependant in dependants:
        roles = getattr(dependant.call, "allowed_roles", None)
        if roles is not None and id(dependant.call) not in seen:
            seen.add(id(dependant.call))
            yield roles
        yield from _declared(dependant.dependencies, seen)


#: What any protected route can answer besides its own outcomes: no or bad credentials, the wrong role, a
#: rate limit, a store that is down (signed-in users need Redis for their session; every route PostgreSQL).
AUTH_ERRORS = (401, 403, 429, 503)
BODY_UNREADABLE = "The body cannot be parsed: not JSON, or broken multipart (`bad_request`)."


def install_openapi_errors(app: FastAPI) -> None:
    """Make the OpenAPI document tell the truth about errors, so a client generated from it (and a schema
    fuzzer) expects what the app answers: every protected route lists ``AUTH_ERRORS``, every route with a
    body FastAPI's 400, and every 422 has the app's error body, not FastAPI's default ``HTTPValidationError``
    (``app.api.errors`` renders validation errors as ``{"error": ...}`` too). Routes declare their own
    outcomes with ``error_responses``; this adds the ones that come from the route's policy (read from the
    same ``route_policies`` the RBAC test uses) and from FastAPI itself."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = generate()
        documented = error_responses(*AUTH_ERRORS, 422)
        body = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}
        for route in route_policies(app):
            operation = schema["paths"].get(route.path, {}).get(route.method.lower())
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            validation = responses.get("422", {}).get("content", {}).get("application/json", {})
            if "HTTPValidationError" in str(validation.get("schema", "")):
                responses["422"] = {"description": documented[422]["description"], "content": body}
            if "requestBody" in operation:  # FastAPI's own 400: a body that is not JSON or not multipart
                responses.setdefault("400", {"description": BODY_UNREADABLE, "content": body})
            if not route.public:
                for status in AUTH_ERRORS:
                    responses.setdefault(
                        str(status), {"description": documented[status]["description"], "content": body}
                    )
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
