"""Malformed and unusual images over HTTP (in-process app, real models): each bad one is a 4xx with its
machine-readable code and the JSON error body, each good one is decoded and its real face found; never a 500.
The face routes and the kiosk check-in take uploads through the same decoder; both are asked."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.core.config import Settings
from app.services.biometrics.face_service import FaceService
from tests.domain.school.conftest import World
from tests.domain.school.test_api import Caller, app_client
from tests.malformed_images import CASES, Malformed, portrait

CORRUPT_MESSAGES = {"the image data is damaged or truncated", "the image header is damaged"}


@pytest.fixture
def client(
    settings: Settings, face_service: FaceService, pg_url: str, redis_url: str, world: World
) -> Iterator[TestClient]:
    caller = Caller()
    caller.principal = world.admin
    with app_client(
        settings, face_service, caller, database_url=pg_url, redis_url=redis_url, liveness_mode="off"
    ) as test_client:
        test_client.caller = caller  # type: ignore[attr-defined]
        yield test_client


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_detect_answers_each_case(case: Malformed, client: TestClient, faces_dir: Path) -> None:
    data = case.build(portrait(faces_dir))
    response = client.post("/v1/faces/detect", files={"image": ("upload.jpg", data, "image/jpeg")})
    assert response.status_code == case.status, response.text
    if case.decodes:
        assert len(response.json()["faces"]) == 1
    else:
        assert response.json()["error"]["code"] == case.code
        assert "Traceback" not in response.text
        if case.code == "corrupt":  # the image library's own words (decoder internals) stay in the log
            assert response.json()["error"]["message"] in CORRUPT_MESSAGES, response.text


@pytest.mark.parametrize("case", [c for c in CASES if not c.decodes], ids=lambda c: c.name)
def test_kiosk_check_in_refuses_each_bad_frame(
    case: Malformed, client: TestClient, world: World, faces_dir: Path
) -> None:
    world.lesson()
    client.caller.principal = world.kiosk  # type: ignore[attr-defined]
    data = case.build(portrait(faces_dir))
    response = client.post("/v1/checkins", files={"frame": ("frame.jpg", data, "image/jpeg")})
    assert response.status_code == case.status, response.text
    # An empty part is no frame at all to the check-in (liveness off takes one frame, on takes a burst).
    expected = "no_frame" if case.name == "zero_bytes" else case.code
    assert response.json()["error"]["code"] == expected
