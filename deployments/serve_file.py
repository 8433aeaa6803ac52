"""``serve_config.yaml``, the one description of the deployments, read without Ray: its path and each
deployment's ``user_config`` (the operating points), for the app builder, the CLI and the tests alike, so a
threshold is written down once and every in-process test runs at the values the cluster serves."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

DEFAULT_CONFIG = Path(__file__).resolve().parents[1] / "serve_config.yaml"


def application(config_path: Path = DEFAULT_CONFIG, app_name: str = "rollcall") -> dict[str, Any]:
    """The application entry named ``app_name``; ``ValueError`` when the file has none."""
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    matches = [spec for spec in config.get("applications", []) if spec.get("name") == app_name]
    if not matches:
        raise ValueError(f"{config_path} has no application named {app_name!r}")
    spec: dict[str, Any] = matches[0]
    return spec


def user_config(
    deployment: str, config_path: Path = DEFAULT_CONFIG, app_name: str = "rollcall"
) -> dict[str, Any]:
    """The ``user_config`` the file gives ``deployment`` (empty when it gives none)."""
    for entry in application(config_path, app_name).get("deployments", []):
        if entry.get("name") == deployment:
            return dict(entry.get("user_config") or {})
    raise ValueError(f"{config_path} does not configure a deployment named {deployment!r}")
