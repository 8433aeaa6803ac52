"""``python -m app.tenants``: the installation operator's commands for its schools (``create``, ``list``,
``suspend``, ``resume``, ``delete``); what each does is in ``app.services.operations.tenancy``.

Like ``python -m app.bootstrap`` it reads the app's settings (``ROLLCALL_*``) and acts with the database's
credentials, which is what makes its caller the operator. A new admin's password comes from
``ROLLCALL_BOOTSTRAP_PASSWORD`` or a prompt, never from the command line (other local users can read that in
the process list). Exit status: 0 done, 1 refused (the error's code and message printed), 2 misconfigured.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sys
from typing import Annotated

import redis
import typer
from rich.console import Console
from rich.table import Table

from app.bootstrap import EmailOption, FullNameOption, SchoolOption, TimezoneOption, new_school
from app.container import Container, SecurityServices
from app.core.config import Settings, get_settings
from app.core.errors import AppError
from app.db.migrate import upgrade_head
from app.db.session import transaction
from app.jobs.context import JobError, engine_for, indexed_container
from app.jobs.report import print_report
from app.services.biometrics.stores import BiometricStores
from app.services.operations import tenancy

cli = typer.Typer(add_completion=False, no_args_is_help=True, help="The installation's schools.")
console = Console(stderr=True, soft_wrap=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON on stdout.")]
SchoolArg = Annotated[str, typer.Argument(help="The school's id or exact name.")]


def _settings() -> Settings:
    settings = get_settings()
    if not settings.database_url:
        console.print("[red]ROLLCALL_DATABASE_URL is not set[/red] (`python -m cluster.local up` prints it)")
        raise typer.Exit(2)
    return settings


def _refused(error: AppError | JobError) -> typer.Exit:
    code = getattr(error, "code", "misconfigured")
    console.print(f"[red]{code}[/red]: {getattr(error, 'message', error)}")
    return typer.Exit(2 if isinstance(error, JobError) else 1)


def _operated(container: Container) -> tuple[BiometricStores, redis.Redis, SecurityServices]:
    """The stores, Redis and kiosk keys of a container built with both URLs (``indexed_container``)."""
    assert container.stores is not None and container.redis is not None and container.security is not None
    return container.stores, container.redis, container.security


@cli.command()
def create(
    school: SchoolOption,
    email: EmailOption,
    full_name: FullNameOption = "Administrator",
    timezone: TimezoneOption = "UTC",
    as_json: JsonOption = False,
) -> None:
    """Add a school and its first admin (who enrols TOTP at first sign-in)."""
    settings = _settings()
    new = new_school(school, email, full_name, timezone)
    upgrade_head(settings.database_url)
    try:
        with engine_for(settings) as engine, transaction(engine) as session:
            created, admin = tenancy.add_school(session, settings.passwords, new)
    except (AppError, JobError) as error:
        raise _refused(error) from error
    print_report(
        "School created",
        {"school_id": created.id, "name": created.name, "admin_id": admin.id, "admin": admin.email},
        as_json,
    )


@cli.command("list")
def list_command(as_json: JsonOption = False) -> None:
    """Every school: its state and how many admins, users, students and kiosks it has."""
    settings = _settings()
    with engine_for(settings) as engine, transaction(engine) as session:
        schools = tenancy.list_schools(session)
    if as_json:
        sys.stdout.write(json.dumps([dataclasses.asdict(s) for s in schools], indent=2, default=str) + "\n")
        return
    table = Table(title="Schools")
    for column in ("id", "name", "timezone", "state", "admins", "users", "students", "kiosks"):
        table.add_column(column)
    for row in schools:
        table.add_row(
            str(row.id), row.name, row.timezone, row.state,
            *(str(n) for n in (row.admins, row.users, row.students, row.kiosks)),
        )  # fmt: skip
    Console().print(table)


@cli.command()
def suspend(school: SchoolArg, as_json: JsonOption = False) -> None:
    """Stop the school's sign-ins and kiosks now; its data is kept (``resume`` undoes it)."""
    settings = _settings()
    try:
        with indexed_container(settings) as (container, _):
            stores, client, security = _operated(container)
            done = tenancy.suspend(stores.engine, client, security.kiosks, school)
    except (AppError, JobError) as error:
        raise _refused(error) from error
    print_report(
        "School suspended",
        {"school_id": done.id, "name": done.name, "suspended_at": done.suspended_at},
        as_json,
    )


@cli.command()
def resume(school: SchoolArg, as_json: JsonOption = False) -> None:
    """Lift a suspension."""
    settings = _settings()
    try:
        with engine_for(settings) as engine, transaction(engine) as session:
            done = tenancy.resume(session, school)
    except AppError as error:
        raise _refused(error) from error
    print_report("School resumed", {"school_id": done.id, "name": done.name, "state": "active"}, as_json)


@cli.command()
def delete(
    school: SchoolArg,
    confirm: Annotated[str, typer.Option(help="The school's exact name, typed again.")],
    as_json: JsonOption = False,
) -> None:
    """Delete the school and everything of its people, biometric data first; prints the receipt."""
    settings = _settings()
    try:
        with indexed_container(settings) as (container, _):
            stores, client, security = _operated(container)
            receipt = asyncio.run(
                tenancy.delete_school(
                    stores, client, security.kiosks, school, confirm=confirm,
                    compaction_wait_s=settings.erase_compaction_wait_s,
                )
            )  # fmt: skip
    except (AppError, JobError) as error:
        raise _refused(error) from error
    print_report("School deleted", receipt, as_json)


if __name__ == "__main__":
    cli()
