"""TLS through Ray Serve's own HTTP proxy: a local Ray on 127.0.0.1 started with the proxy options the local
runner builds from settings (``cluster.local.cli.proxy_options``), a deployment behind it, and a client that
trusts only the test's CA calling it over https.

It runs in a subprocess: a Ray driver is one per process, and the session's Serve app (``serve_app``) may
already hold this one. ``ray.init`` picks free ports, so the two clusters do not collide.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import ssl
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.domain.authkit import TEST_SECRETS

pytestmark = pytest.mark.integration


def test_serve_proxy_answers_over_https(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tests.integration.test_tls_serve", str(tmp_path)],
        cwd=REPO_ROOT,
        env={**os.environ, "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"},
        capture_output=True,
        text=True,
        timeout=420,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["url"].startswith("https://127.0.0.1:")
    assert (result["status"], result["body"]) == (200, "rollcall over tls")
    assert result["untrusted_refused"] and result["plain_http_refused"]


def main(directory: Path) -> None:
    import httpx
    import ray
    from ray import serve

    from app.core.config import Settings
    from cluster.local.cli import proxy_options
    from cluster.local.ray_head import start_local_ray
    from cluster.local.stores import free_port
    from tests.unit.test_tls import make_certificates

    ca, cert, key = make_certificates(directory)
    # Other test runs on the machine take this lock while their Ray starts (integration/conftest.py). Take it
    # when free; when held, go on: it is this very run's own Serve app (up and idle) or another run, and
    # start_local_ray retries once if a concurrent start-up makes Ray miss its window.
    lock = Path(tempfile.gettempdir(), "rollcall-ray-tests.lock").open("w")  # noqa: SIM115
    with contextlib.suppress(BlockingIOError):
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    start_local_ray(directory / "ray-token", object_store_bytes=100 * 1024 * 1024)
    try:
        http, url = proxy_options(
            {}, Settings(**TEST_SECRETS, data_dir=directory, tls_certfile=cert, tls_keyfile=key), free_port()
        )
        serve.start(http_options=http)

        @serve.deployment
        class Hello:
            async def __call__(self, request: object) -> str:
                return "rollcall over tls"

        serve.run(Hello.bind(), name="tls-check", route_prefix="/")
        response = httpx.get(url + "/", verify=ssl.create_default_context(cafile=str(ca)), timeout=60)
        try:
            httpx.get(url + "/", verify=ssl.create_default_context(), timeout=30)
            untrusted_refused = False
        except httpx.ConnectError:
            untrusted_refused = True
        try:
            httpx.get(url.replace("https://", "http://") + "/", timeout=30)
            plain_http_refused = False
        except httpx.HTTPError:
            plain_http_refused = True
        result = {
            "url": url,
            "status": response.status_code,
            "body": response.text,
            "untrusted_refused": untrusted_refused,
            "plain_http_refused": plain_http_refused,
        }
    finally:
        serve.shutdown()
        ray.shutdown()
        lock.close()
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
