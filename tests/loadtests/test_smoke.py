"""The load-test tooling without servers: the locustfile loads as locust loads it, the loopback guard, the
benchmark's arithmetic and the synthetic vectors it relies on for a meaningful recall."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from loadtests import cpu
from loadtests.bench import stage_means
from loadtests.hosts import RemoteHostError, check_host
from loadtests.vectors import clustered

ROOT = Path(__file__).resolve().parents[2]


def test_locust_loads_the_locustfile_and_lists_its_users() -> None:
    # In a child process: importing locust monkey-patches the standard library (gevent).
    listed = subprocess.run(
        [sys.executable, "-m", "locust", "-f", "loadtests/locustfile.py", "--list"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert {"KioskUser", "TeacherUser", "AdminUser"} <= set(listed.stdout.split())


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000", "http://localhost:1", "http://[::1]:8000"])
def test_loopback_hosts_pass(url: str) -> None:
    assert check_host(url) == url


@pytest.mark.parametrize("url", ["http://10.0.0.5:8000", "https://rollcall.example.org", "not a url"])
def test_other_hosts_need_an_explicit_yes(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ROLLCALL_LOADTEST_ALLOW_REMOTE", raising=False)
    with pytest.raises(RemoteHostError, match="--allow-remote"):
        check_host(url)
    assert check_host(url, allow_remote=True) == url


def test_stage_means_use_only_stages_that_grew() -> None:
    before = {"detect": (1.0, 10.0), "embed": (2.0, 10.0), "record": (5.0, 3.0)}
    after = {"detect": (1.5, 20.0), "embed": (2.0, 10.0), "record": (1.0, 1.0), "search": (0.3, 10.0)}
    # detect: 0.5 s over 10 calls; embed did not run; record went down (another replica's reading)
    assert stage_means(before, after) == {"detect": 50.0, "search": 30.0}


def test_synthetic_vectors_are_unit_length_and_clustered_like_faces() -> None:
    vectors = clustered(1000, np.random.default_rng(1), photos_per_identity=5)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    same = float(np.mean(np.sum(vectors[:200] * vectors[200:400], axis=1)))  # rows i and i+200: one identity
    other = float(np.mean(np.sum(vectors[:200] * vectors[1:201], axis=1)))
    assert 0.3 < same < 0.45 and abs(other) < 0.05


def test_the_baseline_app_answers_a_short_benchmark_run(tmp_path: Path) -> None:
    from loadtests.bench import bench_baseline
    from loadtests.faces import roster

    people = [p for p in roster(6) if len(p.photos) >= 2][:3]

    (run,) = bench_baseline(tmp_path, people, [2], 1.0)

    assert (run.system, run.workload) == ("face_recognition", "identify")
    assert run.requests > 0 and run.errors == 0


@pytest.mark.parametrize(
    ("command", "role"),
    [
        ("ray::ServeReplica:rollcall:Embedder.handle_request_with_rejection", "Embedder"),
        ("ray::ServeReplica:rollcall:Ingress", "Ingress"),
        ("ray::ProxyActor", "Serve proxy"),
        ("/venv/lib/python3.11/site-packages/ray/core/src/ray/raylet/raylet --port=0", "Ray control"),
        ("/venv/bin/milvus run standalone", "Milvus"),
        ("/usr/lib/postgresql/18/bin/postgres -D /tmp/pg", "PostgreSQL"),
        ("/venv/bin/python -m uvicorn loadtests.baseline_app:app --workers 2", cpu.BASELINE),
    ],
)
def test_processes_are_named_by_their_role(command: str, role: str) -> None:
    assert cpu.role_of(command) == role


@pytest.mark.skipif(not cpu.PROC.is_dir(), reason="/proc is Linux's")
def test_cpu_of_the_bench_tree_is_counted_per_request() -> None:
    before = cpu.snapshot()
    spin = "import time\nend = time.process_time() + 0.3\nwhile time.process_time() < end: pass\ninput()"
    busy = subprocess.Popen([sys.executable, "-c", spin], stdin=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # the child's 0.3 s of CPU, read while it is still alive
            after = cpu.snapshot()
            if after.get(busy.pid, ("", 0.0))[1] >= 0.3:
                break
            time.sleep(0.05)
    finally:
        busy.communicate(b"\n", timeout=30)
    spent = cpu.per_request(before, after, requests=3)
    # 0.3 s over 3 requests, counted from zero: the process started after the first snapshot
    assert spent[Path(sys.executable).name] >= 100
    assert cpu.per_request(before, after, requests=0) == {}
