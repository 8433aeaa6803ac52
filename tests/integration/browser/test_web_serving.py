"""The ingress serves the built web app at "/" beside the API, never in its way (no servers needed: the app
is built around a fake face service, and a small stand-in build in a temporary folder)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.api.web import APP_CSP
from app.core.config import Settings
from tests.domain.authkit import TEST_SECRETS, make_app


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    folder = tmp_path / "dist"
    (folder / "assets").mkdir(parents=True)
    (folder / "index.html").write_text("<!doctype html><div id=root></div>", encoding="utf-8")
    (folder / "assets" / "index-abc123.js").write_text("console.log(1)", encoding="utf-8")
    return folder


def client(tmp_path: Path, dist: Path) -> TestClient:
    settings = Settings(**TEST_SECRETS, data_dir=tmp_path / "data", web_dist_dir=dist)
    return TestClient(make_app(settings), raise_server_exceptions=False)


@pytest.mark.parametrize("path", ["/", "/kiosk", "/console/students/3f1c", "/console/lessons/x/y"])
def test_pages_and_client_routes_get_the_app_with_its_policy(tmp_path: Path, dist: Path, path: str) -> None:
    response = client(tmp_path, dist).get(path)
    assert response.status_code == 200
    assert "<div id=root>" in response.text
    assert response.headers["Content-Security-Policy"] == APP_CSP
    assert "media-src 'self' blob:" in APP_CSP and "connect-src 'self'" in APP_CSP
    assert response.headers["Permissions-Policy"].startswith("camera=(self)")
    assert response.headers["Cache-Control"] == "no-cache"  # a new build is seen at once
    assert response.headers["X-Frame-Options"] == "DENY"  # the API's protections still apply


def test_hashed_assets_are_cached_for_good_and_missing_files_are_404(tmp_path: Path, dist: Path) -> None:
    web = client(tmp_path, dist)
    asset = web.get("/assets/index-abc123.js")
    assert asset.status_code == 200
    assert "immutable" in asset.headers["Cache-Control"]
    missing = web.get("/assets/index-gone.js")  # a file name is never answered with the page
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/v1/nothing-here", 404),
        ("GET", "/v1/classes", 503),  # the API answers (no database here), not the app
        ("POST", "/ready", 405),
        ("PUT", "/v1/faces/detect", 405),
        ("GET", "/health/nothing", 404),
        ("GET", "/docs/nothing", 404),
    ],
)
def test_the_api_keeps_its_own_answers(
    tmp_path: Path, dist: Path, method: str, path: str, status: int
) -> None:
    response = client(tmp_path, dist).request(method, path)
    assert response.status_code == status
    assert "error" in response.json()


def test_openapi_is_unchanged_by_the_web_app(tmp_path: Path, dist: Path) -> None:
    with_app = client(tmp_path, dist).get("/openapi.json").json()["paths"]
    without = client(tmp_path, tmp_path / "not-built").get("/openapi.json").json()["paths"]
    assert with_app == without


def test_without_a_build_the_app_answers_a_clear_404(tmp_path: Path) -> None:
    response = client(tmp_path, tmp_path / "not-built").get("/kiosk")
    assert response.status_code == 404
    assert "npm run build" in response.json()["error"]["message"]


def test_writes_to_the_app_are_refused(tmp_path: Path, dist: Path) -> None:
    assert client(tmp_path, dist).post("/kiosk").status_code == 405
