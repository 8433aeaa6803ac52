"""Nothing outlives the command that started it: a process running the local stores (PostgreSQL and Redis,
as the run command, the bench, the rush and the test fixtures start them) leaves no server behind, whether it
ends normally, with an error, on Ctrl-C, SIGTERM or SIGHUP."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.processes import processes_naming

#: The owner: starts the stores under argv[1], prints their ports, then ends as argv[2] says.
OWNER = textwrap.dedent(
    """
    import json, os, signal, sys, time
    from pathlib import Path
    from cluster.local.stack import local_stores

    root, how = Path(sys.argv[1]), sys.argv[2]
    with local_stores(root) as stores:
        print(json.dumps({"pg": stores.postgres.port, "redis": stores.redis.port}), flush=True)
        if how == "error":
            raise RuntimeError("the command failed")
        if how in ("SIGINT", "SIGTERM", "SIGHUP"):
            os.kill(os.getpid(), getattr(signal, how))
            time.sleep(30)  # the signal ends the process before this does
    """
)


def listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def default_signals() -> None:
    """The owner starts as from a terminal: a suite run in the background (``cmd &``, ``nohup``) ignores
    SIGINT and SIGHUP, and children inherit that, so the owner would never see the signal it is sent."""
    for signum in (signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, signal.SIG_DFL)


@pytest.mark.parametrize("how", ["normally", "error", "SIGINT", "SIGTERM", "SIGHUP"])
def test_the_local_stores_stop_however_their_owner_ends(tmp_path: Path, how: str) -> None:
    root = tmp_path / "stores"
    owner = subprocess.Popen(
        [sys.executable, "-c", OWNER, str(root), how],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=default_signals,
    )
    try:
        out, err = owner.communicate(timeout=120)
    finally:
        owner.kill()
    ports = json.loads(out.splitlines()[0])
    assert owner.returncode != 0 if how != "normally" else owner.returncode == 0, err
    deadline = time.monotonic() + 10  # the servers' own exit, after their owner's
    while time.monotonic() < deadline and (
        any(listening(p) for p in ports.values()) or processes_naming(str(root))
    ):
        time.sleep(0.2)
    assert not [name for name, port in ports.items() if listening(port)], (how, err)
    assert not processes_naming(str(root)), how
