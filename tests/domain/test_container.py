"""The composition root: one container per process, and what the app, the jobs and the fixtures use is it."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from app.api.deps import get_engine, get_face_service, get_settings
from app.api.main import create_app
from app.api.school_deps import school_services
from app.api.security import security_services
from app.container import build_container
from app.jobs.context import engine_for
from app.services.biometrics.face_index import FaceIndex
from app.services.biometrics.face_service import FaceService, ImageLimits
from tests.domain.authkit import EmptyPipeline, make_app, make_settings, services_of


def test_the_app_uses_its_containers_services(tmp_path: Path, pg_url: str, redis_url: str) -> None:
    settings = make_settings(tmp_path, pg_url, redis_url)
    empty = EmptyPipeline()
    faces = FaceService(empty, FaceIndex(empty), ImageLimits(1, 1))  # type: ignore[arg-type]
    container = build_container(settings, faces)
    try:
        assert container.security is not None and container.school is not None
        assert container.school.stores.engine is container.engine  # one engine for every service
        assert container.school.checkin._stores is container.school.stores
        app = create_app(container)
        assert app.state.container is container
        request = Request({"type": "http", "app": app, "headers": []})
        resolved = [get_settings(request), get_engine(request), get_face_service(request)]
        resolved += [security_services(request), school_services(request, container.engine, container.redis)]  # type: ignore[arg-type]
        assert resolved == [
            settings,
            container.engine,
            container.face_service,
            container.security,
            container.school,
        ]
    finally:
        container.close()


def test_the_fixtures_app_is_built_by_the_container(tmp_path: Path, pg_url: str, redis_url: str) -> None:
    app: FastAPI = make_app(make_settings(tmp_path, pg_url, redis_url))
    try:
        assert services_of(app) is app.state.container.security
    finally:
        app.state.container.close()


def test_a_job_opens_the_same_stores_as_the_app(tmp_path: Path, pg_url: str, redis_url: str) -> None:
    settings = make_settings(tmp_path, pg_url, redis_url)
    with engine_for(settings) as engine:
        assert engine.url.render_as_string(hide_password=False) == settings.database_url


def test_without_stores_only_the_face_service_is_there(tmp_path: Path) -> None:
    container = build_container(make_settings(tmp_path))
    assert (container.engine, container.redis, container.security, container.school) == (None,) * 4
    with TestClient(create_app(container), raise_server_exceptions=False) as client:
        answer = client.post("/v1/auth/login", json={"email": "a@b.org", "password": "x" * 12})
    assert answer.status_code == 503 and answer.json()["error"]["code"] == "database_unavailable"
