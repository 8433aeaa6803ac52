"""Build the FastAPI app around a ready ``Container``: routers, error handlers, body limit.

The Serve Ingress calls ``create_app`` once per replica with a container over deployment handles; tests call
it with one over in-process models or fakes (``app.container.build_container`` either way). Nothing here
knows about Ray, and nothing here builds a service.
"""

from __future__ import annotations

from fastapi import FastAPI

from app.api.docs import install_docs
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
    lessons,
    notifications,
    privacy,
    reports,
    schools,
    students,
    users,
)
from app.api.security import check_caller_first, install_openapi_errors
from app.api.web import install_web_app
from app.container import Container

DESCRIPTION = """
Face detection, verification and 1:N identification within galleries (a school or class).

Images go as `multipart/form-data` parts (JPEG, PNG, WebP, BMP). Every error answers with
`{"error": {"code": ..., "message": ..., "details": {...}}}`; `code` is stable and meant for machines.
"""


def create_app(container: Container) -> FastAPI:
    settings = container.settings
    app = FastAPI(
        title="Rollcall",
        version="0.1.0",
        description=DESCRIPTION,
        docs_url=None,  # FastAPI's pages load from a CDN: app.api.docs serves them from this app
        redoc_url=None,
    )
    # The whole body is limited (Content-Length first, then while it streams in) before multipart parsing
    # spools it anywhere; each image part is then checked against max_upload_bytes.
    app.add_middleware(
        BodyLimitMiddleware, max_bytes=settings.max_request_bytes, retry_after_s=settings.retry_after_s
    )
    app.state.container = container
    install_error_handlers(app, settings.retry_after_s, check_caller_first)
    app.include_router(faces.router)
    app.include_router(galleries.router)
    app.include_router(health.router)
    for router in (auth.router, users.router, kiosks.router, audit.router):
        app.include_router(router)
    school_domain = (schools, classes, lessons, students, enrollment, checkins, attendance, reports)
    for module in school_domain:
        app.include_router(module.router)
    app.include_router(privacy.router)  # erasure, export, disclosure log (docs/PRIVACY.md)
    install_openapi_errors(app)
    install_docs(app)  # /docs, /redoc and their assets, with nothing from outside
    install_browser_protections(app, settings)
    app.include_router(notifications.router)
    health.install_observability(app)  # last: the outermost middleware ids and times everything
    install_web_app(app, settings)  # after every router: the web app takes only what the API does not
    return app
