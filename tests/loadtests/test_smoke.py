"""The load-test tooling without servers: the locustfile loads as locust loads it, the loopback guard, the
benchmark's arithmetic and the synthetic vectors it relies on for a meaningful recall."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

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
