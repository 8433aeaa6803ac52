"""``python -m app.bootstrap``: create the first school and its first admin on an empty database.

The password comes from ``ROLLCALL_BOOTSTRAP_PASSWORD`` (for scripts; unset it afterwards) or an interactive
prompt, never from the command line (which other local users can read in the process list). The database is
the one in the settings (``ROLLCALL_DATABASE_URL``); ``--migrate`` (default) brings its schema to head first.
The admin signs in afterwards and is asked to enrol TOTP before getting a session.
"""

from __future__ import annotations

import os
from typing import Annotated

import typer
from rich.console import Console

from app.container import build_container
from app.core.config import get_settings
from app.core.errors import AppError
from app.db.migrate import upgrade_head
from app.db.session import transaction
from app.services.identity.auth import NewSchool, bootstrap

PASSWORD_ENV = "ROLLCALL_BOOTSTRAP_PASSWORD"  # noqa: S105 - the variable's name, not a password
cli = typer.Typer(add_completion=False, help="Create the first school and admin.")
console = Console(stderr=True, soft_wrap=True)

# The options of a new school and its first admin (``python -m app.tenants create`` takes them too).
SchoolOption = Annotated[str, typer.Option("--school", help="The school's name.")]
EmailOption = Annotated[str, typer.Option("--email", help="The first admin's email (their sign-in).")]
FullNameOption = Annotated[str, typer.Option("--full-name", help="The admin's name.")]
TimezoneOption = Annotated[
    str, typer.Option("--timezone", help="The school's IANA time zone, e.g. Europe/Paris.")
]


def new_school(school: str, email: str, full_name: str, timezone: str) -> NewSchool:
    """The school and admin asked for, the password from ``ROLLCALL_BOOTSTRAP_PASSWORD`` or a prompt."""
    password = os.environ.get(PASSWORD_ENV) or typer.prompt(
        "Admin password", hide_input=True, confirmation_prompt=True
    )
    return NewSchool(school, timezone, email, full_name, password)


@cli.command()
def main(
    school: SchoolOption,
    email: EmailOption,
    full_name: FullNameOption = "Administrator",
    timezone: TimezoneOption = "UTC",
    migrate: Annotated[bool, typer.Option(help="Run `alembic upgrade head` first.")] = True,
) -> None:
    settings = get_settings()
    if not settings.database_url:
        console.print("[red]ROLLCALL_DATABASE_URL is not set[/red] (`python -m cluster.local up` prints it)")
        raise typer.Exit(2)
    first = new_school(school, email, full_name, timezone)
    if migrate:
        upgrade_head(settings.database_url)
    container = build_container(settings)  # the app's audit keys: the trail it starts is the app's chain
    assert container.engine is not None  # database_url is set
    try:
        with transaction(container.engine) as session:
            created_school, admin = bootstrap(session, settings.passwords, first)
    except AppError as exc:
        console.print(f"[red]{exc.code}[/red]: {exc.message}")
        raise typer.Exit(1) from exc
    finally:
        container.close()
    console.print(f"[green]created[/green] school {created_school.name} ({created_school.id})")
    console.print(f"[green]created[/green] admin {admin.email} ({admin.id}); sign in to enrol MFA")


if __name__ == "__main__":
    cli()
