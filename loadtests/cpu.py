"""Where a request's CPU goes: CPU time of every process the benchmark started, by role, per request.

The Ingress' stage histograms (``loadtests.bench``) give wall time, which on a small machine is mostly
waiting for a core; CPU time says what each process costs. Every server of a bench (Ray's raylet, GCS and
workers, the Serve proxy and replicas, Milvus, PostgreSQL, Redis, the baseline's uvicorn workers) descends
from the bench's own process, so walking that process tree counts exactly this benchmark's work and nothing
else a shared machine runs. Readings come from ``/proc`` (Linux); elsewhere they are empty.
"""

from __future__ import annotations

import os
from pathlib import Path

PROC = Path("/proc")
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
BASELINE = "baseline (uvicorn)"
CLIENT = "client (the bench)"
#: Substrings of a command line and the role they stand for; the first match wins.
_ROLES = (
    ("ProxyActor", "Serve proxy"),
    ("ServeController", "Ray control"),
    ("raylet", "Ray control"),
    ("gcs_server", "Ray control"),
    ("dashboard", "Ray control"),
    ("DashboardAgent", "Ray control"),
    ("log_monitor", "Ray control"),
    ("monitor.py", "Ray control"),
    ("runtime_env", "Ray control"),
    ("milvus", "Milvus"),
    ("postgres", "PostgreSQL"),
    ("redis-server", "Redis"),
    ("uvicorn", BASELINE),
)

#: pid -> (role, CPU seconds so far)
Snapshot = dict[int, tuple[str, float]]


def role_of(command: str) -> str:
    """A Serve replica's role is its deployment (Ray retitles replicas ``ray::ServeReplica:<app>:<name>``,
    with the method being run appended while busy)."""
    if "ServeReplica:" in command:
        return command.split("ServeReplica:", 1)[1].split()[0].split(":")[-1].split(".")[0]
    for needle, role in _ROLES:
        if needle in command:
            return role
    return Path(command.split(" ", 1)[0]).name or "other"


def snapshot(root: int | None = None) -> Snapshot:
    """CPU seconds (user + system, all threads) of ``root`` (this process) and its descendants."""
    root = os.getpid() if root is None else root
    stats: dict[int, tuple[int, float]] = {}  # pid -> (parent, cpu seconds)
    for entry in PROC.glob("[0-9]*") if PROC.is_dir() else ():
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # exited meanwhile
        stats[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / _TICKS)
    children: dict[int, list[int]] = {}
    for pid, (parent, _) in stats.items():
        children.setdefault(parent, []).append(pid)
    taken: Snapshot = {}
    pending: list[tuple[int, str | None]] = [(root, CLIENT)]
    while pending:
        pid, inherited = pending.pop()
        if pid not in stats:
            continue
        role = inherited or role_of(_command(pid))
        taken[pid] = (role, stats[pid][1])
        # uvicorn's workers are bare multiprocessing children: they are the baseline too
        pending += [(child, BASELINE if role == BASELINE else None) for child in children.get(pid, [])]
    return taken


def per_request(before: Snapshot, after: Snapshot, requests: int) -> dict[str, float]:
    """CPU milliseconds per request of each role between two snapshots, largest first. A process started
    meanwhile (an autoscaled replica) counts from zero; one that ended meanwhile is not counted."""
    if requests <= 0:
        return {}
    spent: dict[str, float] = {}
    for pid, (role, seconds) in after.items():
        start = before.get(pid, (role, 0.0))[1]
        spent[role] = spent.get(role, 0.0) + max(0.0, seconds - start)
    ranked = sorted(spent.items(), key=lambda item: item[1], reverse=True)
    return {role: round(seconds / requests * 1000, 1) for role, seconds in ranked if seconds > 0}


def _command(pid: int) -> str:
    try:
        raw = (PROC / str(pid) / "cmdline").read_bytes()
    except OSError:
        return ""
    return raw.replace(b"\0", b" ").decode(errors="replace").strip()
