"""The environment Ray starts in: loopback, token auth, and Serve's throughput-optimized mode unless the
caller chose otherwise (the bench measures the default mode by setting it first)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cluster.local.ray_head import SERVE_MODE, loopback_environment


def test_the_local_run_serves_in_throughput_mode(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (*SERVE_MODE, "RAY_AUTH_MODE", "RAY_AUTH_TOKEN_PATH", "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"):
        monkeypatch.delenv(name, raising=False)
    env = loopback_environment(tmp_path / "token")
    assert {name: env[name] for name in SERVE_MODE} == SERVE_MODE
    assert env["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] == "0" and env["RAY_AUTH_MODE"] == "token"
    assert (tmp_path / "token").stat().st_mode & 0o077 == 0


def test_a_mode_already_chosen_is_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAY_SERVE_THROUGHPUT_OPTIMIZED", "0")
    monkeypatch.delenv("RAY_SERVE_REQUEST_PATH_LOG_BUFFER_SIZE", raising=False)
    env = loopback_environment(tmp_path / "token")
    assert env["RAY_SERVE_THROUGHPUT_OPTIMIZED"] == "0"
    assert env["RAY_SERVE_REQUEST_PATH_LOG_BUFFER_SIZE"] == "1"
