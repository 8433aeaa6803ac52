"""A throwaway Milvus server (the `milvus` wheel) bound to loopback, for integration tests and the vector
benchmark (``python -m loadtests.vectors``).

Why not ``milvus.default_server`` as is: its components announce the host's first non-loopback address, it
picks ports by scanning from fixed defaults (racy when several runs share a machine), and its ``stop()``
SIGKILLs after one second, which leaves etcd sessions behind (the next start then takes ~60 s or panics).
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import milvus
from milvus import MilvusServer, MilvusServerConfig

from cluster.local.stores import ManagedServer, free_port

_WHEEL_DATA = Path(milvus.__file__).parent / "data"

#: Every component's announced address; unset, each picks the host's first non-loopback address.
LOOPBACK_KEYS = (
    "proxy.ip",
    "rootCoord.ip",
    "dataCoord.ip",
    "queryCoord.ip",
    "indexCoord.ip",
    "dataNode.ip",
    "queryNode.ip",
    "indexNode.ip",
)


def _template_with_etcd_config(data_dir: Path) -> Path:
    """The wheel's config template plus ``etcd.config.path``.

    Without it the embedded etcd listens on the fixed ports 2379/2380, so two servers on one machine (two test
    runs at once) collide; its own config file moves it to free loopback ports.
    """
    text = (_WHEEL_DATA / "config.yaml.template").read_text(encoding="utf-8")
    anchor = "  use:\n    embed: true"
    if anchor not in text:
        raise RuntimeError("unexpected milvus config template: no 'etcd.use.embed' section")
    etcd_config = data_dir / "etcd-embed.yaml"
    text = text.replace(anchor, f"  config:\n    path: {etcd_config}\n{anchor}", 1)
    template = data_dir / "config.yaml.template"
    template.write_text(text, encoding="utf-8")
    return template


def _write_etcd_config(data_dir: Path, client_port: int) -> None:
    peer = f"http://127.0.0.1:{free_port()}"
    client = f"http://127.0.0.1:{client_port}"
    (data_dir / "etcd-embed.yaml").write_text(
        "\n".join(
            (
                "name: default",
                f"listen-client-urls: {client}",
                f"advertise-client-urls: {client}",
                f"listen-peer-urls: {peer}",
                f"initial-advertise-peer-urls: {peer}",
                f"initial-cluster: default={peer}",
                "",
            )
        ),
        encoding="utf-8",
    )


def _bind_reusable(port: int) -> socket.socket | None:
    """A listening socket on 127.0.0.1:``port``, or None if something listens there already."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port))
        sock.listen()
    except OSError:
        sock.close()
        return None
    return sock


class LoopbackMilvus(ManagedServer):
    """Start/stop one Milvus standalone process with its own data dir, every address on 127.0.0.1."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        data_dir.mkdir(parents=True, exist_ok=True)
        template = _template_with_etcd_config(data_dir)
        config = MilvusServerConfig(data_dir=str(data_dir), template=str(template))
        config.glog_conf_file = str(_WHEEL_DATA / "glog.conf")
        for key in list(config.configurable_items):
            if key.endswith("_port"):
                config.configs[key] = free_port()
        _write_etcd_config(data_dir, client_port=int(config.configs["etcd_port"]))
        for key in LOOPBACK_KEYS:
            config.set(key, "127.0.0.1")
        # Bounded shutdown: a SIGTERM then finishes within 10 s instead of up to 30 minutes.
        config.set("common.gracefulStopTimeout", 10)
        # A restart (fault tests) reuses the same ports: the wheel's free-port check binds without
        # SO_REUSEADDR and so fails for a minute after a stop (TIME_WAIT of the closed connections), though
        # Milvus itself could bind; check the way servers bind.
        config.try_bind_port = _bind_reusable
        self._server = MilvusServer(config, wait_for_started=False)
        self._server.webservice_port = free_port()

    @property
    def port(self) -> int:
        return self._server.listen_port

    @property
    def uri(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        proc = self._server.server_proc
        return proc.pid if proc else None

    def start(self, timeout_s: float = 120.0) -> None:
        self._server.start()
        health = f"http://127.0.0.1:{self._server.webservice_port}/healthz"
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            proc = self._server.server_proc
            if proc is None or proc.poll() is not None:
                raise RuntimeError(f"Milvus server exited early; see {self.data_dir / 'logs'}")
            with contextlib.suppress(OSError), urllib.request.urlopen(health, timeout=2) as resp:
                if b"OK" in resp.read():
                    return
            time.sleep(0.2)
        self.stop()
        raise TimeoutError(f"Milvus server not healthy after {timeout_s} s; see {self.data_dir / 'logs'}")

    def stop(self, timeout_s: float = 30.0) -> None:
        """SIGTERM and wait (graceful stop is bounded to 10 s); SIGKILL only if it hangs past the timeout."""
        proc = self._server.server_proc
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        # Detach so MilvusServer.stop()/__del__ (which would SIGKILL after 1 s) has nothing left to do.
        self._server.server_proc = None
        for handle in self._server.proc_fds.values():
            handle.close()
        self._server.proc_fds.clear()
