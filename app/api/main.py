"""Build the FastAPI app around a ready ``FaceService``: routers, error handlers, body limit.

The Serve Ingress calls ``create_app`` once per replica with a service over deployment handles; tests call it
with a service over in-process models or fakes. Nothing here knows about Ray.
"""

from __future__ import annotations

from fastapi import FastAPI

from app.api.errors import install_error_handlers
from app.api.headers import install_browser_protections
from app.api.middleware import BodyLimitMiddleware
from app.api.routes import (
    attendance,
    audit,
    auth,
    checkins,
    classes,
    enrollment,
    faces,
    galleries,
    health,
    kiosks,
    notifications,
    privacy,
    reports,
    schools,
    sessions,
    students,
    users,
)
from app.api.security import install_openapi_errors
from app.api.web import install_web_app
from app.core.config import Settings
from app.core.redis import make_redis
from app.db.session import make_engine
from app.services import audit as audit_trail
from app.services.faces import FaceService

DESCRIPTION = """
Face detection, verification and 1:N identification within galleries (a school or class).

Images go as `multipart/form-data` parts (JPEG, PNG, WebP, BMP). Every error answers with
`{"error": {"code": ..., "message": ..., "details": {...}}}`; `code` is stable and meant for machines.
"""


def create_app(service: FaceService, settings: Settings) -> FastAPI:
    app = FastAPI(
        title="Rollcall",
        version="0.1.0",
        description=DESCRIPTION,
    )
    # The whole body is limited (Content-Length first, then while it streams in) before multipart parsing
    # spools it anywhere; each image part is then checked against max_upload_bytes.
    app.add_middleware(
        BodyLimitMiddleware, max_bytes=settings.max_request_bytes, retry_after_s=settings.retry_after_s
    )
    app.state.settings = settings
    app.state.face_service = service
    # Both connect lazily (first use), so a replica starts while PostgreSQL or Redis is still coming up.
    app.state.engine = make_engine(settings.database_url) if settings.database_url else None
    app.state.redis = make_redis(settings.redis_url, settings.redis_timeout_s) if settings.redis_url else None
    # This replica's settings (passed in, not read from its environment) key the audit trail's pseudonyms.
    audit_trail.configure(settings)
    install_error_handlers(app, settings.retry_after_s)
    app.include_router(faces.router)
    app.include_router(galleries.router)
    app.include_router(health.router)
    for router in (auth.router, users.router, kiosks.router, audit.router):
        app.include_router(router)
    school_domain = (schools, classes, sessions, students, enrollment, checkins, attendance, reports)
    for module in school_domain:
        app.include_router(module.router)
    app.include_router(privacy.router)  # erasure, export, disclosure log (docs/PRIVACY.md)
    install_openapi_errors(app)
    install_browser_protections(app, settings)
    app.include_router(notifications.router)
    health.time_pipeline(service)
    health.install_observability(app)  # last: the outermost middleware ids and times everything
    install_web_app(app, settings)  # after every router: the web app takes only what the API does not
    return app
