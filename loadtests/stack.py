"""A throwaway Rollcall on this machine for the load tests and the benchmark: PostgreSQL and Redis from their
pip packages, a Milvus server (or Milvus Lite), Ray on 127.0.0.1 running the application exactly as
serve_config.yaml describes it, HTTP on a free loopback port. The same set-up as the integration tests
(``cluster.local.stack``), so what is measured is what is tested."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import httpx

from app.core.config import Settings

Milvus = Literal["server", "lite"]


@dataclass(frozen=True)
class LocalRollcall:
    base_url: str
    settings: Settings
    #: Redeploy with serve_config.yaml's options plus these per-deployment ones; returns the settings.
    redeploy: Callable[[dict[str, dict[str, Any]]], Settings]


@contextlib.contextmanager
def local_rollcall(state: Path, milvus: Milvus = "server", **overrides: Any) -> Iterator[LocalRollcall]:
    """Everything under ``state``; ``overrides`` are Settings fields (on top of the stores' URLs)."""
    from app.core.config import ensure_dev_secrets
    from cluster.local.ray_head import start_local_ray
    from cluster.local.stack import local_stores
    from cluster.local.stores import free_port
    from loadtests.milvus_server import LoopbackMilvus

    ensure_dev_secrets(state / "data")  # as the local run makes them: settings only read secrets
    with contextlib.ExitStack() as stack:
        stores = stack.enter_context(local_stores(state / "stores"))
        if milvus == "server":
            uri = stack.enter_context(LoopbackMilvus(state / "milvus")).uri
        else:
            uri = str(state / "data" / "gallery.db")
        start_local_ray(state / "ray-auth-token")
        import ray
        from ray import serve

        from deployments.app import build_app_from_config

        stack.callback(ray.shutdown)
        stack.callback(serve.shutdown)
        settings_overrides = {
            "data_dir": str(state / "data"),
            "database_url": stores.database_url,
            "redis_url": stores.redis_url,
            "milvus_uri": uri,
            **overrides,
        }

        def deploy(deployment_overrides: dict[str, dict[str, Any]]) -> Settings:
            spec = build_app_from_config(
                overrides=settings_overrides, deployment_overrides=deployment_overrides
            )
            serve.run(spec.app, name=spec.name, route_prefix=spec.route_prefix)
            return spec.settings

        port = free_port()
        serve.start(http_options={"host": "127.0.0.1", "port": port})
        settings = deploy({})
        base_url = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base_url, timeout=120) as client:
            client.get("/health").raise_for_status()
        yield LocalRollcall(base_url, settings, deploy)
