"""``python -m loadtests.serve_bench``: throughput and latency of the Serve pipeline, batching on vs off.

Starts Ray on 127.0.0.1 with the application exactly as serve_config.yaml describes it (Milvus Lite in a
temporary directory), enrolls real LFW faces, then sends ``identify`` requests with real LFW photos at each
concurrency for a fixed time, once with the configured ``@serve.batch`` sizes and once with every batch size
forced to 1. Prints one table and, with ``--json``, one JSON line. Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Annotated, Any

import httpx
import numpy as np
import typer
import yaml
from rich.console import Console
from rich.table import Table

app = typer.Typer(add_completion=False)
GALLERY = "bench"
BATCHED = ("Detector", "Embedder")


@dataclass(frozen=True, slots=True)
class Run:
    batching: str
    concurrency: int
    requests: int
    errors: int
    throughput_rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float


def faces_root() -> Path:
    default = Path(__file__).resolve().parents[1].parent / "shared" / "faces"
    return Path(os.environ.get("ROLLCALL_FACES_DIR", default))


def lfw_people(root: Path, people: int) -> list[tuple[str, list[Path]]]:
    """People with at least two photos: the first is enrolled, the others are probes."""
    chosen = []
    for folder in sorted(p for p in (root / "lfw").iterdir() if p.is_dir()):
        photos = sorted(folder.glob("*.jpg"))
        if len(photos) >= 2:
            chosen.append((folder.name, photos))
        if len(chosen) == people:
            break
    return chosen


async def load(
    base_url: str, headers: dict[str, str], probes: list[bytes], concurrency: int, seconds: float, label: str
) -> Run:
    latencies: list[float] = []
    errors = 0
    deadline = time.monotonic() + seconds

    async def worker(offset: int, client: httpx.AsyncClient) -> None:
        nonlocal errors
        i = offset
        while time.monotonic() < deadline:
            body = probes[i % len(probes)]
            i += concurrency
            started = time.perf_counter()
            response = await client.post(
                f"/v1/galleries/{GALLERY}/identify", files={"image": ("probe.jpg", body, "image/jpeg")}
            )
            latencies.append((time.perf_counter() - started) * 1000)
            errors += response.status_code != 200

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=60, limits=limits) as client:
        started = time.monotonic()
        await asyncio.gather(*(worker(n, client) for n in range(concurrency)))
        elapsed = time.monotonic() - started
    values = np.array(latencies)
    return Run(
        label,
        concurrency,
        len(latencies),
        errors,
        round(len(latencies) / elapsed, 1),
        *(round(float(np.percentile(values, q)), 1) for q in (50, 95, 99)),
    )


def unbatched() -> dict[str, dict[str, Any]]:
    """The configured user_config of each batched deployment with ``max_batch_size`` forced to 1."""
    from deployments.app import DEFAULT_CONFIG

    config = yaml.safe_load(DEFAULT_CONFIG.read_text(encoding="utf-8"))
    entries = {d["name"]: d for d in config["applications"][0]["deployments"]}
    return {name: {"user_config": {**entries[name]["user_config"], "max_batch_size": 1}} for name in BATCHED}


@app.command()
def main(
    concurrency: Annotated[list[int], typer.Option(help="concurrency levels")] = [1, 4, 16],  # noqa: B006
    seconds: Annotated[float, typer.Option(help="duration of each run")] = 20.0,
    people: Annotated[int, typer.Option(help="LFW people enrolled")] = 50,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    from deployments.local_stack import local_stores

    state = Path(tempfile.mkdtemp(prefix="rollcall-bench-"))
    with local_stores(state / "stores") as stores:
        runs = _bench(state, stores.database_url, stores.redis_url, concurrency, seconds, people)
    _report(runs, as_json)


def _bench(
    state: Path, database_url: str, redis_url: str, concurrency: list[int], seconds: float, people: int
) -> list[Run]:
    from deployments.local_ray import start_local_ray
    from deployments.local_services import free_port
    from deployments.local_stack import admin_headers

    start_local_ray(state / "ray-auth-token")
    from ray import serve

    from deployments.app import build_app_from_config

    port = free_port()
    serve.start(http_options={"host": "127.0.0.1", "port": port})
    base_url = f"http://127.0.0.1:{port}"
    roster = lfw_people(faces_root(), people)
    probes = [photo.read_bytes() for _, photos in roster for photo in photos[1:4]]
    runs: list[Run] = []

    settings_overrides = {
        "data_dir": str(state / "data"),
        "database_url": database_url,
        "redis_url": redis_url,
        "user_rate_limit": "1000000/minute",  # measure the pipeline, not the per-user limiter (600/minute)
    }

    def deploy(overrides: dict[str, dict[str, Any]]) -> Any:
        spec = build_app_from_config(overrides=settings_overrides, deployment_overrides=overrides)
        serve.run(spec.app, name=spec.name, route_prefix=spec.route_prefix)
        return spec.settings

    try:
        headers = admin_headers(deploy({}), school="Benchmark School")
        with httpx.Client(base_url=base_url, headers=headers, timeout=120) as client:
            for name, photos in roster:
                enrolled = client.post(
                    f"/v1/galleries/{GALLERY}/faces",
                    data={"label": name},
                    files={"image": ("e.jpg", photos[0].read_bytes(), "image/jpeg")},
                )
                if enrolled.status_code not in (200, 201, 422):  # 422: no usable face in that photo
                    raise RuntimeError(f"enrolling {name} failed: {enrolled.status_code} {enrolled.text}")
        for label, overrides in (("on", {}), ("off", unbatched())):
            deploy(overrides)
            asyncio.run(load(base_url, headers, probes[:8], 2, 3.0, "warm-up"))
            runs.extend(asyncio.run(load(base_url, headers, probes, c, seconds, label)) for c in concurrency)
    finally:
        serve.shutdown()
    return runs


def _report(runs: list[Run], as_json: bool) -> None:
    table = Table(title="Serve pipeline: identify (LFW 250x250), fast profile")
    for column in Run.__dataclass_fields__:
        table.add_column(column)
    for run in runs:
        table.add_row(*(str(v) for v in asdict(run).values()))
    Console().print(table)
    if as_json:
        print(json.dumps([asdict(run) for run in runs]))


if __name__ == "__main__":
    app()
