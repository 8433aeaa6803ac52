"""Health: 200 when every component answers, 503 (with Retry-After) naming what does not."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from app.api.deps import FaceServiceDep, SettingsDep
from app.api.schemas import HealthResponse

router = APIRouter(tags=["health"])


@router.get(
    "/health",
    summary="Are the models and the gallery reachable?",
    response_model=HealthResponse,
    responses={503: {"model": HealthResponse, "description": "A component is down; see `checks`."}},
)
async def health(service: FaceServiceDep, settings: SettingsDep) -> JSONResponse:
    checks = await service.check()
    healthy = all(state == "ok" for state in checks.values())
    body = HealthResponse(status="ok" if healthy else "degraded", checks=checks)
    headers = None if healthy else {"Retry-After": str(settings.retry_after_s)}
    return JSONResponse(body.model_dump(), status_code=200 if healthy else 503, headers=headers)
