"""Observability through the real Serve application: /health and /ready, /metrics after traffic (Ray's export
of the node: the Ingress's request and stage series, the model deployments' and the Notifier's, each once),
and one request id followed through every deployment's Serve log."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.conftest import ServeApp

pytestmark = pytest.mark.integration
OBAMA = Path("libs/face_recognition/tests/test_images/obama.jpg")


@pytest.fixture(scope="module")
def client(serve_app: ServeApp) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=serve_app.base_url, timeout=60, headers=serve_app.headers) as http:
        yield http


def test_health_ready_and_metrics_after_traffic(client: httpx.Client, faces_dir: Path) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    ready = client.get("/ready")
    assert ready.status_code == 200, ready.text
    assert all(check["status"] == "ok" for check in ready.json()["checks"].values()), ready.json()
    request_id = f"obs-{uuid.uuid4().hex}"
    image = {"image": ("o.jpg", (faces_dir / OBAMA).read_bytes(), "image/jpeg")}
    detected = client.post("/v1/faces/detect", files=image, headers={"X-Request-ID": request_id})
    assert detected.status_code == 200, detected.text
    assert detected.headers["x-request-id"] == request_id
    gallery = f"obs-{uuid.uuid4().hex[:8]}"
    enrolled = client.post(f"/v1/galleries/{gallery}/faces", files=image, data={"label": "o"})
    assert enrolled.status_code in (200, 201), enrolled.text
    identified = client.post(
        f"/v1/galleries/{gallery}/identify", files=image, headers={"X-Request-ID": request_id}
    )
    assert identified.status_code == 200, identified.text

    # /metrics under Serve is Ray's export of the node: every replica's series, with Ray's prefix, some
    # seconds after they were recorded (Ray's report interval).
    names: set[str] = set()
    stages: set[str] = set()
    routes: set[str] = set()
    model_stages: set[str] = set()
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        answer = client.get("/metrics")
        assert answer.status_code == 200, answer.text
        for family in text_string_to_metric_families(answer.text):
            for sample in family.samples:
                names.add(sample.name)
                if sample.name == "ray_rollcall_stage_duration_seconds_count":
                    stages.add(sample.labels["stage"])
                if sample.name == "ray_rollcall_http_requests_total":
                    routes.add(sample.labels["route"])
                if sample.name == "ray_rollcall_batch_size_count":
                    model_stages.add(sample.labels["stage"])
        # Each replica reports on its own interval: the Ingress' series can arrive before the models'.
        ingress = {"detect", "embed", "search", "enroll"} <= stages and "/v1/faces/detect" in routes
        if ingress and model_stages:
            break
        time.sleep(2)
    assert {"ray_rollcall_http_requests_total", "ray_rollcall_http_request_duration_seconds_bucket"} <= names
    assert {"detect", "embed", "search", "enroll"} <= stages, stages
    assert {"/v1/faces/detect", "/v1/galleries/{gallery}/identify", "/ready"} <= routes, routes
    assert model_stages, "the model deployments' own series are in the same export"
    assert "ray_rollcall_notification_queue" in names, "the Notifier records through Ray too"
    assert not any(name.startswith("rollcall_") for name in names), "nothing is recorded twice"


def test_one_request_id_through_every_deployment(client: httpx.Client, faces_dir: Path) -> None:
    """Serve propagates the Ingress's request id (X-Request-ID) through handle calls: each deployment's
    replica log names it."""
    import ray

    request_id = f"trace-{uuid.uuid4().hex}"
    gallery = f"trace-{uuid.uuid4().hex[:8]}"
    image = {"image": ("o.jpg", (faces_dir / OBAMA).read_bytes(), "image/jpeg")}
    answer = client.post(
        f"/v1/galleries/{gallery}/identify", files=image, headers={"X-Request-ID": request_id}
    )
    assert answer.status_code == 200, answer.text
    logs = Path(ray._private.worker._global_node.get_logs_dir_path()) / "serve"
    deadline = time.monotonic() + 20
    seen: set[str] = set()
    while time.monotonic() < deadline and not {"Ingress", "Detector", "Embedder", "Matcher"} <= seen:
        for path in logs.glob("replica_*.log"):
            if request_id in path.read_text(encoding="utf-8", errors="replace"):
                seen.add(path.name.split("_")[2])
        time.sleep(0.5)
    assert {"Ingress", "Detector", "Embedder", "Matcher"} <= seen, (
        seen,
        sorted(p.name for p in logs.glob("*")),
    )
