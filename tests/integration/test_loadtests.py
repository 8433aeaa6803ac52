"""The load-test tooling against the real thing: the seed through the running Serve app's API with real faces,
a few seconds of headless locust against it (CSV and HTML written, no request failed), one short benchmark
run, and the vector benchmark on a tiny collection in a real Milvus server. No timing assertions."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from loadtests.bench import GALLERY, identify_call, measure
from loadtests.faces import roster
from loadtests.milvus_server import LoopbackMilvus
from loadtests.rush import run_locust
from loadtests.seed import Manifest, seed
from loadtests.vectors import run_vectors
from tests.integration.conftest import ServeApp

pytestmark = pytest.mark.integration


def test_seed_and_a_short_headless_locust_run(serve_app: ServeApp, tmp_path: Path) -> None:
    manifest_path = tmp_path / "manifest.json"
    seed(serve_app.base_url, serve_app.settings, 1, 1, 3, manifest_path).write(manifest_path)
    manifest = Manifest.read(manifest_path)
    (klass,) = manifest.schools[0].classes
    assert klass.kiosk_key and klass.students and set(manifest.live) == {"turn_left", "turn_right"}

    status = run_locust(serve_app.base_url, manifest_path, tmp_path, "12s", 6, 6.0, timeout_s=300)

    with (tmp_path / "rush_stats.csv").open(encoding="utf-8") as handle:
        rows = {row["Name"]: row for row in csv.DictReader(handle)}
    failures = (tmp_path / "rush_failures.csv").read_text(encoding="utf-8")
    assert status == 0, failures
    assert int(rows["Aggregated"]["Request Count"]) > 0
    assert any(name.startswith("checkin: ") for name in rows)
    assert (tmp_path / "rush.html").stat().st_size > 0


def test_a_short_identify_benchmark_run(serve_app: ServeApp) -> None:
    import httpx

    people = [p for p in roster(6) if len(p.photos) >= 2][:2]
    with httpx.Client(base_url=serve_app.base_url, headers=serve_app.headers, timeout=120) as client:
        for person in people:
            files = {"image": ("e.jpg", person.photos[0].read_bytes(), "image/jpeg")}
            client.post(f"/v1/galleries/{GALLERY}/faces", data={"label": person.name}, files=files)
    probes = [person.photos[1].read_bytes() for person in people]
    call = identify_call(f"/v1/galleries/{GALLERY}/identify", "image", probes)

    (run,) = measure("rollcall", "identify", "on", call, serve_app.base_url, serve_app.headers, [2], 1.0)

    assert run.requests > 0 and run.errors == 0
    assert run.p50_ms <= run.p95_ms <= run.p99_ms


def test_vector_benchmark_on_a_tiny_collection(milvus_server: LoopbackMilvus) -> None:
    (report,) = run_vectors(milvus_server.uri, milvus_server.pid, 2000, "hnsw", 4, 60, 4, 1)

    assert report.vectors >= 2000 and report.real_vectors > 0 and report.search == "ef=64"
    assert report.queries == 60 and report.milvus_rss_mib > 0
    assert report.recall_at_1 >= 0.9  # 500 vectors a school: the index finds the exact nearest
