"""``python -m cluster.local up``: the whole system on one machine, every socket on 127.0.0.1.

Builds the model artifacts (as ``python -m models.build`` does), starts PostgreSQL and Redis from their pip
packages under the data dir on 127.0.0.1 unless ``ROLLCALL_DATABASE_URL`` / ``ROLLCALL_REDIS_URL`` name real
servers, migrates the schema (``alembic upgrade head``), starts a local Ray on loopback (see
``cluster.local.ray_head`` for the auth choice), runs the application exactly as serve_config.yaml describes
it, serves HTTP on 127.0.0.1:8000 by default, and on Ctrl-C (or SIGTERM) shuts Serve, Ray and the stores down.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from cluster.local.ray_head import LOOPBACK, start_local_ray
from deployments.serve_file import DEFAULT_CONFIG

if TYPE_CHECKING:
    from app.core.config import Settings

cli = typer.Typer(add_completion=False, no_args_is_help=True, help="Run Rollcall locally.")
console = Console(stderr=True, soft_wrap=True)


def build_models(cache_dir: Path) -> None:
    """Build every served graph now, so no replica pays for a build while starting."""
    from models.build.__main__ import STEPS

    for step in STEPS:
        path = step.build(cache_dir)
        console.print(f"[dim]model[/dim] {step.name}: {path}")


@contextlib.contextmanager
def local_stores(database_url: str, redis_url: str, data_dir: Path) -> Iterator[dict[str, str]]:
    """The URLs to use: the configured ones, or embedded servers started here (and stopped on exit).

    The URLs also go into this process's environment before Ray starts, so every Ray worker inherits them;
    the replicas get them in their settings as well (``build_app_from_config`` overrides).
    """
    from app.db.migrate import upgrade_head
    from cluster.local.stores import EmbeddedPostgres, EmbeddedRedis

    with contextlib.ExitStack() as stack:
        if not database_url:
            postgres = EmbeddedPostgres(data_dir / "postgres")
            with contextlib.suppress(RuntimeError):
                postgres.stop()  # a server an earlier, killed run left behind
            database_url = postgres.start()
            stack.callback(postgres.stop)
            console.print(f"[dim]PostgreSQL (embedded): {database_url}[/dim]")
        if not redis_url:
            redis_server = EmbeddedRedis(data_dir / "redis")
            redis_url = redis_server.start()
            stack.callback(redis_server.stop)
            console.print(f"[dim]Redis (embedded): {redis_url}[/dim]")
        upgrade_head(database_url)
        urls = {"database_url": database_url, "redis_url": redis_url}
        os.environ.update({"ROLLCALL_DATABASE_URL": database_url, "ROLLCALL_REDIS_URL": redis_url})
        yield urls


def bootstrap_hint(database_url: str) -> None:
    """Say how to create the first admin while the database has no user yet."""
    from sqlalchemy import func
    from sqlmodel import select

    from app.db.session import make_engine, transaction
    from app.db.tables import User

    engine = make_engine(database_url)
    try:
        with transaction(engine) as session:
            if session.exec(select(func.count()).select_from(User)).one():
                return
    finally:
        engine.dispose()
    console.print(
        "[yellow]no users yet[/yellow]: in another terminal run\n"
        f"  ROLLCALL_DATABASE_URL='{database_url}' .venv/bin/python -m app.bootstrap "
        "--school 'My School' --email admin@example.org"
    )


@cli.command()
def up(
    config: Annotated[Path, typer.Option(help="Serve config (deployments, user_config).")] = DEFAULT_CONFIG,
    port: Annotated[int | None, typer.Option(help="HTTP port (default: the config's).")] = None,
    milvus_uri: Annotated[
        str | None,
        typer.Option(help="Milvus Lite path or server URL (default: ROLLCALL_MILVUS_URI or Lite)."),
    ] = None,
    dashboard: Annotated[bool, typer.Option(help="Start Ray's dashboard on 127.0.0.1:8265.")] = False,
    build: Annotated[bool, typer.Option(help="Build model artifacts first.")] = True,
) -> None:
    """Start Ray + Serve on 127.0.0.1 and serve until Ctrl-C."""
    from app.core.config import LocalPaths, Settings, ensure_dev_secrets

    paths = LocalPaths()
    ensure_dev_secrets(paths.data_dir)  # a development run's secrets, made once (production brings its own)
    if build:
        build_models(paths.model_cache)
    overrides: dict[str, Any] = {"milvus_uri": milvus_uri} if milvus_uri else {}
    settings = Settings(**overrides)

    with local_stores(settings.database_url, settings.redis_url, settings.data_dir) as urls:
        overrides.update(urls)
        bootstrap_hint(urls["database_url"])
        serve_until_stopped(config, overrides, settings.data_dir / "ray" / "auth_token", port, dashboard)


def serve_until_stopped(
    config: Path, overrides: dict[str, str], token_path: Path, port: int | None, dashboard: bool
) -> None:
    """Ray + Serve on loopback until Ctrl-C or SIGTERM, then both shut down."""
    start_local_ray(token_path, dashboard=dashboard)
    import ray
    from ray import serve

    from deployments.app import build_app_from_config

    stop = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        console.print(f"\n[yellow]{signal.Signals(signum).name}: stopping...[/yellow]")
        stop.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    try:
        spec = build_app_from_config(config, overrides)
        http, url = proxy_options(spec.http_options, spec.settings, port)
        serve.start(http_options=http)
        started = time.monotonic()
        serve.run(spec.app, name=spec.name, route_prefix=spec.route_prefix, blocking=False)
        console.print(
            f"[green]Rollcall ready[/green] at {url} (docs: {url}/docs) in {time.monotonic() - started:.0f} s"
        )
        console.print(f"[dim]gallery: {spec.settings.milvus_uri}[/dim]")
        console.print(f"[dim]serve CLI: export RAY_AUTH_MODE=token RAY_AUTH_TOKEN_PATH={token_path}[/dim]")
        stop.wait()
    finally:
        try:
            serve.shutdown()
        finally:
            ray.shutdown()
        console.print("[green]stopped[/green]")


def proxy_options(
    configured: dict[str, Any], settings: Settings, port: int | None
) -> tuple[dict[str, Any], str]:
    """Serve's HTTP proxy options on loopback, with HTTPS when ``ROLLCALL_TLS_CERTFILE``/``_KEYFILE`` are set
    (the proxy hands ``ssl_*`` to uvicorn), and the URL it then serves."""
    http = {**configured, "host": LOOPBACK, **settings.tls_http_options()}
    if port is not None:
        http["port"] = port
    scheme = "https" if "ssl_certfile" in http else "http"
    return http, f"{scheme}://{LOOPBACK}:{http.get('port', 8000)}"


@cli.command("build-models")
def build_models_command() -> None:
    """Only build the model artifacts (what ``up`` does first)."""
    from app.core.config import LocalPaths

    build_models(LocalPaths().model_cache)


@cli.command("secrets")
def secrets_command() -> None:
    """Create the development secrets under <data_dir>/secrets that do not exist yet (``up`` does it first);
    jobs and ``app.bootstrap`` of a local run read them there."""
    from app.core.config import LocalPaths, ensure_dev_secrets

    data_dir = LocalPaths().data_dir
    ensure_dev_secrets(data_dir)
    console.print(f"[green]development secrets[/green] in {(data_dir / 'secrets').resolve()}")


def main() -> None:
    cli()
