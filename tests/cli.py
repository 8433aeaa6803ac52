"""A typer command as an app ``typer.testing.CliRunner`` can invoke (as ``typer.run`` runs it)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import typer


def typer_app(command: Callable[..., Any]) -> typer.Typer:
    app = typer.Typer(add_completion=False)
    app.command()(command)
    return app
