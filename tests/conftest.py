"""Fixtures shared by every test layer."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def require(condition: bool, reason: str) -> None:
    """Skip on a developer's machine without the data or tool; under CI (``CI`` set, as ``.ci/run`` does) a
    missing one is a failure, not a skip."""
    if not condition:
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)


@pytest.fixture(scope="session")
def faces_dir() -> Path:
    """The shared face photos (``../shared/faces``, or ``$ROLLCALL_FACES_DIR``)."""
    path = Path(os.environ.get("ROLLCALL_FACES_DIR") or REPO_ROOT.parent / "shared" / "faces")
    require(path.is_dir(), f"face images not found at {path} (set ROLLCALL_FACES_DIR)")
    return path


# Ray reads RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER once, when first imported (any test module importing
# `deployments` imports it during collection): set it before that, so every Ray a test starts keeps all of
# its traffic on 127.0.0.1 (cluster.local.ray_head explains why).
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
