"""The benchmark's one command, end to end, as its docs give it (a whole throwaway Rollcall of its own:
stores, Milvus server, Ray Serve), shortened: it answers, measures without errors, and leaves no server
behind. No timing assertions (the figures are the benchmark's to report, docs/BENCHMARKS.md)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT
from tests.processes import processes_naming

pytestmark = pytest.mark.integration


def test_the_bench_runs_in_one_command_and_leaves_nothing_behind() -> None:
    before = processes_naming("rollcall-bench-")
    done = subprocess.run(
        [
            sys.executable, "-m", "loadtests.bench", "--seconds", "2", "--concurrency", "2", "--people", "3",
            "--workload", "identify", "--no-batching-off", "--no-baseline", "--liveness", "off", "--json",
        ],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    (line,) = [line for line in done.stdout.splitlines() if line.startswith('{"runs"')]
    runs = json.loads(line)["runs"]
    rollcall = [run for run in runs if run["system"] == "rollcall"]
    assert rollcall and all(run["requests"] > 0 and run["errors"] == 0 for run in rollcall), rollcall
    assert processes_naming("rollcall-bench-") == before, "the bench left servers running"
