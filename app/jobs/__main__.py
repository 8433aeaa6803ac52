"""``python -m app.jobs``: retention, key rotation, backup, restore, index rebuild, re-embed (docs/PRIVACY.md)

Every command reads the app's settings (``ROLLCALL_*``), prints a table (or JSON with ``--json``) and exits
non-zero when it could not do all it was asked.
"""

from __future__ import annotations

import asyncio
import dataclasses
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from app.core.config import Settings, get_settings
from app.core.crypto import new_keyring_text
from app.jobs.context import (
    JobError,
    database_url,
    engine_for,
    id_hasher,
    index_for,
    reembed_stores,
    stores_for,
)
from app.jobs.report import print_report
from app.services.biometrics.job_index import rebuild_index
from app.services.biometrics.stores import TemplateCipher
from app.services.enrollment.reembed import reembed
from app.services.operations import backup as backups
from app.services.operations import keyrotation
from app.services.privacy import retention
from models.gallery import GalleryError

cli = typer.Typer(add_completion=False, no_args_is_help=True, help="Rollcall's operational jobs.")
console = Console(stderr=True, soft_wrap=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Print the report as JSON on stdout.")]


def _settings() -> Settings:
    return get_settings()


def _fail(error: Exception) -> None:
    console.print(f"[red]error[/red]: {error}")
    raise typer.Exit(1)


@cli.command("retention")
def retention_command(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what would change; change nothing.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Delete what the retention policy no longer allows to keep (idempotent; see docs/PRIVACY.md)."""
    settings = _settings()
    try:
        with stores_for(settings) as (stores, index):
            report = asyncio.run(
                retention.run(stores.engine, settings.retention, stores=stores, index=index, dry_run=dry_run)
            )
    except (JobError, OSError) as error:
        _fail(error)
    print_report("retention" + (" (dry run)" if dry_run else ""), report.as_dict(), as_json)
    if report.errors:
        raise typer.Exit(1)


@cli.command("rotate-key")
def rotate_key_command(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count rows to re-encrypt; change nothing.")
    ] = False,
    batch_size: Annotated[int, typer.Option(min=1, max=50_000, help="Rows per transaction.")] = 500,
    as_json: JsonOption = False,
) -> None:
    """Re-encrypt every sealed row under the active key of ROLLCALL_TEMPLATE_KEY (no downtime)."""
    settings = _settings()
    try:
        with engine_for(settings) as engine:
            report = keyrotation.rotate(engine, settings.keyring(), batch_size=batch_size, dry_run=dry_run)
    except JobError as error:
        _fail(error)
    data = dataclasses.asdict(report)
    data["old_keys_in_use"] = sorted(report.old_keys_in_use)
    print_report("rotate-key" + (" (dry run)" if dry_run else ""), data, as_json)


@cli.command("new-key")
def new_key_command(
    key_id: Annotated[str, typer.Argument(help="Id of the new key, e.g. k2.")],
) -> None:
    """Print a new random key entry to put first in ROLLCALL_TEMPLATE_KEY (then run rotate-key)."""
    current = _settings().keyring()
    if key_id in current.keys:
        _fail(JobError(f"key id {key_id!r} is already in the ring"))
    sys.stdout.write(new_keyring_text(key_id) + "\n")


@cli.command("backup")
def backup_command(
    out: Annotated[Path, typer.Option("--out", help="Where to write the dump (custom format).")],
    as_json: JsonOption = False,
) -> None:
    """pg_dump of the database, verified, with its SHA-256 and erasure ledger beside it."""
    settings = _settings()
    try:
        report = backups.backup(database_url(settings), out, id_hasher(settings), bin_dir=settings.pg_bin_dir)
    except (JobError, backups.BackupError) as error:
        _fail(error)
    print_report("backup", dataclasses.asdict(report), as_json)


@cli.command("restore")
def restore_command(
    archive: Annotated[Path, typer.Argument(help="A dump made by `backup`.")],
    ledger: Annotated[
        list[Path] | None, typer.Option("--ledger", help="Ledger of a newer backup (repeatable).")
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask: replace the database.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Replace the database with a dump, re-apply later erasures and withdrawals; then run rebuild-index."""
    settings = _settings()
    if not yes and not typer.confirm("This replaces every table of the configured database. Go on?"):
        raise typer.Exit(1)
    try:
        report = backups.restore(
            database_url(settings), archive, id_hasher(settings), ledgers=ledger, bin_dir=settings.pg_bin_dir
        )
    except (JobError, backups.BackupError) as error:
        _fail(error)
    print_report("restore", dataclasses.asdict(report), as_json)


@cli.command("rebuild-index")
def rebuild_index_command(as_json: JsonOption = False) -> None:
    """Drop and re-create the Milvus collections from the encrypted templates in PostgreSQL."""
    settings = _settings()
    try:
        with engine_for(settings) as engine, index_for(settings, engine) as index:
            report = asyncio.run(rebuild_index(engine, index.pipeline, index.cipher))
    except JobError as error:
        _fail(error)
    data = dataclasses.asdict(report)
    data["consistent"] = report.consistent
    print_report("rebuild-index", data, as_json)
    if not report.consistent:
        raise typer.Exit(1)


@cli.command("re-embed")
def reembed_command(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count who would be re-embedded or flagged; change nothing.")
    ] = False,
    retire_old: Annotated[
        bool,
        typer.Option("--retire-old", help="Then delete old models' templates and vectors (after rollout)."),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Re-create every student's vectors with the installed embedding model from their sealed face crops
    (idempotent; app/services/enrollment/reembed.py explains when to deploy and when to retire the old
    model)."""
    settings = _settings()
    try:
        with engine_for(settings) as engine, reembed_stores(settings) as (embedder, gallery, old_galleries):
            cipher = TemplateCipher(settings.keyring())
            report = reembed(
                engine, cipher, embedder, gallery, old_galleries, dry_run=dry_run, retire_old=retire_old
            )
    except (JobError, GalleryError) as error:
        _fail(error)
    data = dataclasses.asdict(report)
    data["complete"] = report.complete
    print_report("re-embed", data, as_json)
    if not report.complete:
        raise typer.Exit(1)


if __name__ == "__main__":
    cli()
