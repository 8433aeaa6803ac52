"""How the operator's commands (``python -m app.jobs``, ``python -m app.tenants``) print what they did:
JSON on stdout with ``--json`` (for scripts), else a two-column table."""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console
from rich.table import Table


def print_report(title: str, data: dict[str, Any], as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
        return
    table = Table(title=title, show_header=False)
    for key, value in data.items():
        shown = json.dumps(value, default=str) if isinstance(value, dict | list) else str(value)
        table.add_row(key, shown)
    Console().print(table)
