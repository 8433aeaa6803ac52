"""``/health`` and ``/ready`` against real PostgreSQL and Redis servers that the test stops and restarts."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from cluster.local.stores import EmbeddedPostgres, EmbeddedRedis
from tests.domain.authkit import make_app, make_settings


def test_ready_turns_503_when_a_dependency_stops_and_back(tmp_path: Path) -> None:
    with EmbeddedPostgres(tmp_path / "pg") as postgres, EmbeddedRedis(tmp_path / "redis") as redis_server:
        app = make_app(make_settings(tmp_path, postgres.url, redis_server.url))
        with TestClient(app) as client:
            ready = client.get("/ready")
            assert ready.status_code == 200, ready.text
            checks = ready.json()["checks"]
            assert ready.json()["status"] == "ready"
            assert {name: check["status"] for name, check in checks.items()} == {
                "postgres": "ok", "redis": "ok", "pipeline": "ok",
            }  # fmt: skip
            assert checks["postgres"]["latency_ms"] >= 0

            redis_server.stop()
            down = client.get("/ready")
            assert down.status_code == 503 and down.json()["status"] == "not_ready"
            assert down.json()["checks"]["redis"]["status"] == "unavailable"
            assert down.json()["checks"]["redis"]["error"]  # a class name, not an address
            assert "127.0.0.1" not in down.text
            assert down.json()["checks"]["postgres"]["status"] == "ok"
            assert int(down.headers["retry-after"]) > 0
            assert client.get("/health").json() == {"status": "ok"}  # liveness does not follow
            metrics = client.get("/metrics").text
            assert 'rollcall_dependency_up{dependency="redis"} 0.0' in metrics
            assert 'rollcall_dependency_up{dependency="postgres"} 1.0' in metrics

            redis_server.start()
            assert client.get("/ready").status_code == 200

            postgres.stop()
            down = client.get("/ready")
            assert down.status_code == 503
            assert down.json()["checks"]["postgres"]["status"] == "unavailable"
            assert client.get("/health").status_code == 200
            postgres.start()
            assert client.get("/ready").status_code == 200
        app.state.container.engine.dispose()


def test_ready_without_stores_reports_them_not_configured(tmp_path: Path) -> None:
    with TestClient(make_app(make_settings(tmp_path))) as client:
        ready = client.get("/ready")
    assert ready.status_code == 200
    assert ready.json()["checks"]["postgres"] == {
        "status": "not_configured",
        "latency_ms": None,
        "error": None,
    }


def test_metrics_token_guards_metrics(tmp_path: Path) -> None:
    with TestClient(make_app(make_settings(tmp_path, metrics_token="m" * 40))) as client:
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers={"Authorization": "Bearer nope"}).status_code == 401
        assert client.get("/metrics", headers={"Authorization": f"Bearer {'m' * 40}"}).status_code == 200
