"""The observability middleware and metrics facade without servers: request ids in and out, JSON log lines
bound to them, outcomes read from responses (failed sign-ins, liveness rejections per kiosk), route templates
as labels, and the mirror into Ray's metrics API."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import uuid
from collections.abc import Mapping

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY

from app.api.errors import install_error_handlers
from app.api.routes.health import install_observability
from app.core import metrics
from app.core.errors import InvalidInput, Unauthenticated
from app.core.logging import PROJECT_LOGGERS, configure_logging
from app.services.biometrics.ports import Timed
from app.services.identity.principal import Principal

KIOSK = Principal(kind="kiosk", id=uuid.uuid4(), school_id=uuid.uuid4(), room="R1")


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture
def logs() -> io.StringIO:
    buffer = io.StringIO()
    configure_logging("INFO", id_hash_key="k" * 40, stream=buffer)
    yield buffer
    for name in PROJECT_LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
        logger.setLevel(logging.NOTSET)


@pytest.fixture
def client() -> TestClient:
    app = FastAPI()
    install_error_handlers(app, 5)

    @app.post("/v1/auth/login")
    def login() -> None:
        raise Unauthenticated("wrong email or password", code="invalid_credentials")

    @app.post("/v1/checkins")
    def check_in(request: Request) -> None:
        request.state.principal = KIOSK
        raise InvalidInput("the liveness check failed", code="liveness_failed")

    @app.get("/v1/students/{student_id}")
    def student(student_id: str) -> dict[str, str]:
        logging.getLogger("app.test").info("read a student", extra={"student_id": student_id})
        return {"ok": "yes"}

    install_observability(app)
    return TestClient(app, raise_server_exceptions=False)


def test_request_ids_route_templates_and_json_logs(client: TestClient, logs: io.StringIO) -> None:
    student_id = str(uuid.uuid4())
    before = sample(
        "rollcall_http_requests_total", route="/v1/students/{student_id}", method="GET", status="200"
    )
    answer = client.get(f"/v1/students/{student_id}", headers={"X-Request-ID": "abc-123"})
    assert answer.headers["x-request-id"] == "abc-123"
    generated = client.get(f"/v1/students/{student_id}", headers={"X-Request-ID": "bad id with spaces"})
    assert len(generated.headers["x-request-id"]) == 32  # refused as given: a new one
    after = sample(
        "rollcall_http_requests_total", route="/v1/students/{student_id}", method="GET", status="200"
    )
    assert after - before == 2
    lines = [json.loads(line) for line in logs.getvalue().splitlines()]
    mine = [line for line in lines if line.get("request_id") == "abc-123"]
    assert {line["event"] for line in mine} == {"read a student", "request"}
    read = next(line for line in mine if line["event"] == "read a student")
    assert read["student_id"].startswith("student:") and student_id not in json.dumps(lines)
    access = next(line for line in mine if line["event"] == "request")
    assert access["route"] == "/v1/students/{student_id}" and access["status"] == 200
    assert {"timestamp", "level", "logger"} <= set(access)


def test_unmatched_routes_are_counted_under_one_label(client: TestClient) -> None:
    """Outcomes (failed sign-ins, liveness rejections) are the services' to record: tests/domain/
    test_outcome_metrics.py; the middleware counts what every request has."""
    assert client.get("/nowhere").status_code == 404
    assert sample("rollcall_http_requests_total", route="unmatched", method="GET", status="404") >= 1


def test_a_request_the_client_left_is_no_500(logs: io.StringIO) -> None:
    """A client that disconnects while its body is read, or whose request the server cancels (Serve's proxy
    does when the client goes): counted and logged as 499, never as a 500 or an error with a trace."""
    app = FastAPI()
    install_error_handlers(app, 5)

    @app.post("/v1/upload")
    async def upload(request: Request) -> None:
        await request.body()

    @app.get("/v1/slow")
    async def slow() -> None:
        raise asyncio.CancelledError

    install_observability(app)
    gone_before = sample("rollcall_http_requests_total", route="/v1/upload", method="POST", status="499")

    async def disconnected() -> dict[str, object]:
        return {"type": "http.disconnect"}

    sent: list[dict[str, object]] = []

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    async def call(method: str, path: str) -> None:
        scope = {"type": "http", "method": method, "path": path, "raw_path": path.encode(),
                 "headers": [], "query_string": b"", "scheme": "http", "server": ("127.0.0.1", 80),
                 "client": ("127.0.0.1", 1), "http_version": "1.1", "root_path": "", "app": app}  # fmt: skip
        await app(scope, disconnected, send)

    asyncio.run(call("POST", "/v1/upload"))
    with pytest.raises(asyncio.CancelledError):
        asyncio.run(call("GET", "/v1/slow"))
    assert (
        sample("rollcall_http_requests_total", route="/v1/upload", method="POST", status="499")
        == gone_before + 1
    )
    assert sample("rollcall_http_requests_total", route="/v1/slow", method="GET", status="499") >= 1
    assert sample("rollcall_http_requests_total", route="/v1/upload", method="POST", status="500") == 0
    assert sample("rollcall_http_requests_total", route="/v1/slow", method="GET", status="500") == 0
    lines = [json.loads(line) for line in logs.getvalue().splitlines()]
    assert not [line for line in lines if line["level"] in ("error", "critical")], lines
    assert {line["status"] for line in lines if line["event"] == "request"} == {499}


class ListBackend:
    """A backend that keeps what it was given: what a Serve replica's RayBackend would be handed."""

    def __init__(self) -> None:
        self.specs: dict[str, metrics.Spec] = {}
        self.recorded: list[tuple[str, str, float, dict[str, str]]] = []

    def recorder(self, spec: metrics.Spec) -> metrics.Recorder:
        self.specs[spec.name] = spec
        backend = self

        class Recorder:
            def inc(self, amount: float, labels: Mapping[str, str]) -> None:
                backend.recorded.append((spec.name, "inc", amount, dict(labels)))

            def observe(self, value: float, labels: Mapping[str, str]) -> None:
                backend.recorded.append((spec.name, "observe", value, dict(labels)))

            def set(self, value: float, labels: Mapping[str, str]) -> None:
                backend.recorded.append((spec.name, "set", value, dict(labels)))

        return Recorder()

    async def exposition(self) -> tuple[bytes, str]:
        return b"listed", "text/plain"


def test_one_backend_records_every_series_and_nothing_is_copied() -> None:
    """With a backend installed (Ray's, in a Serve replica) the series go there and only there: the
    prometheus-client registry does not move; uninstalled, recording goes back to it."""
    backend = ListBackend()
    before = sample("rollcall_failed_logins_total", reason="invalid_api_key")
    metrics.use_backend(backend)
    try:
        metrics.FAILED_LOGINS.labels("invalid_api_key").inc()
        metrics.NOTIFICATION_QUEUE.set(4)
        metrics.MATCH_SCORE.labels("verify").observe(0.61)
    finally:
        metrics.use_backend(None)
    assert backend.recorded == [
        ("rollcall_failed_logins", "inc", 1.0, {"reason": "invalid_api_key"}),
        ("rollcall_notification_queue", "set", 4.0, {}),
        ("rollcall_match_score", "observe", 0.61, {"mode": "verify"}),
    ]
    assert backend.specs["rollcall_match_score"].kind == "histogram"
    assert backend.specs["rollcall_match_score"].buckets == metrics.SCORE_BUCKETS
    assert sample("rollcall_failed_logins_total", reason="invalid_api_key") == before
    metrics.FAILED_LOGINS.labels("invalid_api_key").inc()  # uninstalled: prometheus-client again
    assert len(backend.recorded) == 3
    assert sample("rollcall_failed_logins_total", reason="invalid_api_key") == before + 1


@pytest.mark.anyio
async def test_timed_pipeline_times_stages_and_forwards_the_rest() -> None:
    class Pipeline:
        threshold = 0.4

        async def detect(self, image: object) -> list[int]:
            return [1]

    timed = Timed(Pipeline())
    before = sample("rollcall_stage_duration_seconds_count", stage="detect")
    assert await timed.detect(None) == [1]
    assert timed.threshold == 0.4
    assert sample("rollcall_stage_duration_seconds_count", stage="detect") - before == 1
