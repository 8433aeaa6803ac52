"""``python -m loadtests.bench``: Rollcall's Serve pipeline against the peer baseline, side by side.

In one process tree on this machine, one system at a time (so neither steals the other's cores):

1. Rollcall as serve_config.yaml describes it (``loadtests.stack``: Ray Serve on 127.0.0.1, PostgreSQL, Redis,
   a Milvus server), seeded through its API (``loadtests.seed``), measured on
   - ``identify``: ``POST /v1/galleries/{g}/identify`` with one real LFW photo (detect, align, embed, search);
     the same work as the baseline, so the ratio compares like with like; with Serve batching on, then off
     (``max_batch_size`` 1 on the Detector and the Embedder);
   - ``checkin``: the kiosk path, ``POST /v1/checkins``. With liveness on (the default) each check-in is
     preceded by its challenge and sends a real burst of a clip person turning the asked way (the seed
     enrolls them); the latency is the check-in request's, the throughput counts whole check-ins.
2. The baseline: face_recognition (dlib) as a plain FastAPI app (``loadtests.baseline_app``) under uvicorn
   with one worker per core, identifying the same photos against the same people.

Each (system, workload, concurrency) runs for ``--seconds`` after a warm-up: throughput, p50/p95/p99 latency,
errors, and the ratio Rollcall / baseline at each concurrency. Where time goes: the Ingress' own per-stage
histograms (``rollcall_stage_duration_seconds`` on ``/metrics``, wall time), read before and after each run,
and the CPU each process of the bench's tree spent per request (``loadtests.cpu``), split into the models'
share (the same inputs through the same model code in this process, ``loadtests.model_cpu``, plus Milvus)
and serving's (everything else). ``--mode default --mode throughput`` measures Rollcall under Ray Serve's
default and its throughput-optimized mode (``RAY_SERVE_THROUGHPUT_OPTIMIZED``), each in a child bench of its
own (Ray reads the setting once per process), as rows of their own. Prints
tables; ``--json`` adds one JSON document, ``--plot`` writes a latency-vs-concurrency PNG. Nothing leaves
127.0.0.1.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import httpx
import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from deployments.serve_file import user_config
from loadtests import cpu
from loadtests.faces import Person, roster
from loadtests.model_cpu import ModelWork, cpu_ms_per_call

app = typer.Typer(add_completion=False)
console = Console(stderr=True, soft_wrap=True)
GALLERY = "bench"
BATCHED = ("Detector", "Embedder")
STAGE_METRIC = "rollcall_stage_duration_seconds"
WORKLOADS = ["identify", "checkin"]
#: Ray Serve's modes and the value of RAY_SERVE_THROUGHPUT_OPTIMIZED each stands for.
MODES = {"default": "0", "throughput": "1"}
MODE_ENV = "RAY_SERVE_THROUGHPUT_OPTIMIZED"

#: One request of a workload: returns the status code of the request whose latency counts, and that latency.
Call = Callable[[httpx.AsyncClient, int], Awaitable[tuple[int, float]]]


@dataclass(frozen=True, slots=True)
class Run:
    system: str
    workload: str
    batching: str
    concurrency: int
    requests: int
    errors: int
    throughput_rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    #: Mean milliseconds per call of each pipeline stage during this run (the Ingress' own histograms).
    stages_ms: dict[str, float] = field(default_factory=dict)
    #: CPU milliseconds per request of each process role during this run (``loadtests.cpu``).
    cpu_ms: dict[str, float] = field(default_factory=dict)
    #: Ray Serve's mode (``MODES``); empty for the baseline.
    mode: str = ""
    #: CPU ms the models' own work costs per request of this workload (``loadtests.model_cpu``).
    model_cpu_ms: float | None = None

    def split(self) -> tuple[float, float] | None:
        """(models, serving) CPU ms per request: the models' own work plus Milvus, and everything else of
        the tree but the bench's client."""
        if self.model_cpu_ms is None or not self.cpu_ms:
            return None
        models = self.model_cpu_ms + self.cpu_ms.get("Milvus", 0.0)
        served = sum(ms for role, ms in self.cpu_ms.items() if role != cpu.CLIENT)
        return round(models, 1), round(max(served - models, 0.0), 1)


async def load(call: Call, base_url: str, headers: dict[str, str], concurrency: int, seconds: float) -> Run:
    """``concurrency`` closed-loop workers calling ``call`` for ``seconds``."""
    latencies: list[float] = []
    errors = 0
    deadline = time.monotonic() + seconds

    async def worker(offset: int, client: httpx.AsyncClient) -> None:
        nonlocal errors
        i = offset
        while time.monotonic() < deadline:
            status, ms = await call(client, i)
            i += concurrency
            latencies.append(ms)
            errors += not 200 <= status < 300

    limits = httpx.Limits(max_connections=concurrency * 2, max_keepalive_connections=concurrency * 2)
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=120, limits=limits) as client:
        started = time.monotonic()
        await asyncio.gather(*(worker(n, client) for n in range(concurrency)))
        elapsed = time.monotonic() - started
    values = np.array(latencies)
    p50, p95, p99 = (round(float(np.percentile(values, q)), 1) for q in (50, 95, 99))
    return Run(
        "", "", "", concurrency, len(latencies), errors, round(len(latencies) / elapsed, 1), p50, p95, p99
    )


async def _timed(request: Awaitable[httpx.Response]) -> tuple[int, float]:
    started = time.perf_counter()
    response = await request
    return response.status_code, (time.perf_counter() - started) * 1000


def identify_call(path: str, field_name: str, probes: list[bytes]) -> Call:
    async def call(client: httpx.AsyncClient, i: int) -> tuple[int, float]:
        files = {field_name: ("probe.jpg", probes[i % len(probes)], "image/jpeg")}
        return await _timed(client.post(path, files=files))

    return call


def checkin_call(live: dict[str, list[bytes]] | None, stills: list[bytes]) -> Call:
    """A kiosk check-in: with ``live`` bursts (liveness on) a challenge first, then the burst it asks for."""

    async def call(client: httpx.AsyncClient, i: int) -> tuple[int, float]:
        if live is None:
            files = [("frame", ("f.jpg", stills[i % len(stills)], "image/jpeg"))]
            return await _timed(client.post("/v1/checkins", files=files))
        challenge = await client.post("/v1/checkins/challenge", json={})
        if challenge.status_code != 201:
            return challenge.status_code, 0.0
        issued = challenge.json()
        frames = burst_frames(live[issued["action"]], issued["frames"]["default"])
        files = [("frames", (f"{k}.jpg", data, "image/jpeg")) for k, data in enumerate(frames)]
        return await _timed(client.post("/v1/checkins", data={"nonce": issued["nonce"]}, files=files))

    return call


def burst_frames(clip: list[bytes], count: int) -> list[bytes]:
    """``count`` frames spread evenly over a clip's (the kiosk's default burst)."""
    return [clip[round(k * (len(clip) - 1) / max(count - 1, 1))] for k in range(count)]


def stage_totals(base_url: str) -> dict[str, tuple[float, float]]:
    """``stage -> (seconds, calls)`` so far, from the Ingress' /metrics (empty when it has none). Under Serve
    that is Ray's export of the node (every Ingress replica, ``ray_`` prefix), which lags the calls by Ray's
    report interval: the window of a reading shifts by a few seconds, and a mean per call stays a mean of
    real calls."""
    from prometheus_client.parser import text_string_to_metric_families

    with contextlib.suppress(httpx.HTTPError):
        response = httpx.get(f"{base_url}/metrics", timeout=10)
        if response.status_code == 200:
            totals: dict[str, list[float]] = {}
            for family in text_string_to_metric_families(response.text):
                if family.name not in (STAGE_METRIC, f"ray_{STAGE_METRIC}"):
                    continue
                for sample in family.samples:
                    stage = sample.labels.get("stage", "")
                    if sample.name.endswith("_sum"):
                        totals.setdefault(stage, [0.0, 0.0])[0] += sample.value
                    elif sample.name.endswith("_count"):
                        totals.setdefault(stage, [0.0, 0.0])[1] += sample.value
            return {stage: (s, c) for stage, (s, c) in totals.items()}
    return {}


def stage_means(
    before: dict[str, tuple[float, float]], after: dict[str, tuple[float, float]]
) -> dict[str, float]:
    """Mean ms per call of each stage between two readings (stages whose count did not grow are left out:
    a reading from another Ingress replica, or a stage this workload does not use)."""
    means = {}
    for stage, (seconds, calls) in after.items():
        s0, c0 = before.get(stage, (0.0, 0.0))
        if calls > c0 and seconds >= s0:
            means[stage] = round((seconds - s0) / (calls - c0) * 1000, 1)
    return means


def unbatched() -> dict[str, dict[str, Any]]:
    """The configured user_config of each batched deployment with ``max_batch_size`` forced to 1."""
    return {name: {"user_config": {**user_config(name), "max_batch_size": 1}} for name in BATCHED}


def measure(
    system: str,
    workload: str,
    batching: str,
    call: Call,
    base_url: str,
    headers: dict[str, str],
    concurrency: list[int],
    seconds: float,
    model_cpu_ms: float | None = None,
) -> list[Run]:
    asyncio.run(load(call, base_url, headers, 2, min(5.0, seconds)))  # warm-up: replicas, caches, pools
    runs = []
    for c in concurrency:
        before, cpu_before = stage_totals(base_url), cpu.snapshot()
        run = asyncio.run(load(call, base_url, headers, c, seconds))
        cpu_ms = cpu.per_request(cpu_before, cpu.snapshot(), run.requests)
        stages = stage_means(before, stage_totals(base_url))
        runs.append(
            Run(
                **{
                    **asdict(run),
                    "system": system,
                    "workload": workload,
                    "batching": batching,
                    "stages_ms": stages,
                    "cpu_ms": cpu_ms,
                    "mode": "throughput" if os.environ.get(MODE_ENV, "1") == "1" else "default",
                    "model_cpu_ms": model_cpu_ms,
                }
            )
        )
        console.print(
            f"{system} {workload} batching={batching} c={c}: {run.throughput_rps} rps, p50 {run.p50_ms} ms"
        )
    return runs


def bench_rollcall(
    state: Path,
    people: list[Person],
    liveness: str,
    milvus: Literal["server", "lite"],
    concurrency: list[int],
    seconds: float,
    workloads: list[str],
    batching_off: bool,
) -> list[Run]:
    from loadtests.seed import seed
    from loadtests.stack import local_rollcall

    # Measure the pipeline, not the limiters: per user, per kiosk, and the failed-match monitor (each probe
    # that matches nobody counts against its kiosk, and a bench sends thousands from one kiosk).
    unlimited = "1000000/minute"
    with local_rollcall(
        state,
        milvus,
        liveness_mode=liveness,
        user_rate_limit=unlimited,
        kiosk_rate_limit=unlimited,
        kiosk_failed_match_limit=unlimited,
        access_token_ttl_s=3600,
    ) as rollcall:
        manifest = seed(rollcall.base_url, rollcall.settings, 1, 1, 10, state / "manifest.json")
        school = manifest.schools[0]
        admin = {"Authorization": f"Bearer {school.admin_token}"}
        with httpx.Client(base_url=rollcall.base_url, headers=admin, timeout=120) as client:
            for person in people:
                files = {"image": ("e.jpg", person.photos[0].read_bytes(), "image/jpeg")}
                enrolled = client.post(
                    f"/v1/galleries/{GALLERY}/faces", data={"label": person.name}, files=files
                )
                if enrolled.status_code not in (201, 422):  # 422: no usable face in that photo
                    raise RuntimeError(f"enrolling {person.name}: {enrolled.status_code} {enrolled.text}")
        probes = [photo.read_bytes() for person in people for photo in person.photos[1:4]]
        identify = identify_call(f"/v1/galleries/{GALLERY}/identify", "image", probes)
        kiosk = {"X-API-Key": school.classes[0].kiosk_key}
        live = {a: [Path(p).read_bytes() for p in paths] for a, paths in manifest.live.items()}
        stills = [(Path(manifest.faces_dir) / p[0]).read_bytes() for _, p in school.classes[0].students]
        checkin = checkin_call(live if liveness == "challenge" else None, stills)
        work = ModelWork(user_config("Detector"), rollcall.settings.model_cache)
        models_identify = cpu_ms_per_call([lambda p=p: work.identify(p) for p in probes[:12]])
        if liveness == "challenge":
            default = rollcall.settings.burst_default_frames
            bursts = [(a, burst_frames(clip, default)) for a, clip in live.items()]
            models_checkin = cpu_ms_per_call([lambda a=a, f=f: work.burst(a, f) for a, f in bursts], 2)
        else:
            models_checkin = cpu_ms_per_call([lambda p=p: work.identify(p) for p in stills[:12]])

        base, runs = rollcall.base_url, []
        if "identify" in workloads:
            runs += measure(
                "rollcall", "identify", "on", identify, base, admin, concurrency, seconds, models_identify
            )
        if "checkin" in workloads:
            runs += measure(
                "rollcall", "checkin", "on", checkin, base, kiosk, concurrency, seconds, models_checkin
            )
        if batching_off and "identify" in workloads:
            rollcall.redeploy(unbatched())
            runs += measure(
                "rollcall", "identify", "off", identify, base, admin, concurrency, seconds, models_identify
            )
    return runs


@contextlib.contextmanager
def baseline_server(gallery: Path, workers: int) -> Iterator[str]:
    """uvicorn serving ``loadtests.baseline_app`` on a free loopback port, stopped (SIGTERM) on exit."""
    from cluster.local.stores import free_port

    port = free_port()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "loadtests.baseline_app:app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        "warning",
    ]
    env = {**os.environ, "ROLLCALL_BASELINE_GALLERY": str(gallery)}
    process = subprocess.Popen(command, env=env)  # noqa: S603 - our own argv
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"the baseline app exited with {process.returncode}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            time.sleep(0.5)
        else:
            raise TimeoutError("the baseline app did not start within 120 s")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def bench_baseline(state: Path, people: list[Person], concurrency: list[int], seconds: float) -> list[Run]:
    from loadtests.baseline_app import build_gallery

    gallery = build_gallery([(p.name, p.photos[0]) for p in people], state / "baseline-gallery.npz")
    probes = [photo.read_bytes() for person in people for photo in person.photos[1:4]]
    call = identify_call("/identify", "image", probes)
    with baseline_server(gallery, workers=os.cpu_count() or 1) as url:
        return measure("face_recognition", "identify", "-", call, url, {}, concurrency, seconds)


def ratios(runs: list[Run]) -> dict[int, float]:
    """Rollcall identify (batching on) / baseline identify throughput, per concurrency."""
    ours = {
        r.concurrency: r.throughput_rps
        for r in runs
        if (r.system, r.workload, r.batching) == ("rollcall", "identify", "on")
    }
    theirs = {r.concurrency: r.throughput_rps for r in runs if r.system == "face_recognition"}
    return {c: round(ours[c] / theirs[c], 2) for c in ours if theirs.get(c)}


def plot(runs: list[Run], path: Path, title: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    series: dict[str, list[Run]] = {}
    for run in runs:
        suffix = f" (batching {run.batching})" if run.batching != "-" else ""
        series.setdefault(f"{run.system} {run.workload}{suffix}", []).append(run)
    levels = sorted({r.concurrency for r in runs})
    for label, points in series.items():
        xs = [r.concurrency for r in points]
        (line,) = left.plot(xs, [r.p50_ms for r in points], marker="o", label=f"{label} p50")
        colour = line.get_color()
        left.plot(
            xs, [r.p99_ms for r in points], marker="x", linestyle="--", color=colour, label=f"{label} p99"
        )
        right.plot(xs, [r.throughput_rps for r in points], marker="o", color=colour, label=label)
    for axis, ylabel in ((left, "latency (ms, log)"), (right, "throughput (requests/s)")):
        axis.set_xscale("log", base=2)
        axis.set_xticks(levels, labels=[str(c) for c in levels])
        axis.set_xlabel("concurrency (closed-loop clients)")
        axis.set_ylabel(ylabel)
        axis.grid(True, alpha=0.3)
    left.set_yscale("log")
    left.legend(fontsize=6)
    right.legend(fontsize=7)
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    return path


@app.command()
def main(
    concurrency: Annotated[list[int], typer.Option(help="concurrency levels")] = [1, 4, 16],  # noqa: B006
    seconds: Annotated[float, typer.Option(help="duration of each run")] = 20.0,
    people: Annotated[int, typer.Option(help="LFW people enrolled for identify")] = 50,
    liveness: Annotated[
        Literal["challenge", "off"], typer.Option(help="the server's liveness_mode")
    ] = "challenge",
    milvus: Annotated[
        Literal["server", "lite"], typer.Option(help="Milvus server or Milvus Lite")
    ] = "server",
    workload: Annotated[list[str], typer.Option(help="identify and/or checkin (repeat)")] = WORKLOADS,
    batching_off: Annotated[bool, typer.Option(help="also identify with Serve batching off")] = True,
    mode: Annotated[
        list[str], typer.Option(help="Ray Serve mode(s) to measure Rollcall in: default, throughput (repeat)")
    ] = ["throughput"],  # noqa: B006
    baseline: Annotated[bool, typer.Option(help="also measure the face_recognition baseline")] = True,
    plot_to: Annotated[
        Path | None, typer.Option("--plot", help="write a latency/throughput PNG here")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    unknown = [m for m in mode if m not in MODES]
    if unknown:
        raise typer.BadParameter(f"unknown mode {unknown[0]!r}; known: {', '.join(MODES)}")
    roster_people = [p for p in roster(people * 2) if len(p.photos) >= 2][:people]
    with tempfile.TemporaryDirectory(prefix="rollcall-bench-") as state:
        if len(mode) == 1:
            os.environ[MODE_ENV] = MODES[mode[0]]  # Ray is not imported yet: it reads this when it is
            runs = bench_rollcall(
                Path(state) / "rollcall",
                roster_people,
                liveness,
                milvus,
                concurrency,
                seconds,
                workload,
                batching_off,
            )
        else:
            forwarded = [f"--concurrency={c}" for c in concurrency] + [f"--workload={w}" for w in workload]
            forwarded += [f"--seconds={seconds}", f"--people={people}", f"--liveness={liveness}"]
            forwarded += [f"--milvus={milvus}", "--batching-off" if batching_off else "--no-batching-off"]
            runs = [run for m in mode for run in _child_bench(m, forwarded, Path(state))]
        if baseline:
            runs += bench_baseline(Path(state), roster_people, concurrency, seconds)
    report(runs, as_json)
    if plot_to is not None:
        title = (
            f"Rollcall (Serve, fast profile, liveness {liveness}) vs face_recognition, {os.cpu_count()} cores"
        )
        console.print(f"plot: {plot(runs, plot_to, title)}")
    if any(r.errors for r in runs):
        console.print("[red]some requests failed: the figures above include failures[/red]")
        raise typer.Exit(1)


def _child_bench(mode: str, forwarded: list[str], state: Path) -> list[Run]:
    """Rollcall's rows in ``mode``, from a bench of its own (a fresh process, so Ray reads the mode)."""
    out = state / f"runs-{mode}.json"
    command = [sys.executable, "-m", "loadtests.bench", *forwarded, f"--mode={mode}", "--no-baseline"]
    with out.open("w") as sink:
        done = subprocess.run([*command, "--json"], stdout=sink, check=False)  # noqa: S603 - our own argv
    lines = [line for line in out.read_text().splitlines() if line.startswith('{"runs"')]
    if not lines:
        raise RuntimeError(f"the {mode} bench ended ({done.returncode}) without its figures")
    return [Run(**run) for run in json.loads(lines[-1])["runs"]]


def report(runs: list[Run], as_json: bool) -> None:
    table = Table(title="Throughput and latency (closed loop, client on the same machine)")
    columns = [c for c in Run.__dataclass_fields__ if c not in ("stages_ms", "cpu_ms")]
    for column in columns:
        table.add_column(column, justify="right")
    for run in runs:
        table.add_row(*(str(getattr(run, c)) for c in columns))
    out = Console()
    out.print(table)
    ratio = ratios(runs)
    if ratio:
        out.print(
            "Rollcall identify / face_recognition throughput: "
            + ", ".join(f"c{c}: {r}x" for c, r in ratio.items())
        )
    stages = Table(title="Mean ms per call of each stage (Ingress /metrics)")
    names = sorted({s for r in runs for s in r.stages_ms})
    for column in ("workload", "batching", "concurrency", *names):
        stages.add_column(column, justify="right")
    for run in runs:
        if run.stages_ms:
            stages.add_row(
                run.workload,
                run.batching,
                str(run.concurrency),
                *(str(run.stages_ms.get(n, "")) for n in names),
            )
    if names:
        out.print(stages)
    split = Table(title="CPU ms per request: the models' own work (and Milvus) vs serving (the rest)")
    for column in ("mode", "workload", "batching", "concurrency", "models", "serving", "serving/models"):
        split.add_column(column, justify="right")
    for run in runs:
        shares = run.split()
        if shares is not None:
            models, serving = shares
            ratio_ = f"{serving / models:.2f}" if models else ""
            cells = (run.mode, run.workload, run.batching, str(run.concurrency), str(models), str(serving))
            split.add_row(*cells, ratio_)
    if any(run.split() for run in runs):
        out.print(split)
    # One line a run: the processes are too many for a table's width.
    spent = [run for run in runs if run.cpu_ms]
    if spent:
        out.print("CPU ms per request, by process (this bench's process tree, from /proc):")
    for run in spent:
        parts = ", ".join(f"{role} {ms}" for role, ms in run.cpu_ms.items() if ms >= 0.5)
        out.print(
            f"  {run.system} {run.mode} {run.workload} batching={run.batching} c={run.concurrency}: "
            f"{round(sum(run.cpu_ms.values()), 1)} in all; {parts}"
        )
    if as_json:
        print(json.dumps({"runs": [asdict(r) for r in runs], "ratio_identify": ratio}))


if __name__ == "__main__":
    app()
