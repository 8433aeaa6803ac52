"""Observability: ``/health`` (the process answers), ``/ready`` (every dependency answers), ``/metrics``, and
the middleware that gives every request its id, its access-log line and its metrics.

- ``/health`` is liveness: 200 whenever this process can answer at all; it checks nothing else, so a database
  outage never makes Kubernetes restart healthy pods.
- ``/ready`` is readiness: PostgreSQL, Redis, Milvus and each Serve deployment (models loaded), checked in
  parallel with a timeout, one JSON object per dependency; 503 with Retry-After when one is down.
- ``/metrics``: Prometheus text format of this process (``app.core.metrics``); when ``metrics_token`` is set
  it needs ``Authorization: Bearer <token>``.

The middleware records what every request has (route, status, time); the outcomes are recorded by the
services where they happen (``app.core.metrics``: failed sign-ins and bad kiosk keys in ``AuthService`` and
``KioskService``, liveness rejections, check-in outcomes per kiosk and match scores in ``CheckinService``), so
no response body is read back.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, cast

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import text
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.deps import FaceServiceDep, SettingsDep
from app.api.errors import CLIENT_CLOSED, error_responses
from app.core import metrics
from app.core.errors import Unauthenticated
from app.core.logging import bind_request, unbind_request

router = APIRouter(tags=["health"])
access_log = logging.getLogger("app.access")

READY_TIMEOUT_S = 5.0
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


class LivenessBody(BaseModel):
    status: str = Field(description='Always "ok": the process answers.')


class DependencyState(BaseModel):
    status: str = Field(
        description='"ok", "unavailable", or "not_configured" (this process does not use it).'
    )
    latency_ms: float | None = Field(None, description="Time the check took.")
    error: str | None = Field(None, description="Why it is not ok: an error code, never an internal address.")


class ReadyBody(BaseModel):
    status: str = Field(description='"ready" or "not_ready".')
    checks: dict[str, DependencyState] = Field(description="One entry per dependency.")


@router.get(
    "/health",
    summary="Liveness: the process answers",
    response_model=LivenessBody,
)
async def health() -> LivenessBody:
    return LivenessBody(status="ok")


@router.get(
    "/ready",
    summary="Readiness: PostgreSQL, Redis, Milvus and every model deployment answer",
    response_model=ReadyBody,
    responses={503: {"model": ReadyBody, "description": "A dependency is down; see `checks`."}},
)
async def ready(request: Request, service: FaceServiceDep, settings: SettingsDep) -> JSONResponse:
    checks = await readiness(request.app, service.check)
    healthy = all(state.status in ("ok", "not_configured") for state in checks.values())
    for name, state in checks.items():
        if state.status != "not_configured":
            metrics.READY.labels(name).set(1.0 if state.status == "ok" else 0.0)
    body = ReadyBody(status="ready" if healthy else "not_ready", checks=checks)
    headers = None if healthy else {"Retry-After": str(settings.retry_after_s)}
    return JSONResponse(body.model_dump(), status_code=200 if healthy else 503, headers=headers)


@router.get(
    "/metrics",
    summary="Prometheus metrics: this node's Ray export under Serve, this process's registry outside",
    response_class=Response,
    responses={
        200: {"content": {"text/plain": {}}, "description": "Prometheus text format."},
        **error_responses(401, 503),
    },
)
async def metrics_endpoint(request: Request, settings: SettingsDep) -> Response:
    token = settings.metrics_token.get_secret_value()
    if token:
        given = request.headers.get("authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            raise Unauthenticated(
                "send the metrics token (Authorization: Bearer ...)", code="not_authenticated"
            )
    body, content_type = await metrics.exposition()
    return Response(body, media_type=content_type)


async def readiness(
    app: FastAPI, pipeline_check: Callable[[], Awaitable[dict[str, str]]]
) -> dict[str, DependencyState]:
    """Every dependency, in parallel, each within ``READY_TIMEOUT_S``."""
    engine, client = app.state.container.engine, app.state.container.redis

    async def timed(name: str, call: Callable[[], Any]) -> tuple[str, DependencyState]:
        started = time.perf_counter()
        try:
            await asyncio.wait_for(asyncio.to_thread(call), READY_TIMEOUT_S)
        except Exception as exc:
            return name, DependencyState(status="unavailable", error=type(exc).__name__)
        return name, DependencyState(status="ok", latency_ms=round((time.perf_counter() - started) * 1000, 2))

    def ping_postgres() -> None:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    async def pipeline() -> list[tuple[str, DependencyState]]:
        started = time.perf_counter()
        try:
            found = await asyncio.wait_for(pipeline_check(), READY_TIMEOUT_S * 2)
        except Exception as exc:
            return [("pipeline", DependencyState(status="unavailable", error=type(exc).__name__))]
        latency = round((time.perf_counter() - started) * 1000, 2)
        states = []
        for name, state in found.items():
            error = None if state == "ok" else state.removeprefix("unavailable: ")[:100]
            if name == "gallery":  # the Matcher deployment in front of Milvus: tell which one failed
                matcher_down = error is not None and error in ("model_unavailable", "TimeoutError")
                states.append(("matcher", _state("unavailable" if matcher_down else "ok", latency, error)))
                milvus = "unavailable" if error else "ok"
                states.append(
                    ("milvus", _state(milvus if not matcher_down else "unavailable", latency, error))
                )
            else:
                states.append((name, _state("ok" if error is None else "unavailable", latency, error)))
        return states

    tasks: list[Awaitable[tuple[str, DependencyState]]] = []
    results: dict[str, DependencyState] = {}
    if engine is not None:
        tasks.append(timed("postgres", ping_postgres))
    else:
        results["postgres"] = DependencyState(status="not_configured")
    if client is not None:
        tasks.append(timed("redis", client.ping))
    else:
        results["redis"] = DependencyState(status="not_configured")
    *singles, models = await asyncio.gather(*tasks, pipeline())
    results.update(dict(cast("list[tuple[str, DependencyState]]", singles)))
    results.update(dict(cast("list[tuple[str, DependencyState]]", models)))
    return results


def _state(status: str, latency: float, error: str | None) -> DependencyState:
    return DependencyState(status=status, latency_ms=latency if status == "ok" else None, error=error)


# ---------------------------------------------------------------------------------------------- middleware


class ObservabilityMiddleware:
    """Request id (X-Request-ID in and out, bound to every log line), an access-log line naming the route
    template (never the raw path: it carries ids), and the request metrics."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header = Headers(scope=scope).get("x-request-id", "")
        request_id = header if _REQUEST_ID.match(header) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        bind_request(request_id)
        started = time.perf_counter()
        status = 500

        async def send_and_watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = list(message.get("headers", []))
                echo = getattr(getattr(scope.get("app"), "state", None), "echo_request_id", True)
                if echo and not any(name.lower() == b"x-request-id" for name, _ in headers):
                    headers.append((b"x-request-id", request_id.encode("ascii")))
                    message = {**message, "headers": headers}
            await send(message)

        metrics.HTTP_IN_FLIGHT.inc()
        try:
            await self.app(scope, receive, send_and_watch)
        except asyncio.CancelledError:  # the client left and the server (Serve's proxy) cancelled the work
            status = CLIENT_CLOSED
            raise
        finally:
            metrics.HTTP_IN_FLIGHT.inc(-1)
            elapsed = time.perf_counter() - started
            route, method = _route(scope), scope.get("method", "")
            metrics.HTTP_REQUESTS.labels(route, method, str(status)).inc()
            metrics.HTTP_SECONDS.labels(route, method).observe(elapsed)
            access_log.info(
                "request",
                extra={
                    "method": method,
                    "route": route,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 1),
                },
            )
            unbind_request()


def _route(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return str(path) if path else "unmatched"


def install_observability(app: FastAPI) -> None:
    """The middleware, outermost (so it times and ids everything, error answers included)."""
    app.add_middleware(ObservabilityMiddleware)
