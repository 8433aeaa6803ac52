"""The installation's operator commands as the operator runs them: ``python -m <command> ... --json`` in a
real process, configured by its environment only (the settings' stores and data folder, plus what each caller
adds: secrets, a first admin's password)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from typing import Any

from app.core.config import Settings
from tests.conftest import REPO_ROOT


def operator_json(command: str, settings: Settings, *args: str, env: Mapping[str, str] | None = None) -> Any:
    """Runs ``python -m command args --json`` against ``settings``' stores; its JSON answer."""
    environment = {
        **os.environ,
        "ROLLCALL_DATA_DIR": str(settings.data_dir),
        "ROLLCALL_DATABASE_URL": settings.database_url,
        "ROLLCALL_REDIS_URL": settings.redis_url,
        "ROLLCALL_MILVUS_URI": settings.milvus_uri,
        **(env or {}),
    }
    done = subprocess.run(
        [sys.executable, "-m", command, *args, "--json"],
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)
