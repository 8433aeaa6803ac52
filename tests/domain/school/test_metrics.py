"""``/metrics`` after real traffic: request counts and latency per route, time per pipeline stage, match
scores, check-in outcomes per kiosk (the unknown-face rate), in Prometheus' text format."""

from __future__ import annotations

import re

from fastapi import Request
from prometheus_client.parser import text_string_to_metric_families

from app.api.security import authenticate
from app.core.config import Settings
from app.services.biometrics.face_service import FaceService
from app.services.identity.principal import Principal
from tests.domain.school.conftest import World
from tests.domain.school.test_api import Caller, app_client
from tests.domain.school.test_log_leaks import liveness_off, school_flow


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(found: dict, name: str, **labels: str) -> float:
    return sum(v for (n, ls), v in found.items() if n == name and set(labels.items()) <= ls)


def test_metrics_after_a_school_flow(
    world: World,
    settings: Settings,
    face_service: FaceService,
    photos: dict[str, list[bytes]],
    pg_url: str,
    redis_url: str,
) -> None:
    caller = Caller()
    app_settings = settings.model_copy(
        update={"database_url": pg_url, "redis_url": redis_url, **liveness_off(settings)}
    )
    kiosk = str(world.kiosk.id)
    with app_client(app_settings, face_service, caller) as client:

        def authenticate_as_caller(request: Request) -> Principal:
            request.state.principal = caller()  # what the real authenticate does (the kiosk label needs it)
            return request.state.principal

        client.app.dependency_overrides[authenticate] = authenticate_as_caller
        before = samples(client.get("/metrics").text)
        school_flow(client, caller, world, photos)
        response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    after = samples(response.text)

    def grew(name: str, by: float = 1, **labels: str) -> None:
        change = value(after, name, **labels) - value(before, name, **labels)
        assert change >= by, (name, labels, change)

    grew("rollcall_http_requests_total", route="/v1/checkins", method="POST", status="200", by=2)
    grew("rollcall_http_requests_total", route="/v1/students/{student_id}", method="GET", status="403")
    grew("rollcall_http_request_duration_seconds_count", route="/v1/students/{student_id}/enrollment")
    for stage in ("detect", "embed", "search", "enroll"):
        grew("rollcall_stage_duration_seconds_count", stage=stage)
    grew("rollcall_checkin_faces_total", kiosk=kiosk, outcome="recorded")
    grew("rollcall_checkin_faces_total", kiosk=kiosk, outcome="unknown")
    grew("rollcall_match_score_count", mode="identify", by=1)
    assert value(after, "rollcall_match_score_bucket", mode="identify", le="1.0") >= 1
    # Raw paths (with ids) never become labels: only templates, or "unmatched".
    routes = {dict(ls).get("route") for (n, ls) in after if n == "rollcall_http_requests_total"}
    raw = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}|/\d+(/|$)")
    assert not [route for route in routes if raw.search(route or "")], routes
