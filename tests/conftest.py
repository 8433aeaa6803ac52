"""Fixtures shared by every test layer."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def faces_dir() -> Path:
    """The shared face photos (``../shared/faces``, or ``$ROLLCALL_FACES_DIR``); skips when absent."""
    path = Path(os.environ.get("ROLLCALL_FACES_DIR") or REPO_ROOT.parent / "shared" / "faces")
    if not path.is_dir():
        pytest.skip(f"face images not found at {path} (set ROLLCALL_FACES_DIR)")
    return path


# Ray reads RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER once, when first imported (any test module importing
# `deployments` imports it during collection): set it before that, so every Ray a test starts keeps all of
# its traffic on 127.0.0.1 (deployments.local_ray explains why).
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
