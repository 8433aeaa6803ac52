"""Start a local Ray on loopback only; shared by ``python -m cluster.local up`` and the integration tests.

Why each setting:
- ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0`` must be in the environment before Ray starts: otherwise Ray's
  processes talk to each other over the host's first non-loopback address (measured: 62 connections for a
  hello-world app). With it, and the node address 127.0.0.1, every connection stays on loopback.
- ``address="local"`` always starts a new instance instead of attaching to whatever cluster happens to run
  on the machine (another engineer's, a stale ``ray start``).
- Auth: token mode, deliberately, even on loopback: anyone who can reach Ray's ports can run code in it,
  and other local users share the loopback interface. The token is generated once into a private file
  (mode 0600) under the data dir; the ``serve``/``ray`` CLIs work against this cluster with
  ``RAY_AUTH_MODE=token RAY_AUTH_TOKEN_PATH=<that file>`` (``up`` prints the line to paste).
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

LOOPBACK = "127.0.0.1"
#: Ray Serve's throughput-optimized mode (gRPC between replicas, direct ingress, a GC freeze): a deployment
#: hop costs ~3 ms of CPU instead of 7-10 (../shared/FIELD_NOTES.md, docs/BENCHMARKS.md). Its request-path log
#: buffer stays at one line: buffered, Serve's replica logs reach their file only per 1,000 lines or on an
#: ERROR, so a quiet school's logs would sit in memory (and be lost with a crashed replica). HAProxy mode is
#: not used: it binds Serve's HTTP ports to every interface. Between replicas the mode sends arguments over
#: gRPC, whose replicas accept 4 MiB messages by default: a single 1080p frame is 6 MiB of pixels, so the
#: limit is raised to what the Ingress' own input limits let through (a 40 MP photo, or a burst of 16 frames
#: of 2.1 MP: ~120 MB; tests/unit/test_ray_environment.py checks the settings stay under it).
REPLICA_MESSAGE_BYTES = 256 * 1024 * 1024
SERVE_MODE = {
    "RAY_SERVE_THROUGHPUT_OPTIMIZED": "1",
    "RAY_SERVE_REQUEST_PATH_LOG_BUFFER_SIZE": "1",
    "RAY_SERVE_REPLICA_GRPC_MAX_MESSAGE_LENGTH": str(REPLICA_MESSAGE_BYTES),
}
log = logging.getLogger(__name__)


def loopback_environment(token_path: Path) -> dict[str, str]:
    """Set (and return) the environment Ray must see before it starts; creates the token file if needed."""
    if not token_path.is_file():
        token_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(token_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
    env = {
        "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
        "RAY_AUTH_MODE": "token",
        "RAY_AUTH_TOKEN_PATH": str(token_path),
    }
    os.environ.update(env)
    for name, value in SERVE_MODE.items():  # one already in the environment wins (the bench's default rows)
        env[name] = os.environ.setdefault(name, value)
    return env


def start_local_ray(
    token_path: Path,
    *,
    dashboard: bool = False,
    object_store_bytes: int = 256 * 1024 * 1024,
    num_cpus: int | None = None,
) -> None:
    """``ray.init`` a fresh single-node cluster bound to 127.0.0.1 (dashboard, if any, on 127.0.0.1 too)."""
    loopback_environment(token_path)
    import ray
    from ray._private import ray_constants
    from ray._raylet import Config  # type: ignore[attr-defined]  # missing from Ray's _raylet.pyi

    # Ray reads both settings once, when first imported. If something imported it before the environment
    # above was set, bring this process in line: otherwise this driver would reach its own GCS over the
    # host's address (measured: 110 non-loopback connections) and without the token. Config.initialize is
    # what Ray itself calls when it turns token auth on.
    if ray_constants.ENABLE_RAY_CLUSTER:
        log.warning("ray was imported before RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 was set; forcing loopback")
        ray_constants.ENABLE_RAY_CLUSTER = False
    Config.initialize("")

    for attempt in range(2):
        try:
            ray.init(
                address="local",
                _node_ip_address=LOOPBACK,
                include_dashboard=dashboard,
                dashboard_host=LOOPBACK,
                object_store_memory=object_store_bytes,
                num_cpus=num_cpus,
                namespace="rollcall",
                configure_logging=True,
            )
            return
        except Exception as exc:
            # Ray gives its raylet a fixed 30 s to register; on a loaded 2-core machine (or right after
            # another Ray shut down) that is occasionally missed. Once more, from a clean slate, then give up.
            if attempt or "timed out during startup" not in str(exc):
                raise
            log.warning("ray did not start in time (%s); retrying once", exc)
            ray.shutdown()
