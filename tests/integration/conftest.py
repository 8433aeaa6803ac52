"""Real servers for integration tests, all on 127.0.0.1: Milvus servers and (``serve_app``) Ray Serve."""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.core.config import Settings
from cluster.local.stack import Stores, admin_headers, local_stores
from cluster.local.stores import free_port
from tests.conftest import require
from tests.integration.milvus_server import LoopbackMilvus

#: Smaller than the production default so the oversize tests send little data.
TEST_MAX_UPLOAD_BYTES = 2 * 1024 * 1024


@pytest.fixture(scope="session")
def milvus_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoopbackMilvus]:
    """A Milvus standalone server from the `milvus` wheel with its own data dir, stopped with SIGTERM."""
    require(not os.environ.get("ROLLCALL_SKIP_MILVUS_SERVER"), "ROLLCALL_SKIP_MILVUS_SERVER is set")
    with LoopbackMilvus(tmp_path_factory.mktemp("milvus-server")) as server:
        yield server


@pytest.fixture
def lite_uri(tmp_path: Path) -> str:
    """A fresh Milvus Lite database (one process may open it; each test gets its own)."""
    return str(tmp_path / "gallery.db")


@dataclass
class ServeApp:
    """The running application: its URL, settings, the Milvus server behind it, and how to redeploy it."""

    base_url: str
    settings: Settings
    milvus: LoopbackMilvus
    first_request_s: float
    #: ``redeploy(deployment_overrides, settings_overrides=None)``: Settings changes restart the replicas.
    redeploy: Callable[..., Settings]
    #: Credentials of an admin of the app's school: every face route requires a role (app.api.security).
    headers: dict[str, str] = field(default_factory=dict)


@pytest.fixture(scope="session")
def serve_milvus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoopbackMilvus]:
    """The Serve app's own Milvus server: the "Milvus down" test stops it without touching other tests."""
    with LoopbackMilvus(tmp_path_factory.mktemp("serve-milvus")) as server:
        yield server


@pytest.fixture(scope="session")
def serve_app(
    tmp_path_factory: pytest.TempPathFactory, serve_milvus: LoopbackMilvus, serve_stores: Stores
) -> Iterator[ServeApp]:
    """Ray local on 127.0.0.1 running the app as serve_config.yaml describes it, HTTP on a free port."""
    from cluster.local.ray_head import start_local_ray

    state = tmp_path_factory.mktemp("serve")
    # One test Ray per machine at a time: two starting together on 2 cores miss Ray's fixed start-up window.
    # The lock is released when this process exits, whatever happens to the fixture.
    lock = Path(tempfile.gettempdir(), "rollcall-ray-tests.lock").open("w")  # noqa: SIM115
    fcntl.flock(lock, fcntl.LOCK_EX)
    # Logical CPUs above the 2 real ones: with Detector and Embedder autoscaled under a burst, a killed
    # replica (the fault tests) must still find room to be rescheduled (measured: Liveness waited > 90 s).
    start_local_ray(state / "ray-auth-token", object_store_bytes=150 * 1024 * 1024, num_cpus=6)
    import ray
    from ray import serve

    from app.core.config import ensure_dev_secrets
    from deployments.app import build_app_from_config

    ensure_dev_secrets(state / "data")  # as the local run makes them
    overrides = {
        "data_dir": str(state / "data"),
        "milvus_uri": serve_milvus.uri,
        "milvus_timeout_s": 5.0,
        "max_upload_bytes": TEST_MAX_UPLOAD_BYTES,
        # A whole burst no larger than two images, so the body limit the oversize tests probe stays small.
        "burst_max_frame_bytes": TEST_MAX_UPLOAD_BYTES // 8,
        "database_url": serve_stores.database_url,
        "redis_url": serve_stores.redis_url,
        "access_token_ttl_s": 3600,  # outlives the whole module
        # Single-frame check-ins (group photos, exact frames): the tests of the challenge flow switch
        # liveness on for their module (tests/integration/test_liveness_flow.py).
        "liveness_mode": "off",
    }

    def deploy(
        deployment_overrides: dict[str, dict[str, Any]], settings_overrides: dict[str, Any] | None = None
    ) -> Settings:
        """(Re)deploy with the file's options plus ``deployment_overrides``; waits until it is running."""
        spec = build_app_from_config(
            overrides={**overrides, **(settings_overrides or {})}, deployment_overrides=deployment_overrides
        )
        serve.run(spec.app, name=spec.name, route_prefix=spec.route_prefix)
        return spec.settings

    try:
        port = free_port()
        serve.start(http_options={"host": "127.0.0.1", "port": port})
        settings = deploy({})
        base_url = f"http://127.0.0.1:{port}"
        started = time.monotonic()
        with httpx.Client(base_url=base_url, timeout=120) as client:
            client.get("/ready").raise_for_status()  # every deployment and store answers
        elapsed = time.monotonic() - started
        yield ServeApp(base_url, settings, serve_milvus, elapsed, deploy, headers=admin_headers(settings))
    finally:
        with contextlib.suppress(Exception):
            serve.shutdown()
        ray.shutdown()
        lock.close()


@pytest.fixture(scope="session")
def serve_stores(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stores]:
    """PostgreSQL and Redis for the Serve app, from their pip packages on 127.0.0.1, schema migrated."""
    with local_stores(tmp_path_factory.mktemp("serve-stores")) as stores:
        yield stores
