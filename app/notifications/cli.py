"""``python -m app.notifications``: run the delivery worker, one pass of it, or publish teacher summaries.

    python -m app.notifications worker                 # the loop, as a process of its own (outside Serve)
    python -m app.notifications run-once               # one pass: sweep, fan out, send; prints counts
    python -m app.notifications summaries --period daily [--date 2026-11-25]

Settings come from ``ROLLCALL_*`` like everywhere else (database, SMTP, providers).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
from collections.abc import Iterator
from datetime import date, datetime
from typing import Annotated, Literal

import typer
from sqlalchemy import Engine

from app.container import build_container
from app.core.config import Settings, get_settings
from app.core.logging import configure_logging
from app.db.session import transaction
from app.notifications.summaries import publish_summaries
from app.notifications.worker import NotificationWorker

cli = typer.Typer(
    add_completion=False, no_args_is_help=True, help=__doc__.split("\n")[0] if __doc__ else None
)


@contextlib.contextmanager
def _database() -> Iterator[tuple[Engine, Settings]]:
    """The container's engine (its audit keys), with this process's logging set up; closed afterwards."""
    settings = get_settings()
    if not settings.database_url:
        raise typer.BadParameter("ROLLCALL_DATABASE_URL is not set")
    configure_logging(
        settings.log_level, json=settings.log_json, id_hash_key=settings.id_hash_key.get_secret_value()
    )
    container = build_container(settings)
    assert container.engine is not None  # database_url is set
    try:
        yield container.engine, settings
    finally:
        container.close()


@cli.command()
def worker() -> None:
    """Deliver notifications until stopped (SIGTERM/SIGINT)."""
    with _database() as (engine, settings):
        asyncio.run(_forever(NotificationWorker(engine, settings)))


@cli.command("run-once")
def run_once() -> None:
    """One pass of the worker; prints what it did."""
    with _database() as (engine, settings):
        stats = asyncio.run(NotificationWorker(engine, settings).run_once())
    typer.echo(json.dumps(stats.as_dict()))


@cli.command()
def summaries(
    period: Annotated[Literal["daily", "weekly"], typer.Option(help="The summary's span.")] = "daily",
    day: Annotated[
        datetime | None, typer.Option("--date", formats=["%Y-%m-%d"], help="Last day covered (local).")
    ] = None,
) -> None:
    """Publish teachers' attendance summaries."""
    last: date | None = day.date() if day is not None else None
    with _database() as (engine, settings), transaction(engine) as session:
        new = publish_summaries(session, period, day=last, max_days=settings.report_max_days)
    typer.echo(json.dumps({"published": new}))


async def _forever(loop_worker: NotificationWorker) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await loop_worker.run_forever(stop)
