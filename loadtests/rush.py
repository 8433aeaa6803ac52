"""``python -m loadtests.rush --run-time 60s``: the morning rush in one command.

Starts a throwaway Rollcall on 127.0.0.1 (``loadtests.stack``: stores, Milvus, Ray Serve as serve_config.yaml
says), seeds it (``loadtests.seed``), runs the locust scenarios headless for ``--run-time`` and writes
``<out>/rush_stats.csv`` (and the other locust CSVs), ``<out>/rush.html`` and the manifest, then stops
everything. Exits with locust's status (1 when any request failed). For a Rollcall that is already running,
use ``python -m loadtests.seed`` and ``locust -f loadtests/locustfile.py`` directly (see the locustfile).
"""

from __future__ import annotations

import csv
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.console import Console
from rich.table import Table

from loadtests.seed import seed
from loadtests.stack import local_rollcall

console = Console(stderr=True, soft_wrap=True)
LOCUSTFILE = Path(__file__).resolve().parent / "locustfile.py"
DEFAULT_OUT = Path(__file__).resolve().parent / "reports"


def run_locust(
    host: str, manifest: Path, out: Path, run_time: str, users: int, spawn_rate: float, timeout_s: float
) -> int:
    """Headless locust against ``host``; CSVs at ``out/rush_*.csv``, the HTML report at ``out/rush.html``."""
    command = [
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--only-summary",
        "--host", host, "--run-time", run_time, "-u", str(users), "-r", str(spawn_rate),
        "--stop-timeout", "10", "--csv", str(out / "rush"), "--html", str(out / "rush.html"),
        "--manifest", str(manifest), "--loglevel", "WARNING",
    ]  # fmt: skip
    return subprocess.run(command, timeout=timeout_s, check=False).returncode  # noqa: S603 - our own argv


def summary(stats_csv: Path) -> Table:
    table = Table(title=f"locust: {stats_csv.name}")
    columns = ("Name", "Request Count", "Failure Count", "Requests/s", "50%", "95%", "99%")
    for column in columns:
        table.add_column(column, justify="left" if column == "Name" else "right")
    with stats_csv.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            table.add_row(*(row[c] if c != "Requests/s" else f"{float(row[c]):.1f}" for c in columns))
    return table


def main(
    run_time: Annotated[str, typer.Option(help="locust --run-time (e.g. 60s, 5m)")] = "60s",
    users: Annotated[
        int,
        typer.Option(
            help="simulated users (kiosks : teachers : admins = 16 : 2 : 1); keep about 2 kiosks a class, or "
            "the per-kiosk limits (kiosk_rate_limit, kiosk_failed_match_limit) answer 429, as they should"
        ),
    ] = 20,
    spawn_rate: Annotated[float, typer.Option(help="users started per second")] = 5.0,
    schools: Annotated[int, typer.Option(min=1)] = 1,
    classes: Annotated[int, typer.Option(min=1, help="classes (kiosks) per school")] = 8,
    students: Annotated[int, typer.Option(min=1, help="enrolled students per class")] = 10,
    liveness: Annotated[
        Literal["challenge", "off"], typer.Option(help="the server's liveness_mode")
    ] = "challenge",
    milvus: Annotated[
        Literal["server", "lite"], typer.Option(help="Milvus server or Milvus Lite")
    ] = "server",
    out: Annotated[Path, typer.Option(help="where reports go")] = DEFAULT_OUT,
) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory(prefix="rollcall-rush-") as state,
        local_rollcall(Path(state), milvus, access_token_ttl_s=3600, liveness_mode=liveness) as rollcall,
    ):
        console.print(f"Rollcall at {rollcall.base_url}; seeding...")
        manifest = seed(
            rollcall.base_url, rollcall.settings, schools, classes, students, out / "manifest.json"
        )
        manifest.write(out / "manifest.json")
        console.print(f"locust: {users} users for {run_time}...")
        status = run_locust(rollcall.base_url, out / "manifest.json", out, run_time, users, spawn_rate, 3600)
    Console().print(summary(out / "rush_stats.csv"))
    console.print(f"reports: {out / 'rush.html'}, {out / 'rush_stats.csv'}")
    raise typer.Exit(status)


if __name__ == "__main__":
    typer.run(main)
