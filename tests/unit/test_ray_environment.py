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


def test_replicas_accept_the_largest_request_the_ingress_lets_through() -> None:
    """Arguments travel between replicas over gRPC: the Ingress' input limits must fit its message limit
    (a burst of the most frames of the largest frame size, or one photo of the most pixels, as BGR arrays)."""
    from app.core.config import Settings
    from cluster.local.ray_head import REPLICA_MESSAGE_BYTES

    fields = Settings.model_fields
    burst = fields["burst_max_frames"].default * fields["burst_max_frame_pixels"].default * 3
    photo = fields["max_pixels"].default * 3
    assert max(burst, photo) * 1.05 < REPLICA_MESSAGE_BYTES  # 5 %: pickling and the call's other arguments
    assert int(SERVE_MODE["RAY_SERVE_REPLICA_GRPC_MAX_MESSAGE_LENGTH"]) == REPLICA_MESSAGE_BYTES
