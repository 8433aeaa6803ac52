"""``python -m app.notifications``: run the delivery worker, one pass of it, or publish teacher summaries.

    python -m app.notifications worker                 # the loop (a separate process instead of the Ingress')
    python -m app.notifications run-once               # one pass: sweep, fan out, send; prints counts
    python -m app.notifications summaries --period daily [--date 2026-11-25]

Settings come from ``ROLLCALL_*`` like everywhere else (database, SMTP, providers).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from datetime import date

from app.container import build_container
from app.core.config import get_settings
from app.core.logging import configure_logging
from app.db.session import transaction
from app.notifications.summaries import publish_summaries
from app.notifications.worker import NotificationWorker


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.notifications", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("worker", help="deliver notifications until stopped (SIGTERM/SIGINT)")
    commands.add_parser("run-once", help="one pass of the worker")
    summaries = commands.add_parser("summaries", help="publish teachers' attendance summaries")
    summaries.add_argument("--period", choices=("daily", "weekly"), default="daily")
    summaries.add_argument("--date", type=date.fromisoformat, default=None, help="last day covered (local)")
    args = parser.parse_args(argv)

    settings = get_settings()
    if not settings.database_url:
        parser.error("ROLLCALL_DATABASE_URL is not set")
    configure_logging(
        settings.log_level, json=settings.log_json, id_hash_key=settings.id_hash_key.get_secret_value()
    )
    container = build_container(settings)
    engine = container.engine
    assert engine is not None  # database_url is set
    try:
        if args.command == "summaries":
            with transaction(engine) as session:
                new = publish_summaries(
                    session, args.period, day=args.date, max_days=settings.report_max_days
                )
            print(json.dumps({"published": new}))
        elif args.command == "run-once":
            stats = asyncio.run(NotificationWorker(engine, settings).run_once())
            print(json.dumps(stats.as_dict()))
        else:
            asyncio.run(_forever(NotificationWorker(engine, settings)))
    finally:
        container.close()
    return 0


async def _forever(worker: NotificationWorker) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await worker.run_forever(stop)


if __name__ == "__main__":
    sys.exit(main())
