#!/usr/bin/env bash
# Install the locked environment and run lint + the whole test suite (unit, integration, cluster).
# Integration tests start their own servers (Ray Serve, Milvus) on 127.0.0.1; nothing external is needed.
set -euo pipefail
cd "$(dirname "$0")/.."
# uv.lock's torch is PyPI's (CUDA); where /opt/wheels has the CPU wheel, sync.sh installs that instead.
bash scripts/sync.sh
# issue 9: the browser tests drive Debian's Chromium (never a browser download); the web app is built, and its
# component tests (vitest) run, before pytest.
if ! command -v chromium >/dev/null 2>&1; then
    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium
fi
WEB_BUILD_REQUIRED=1 bash web/build.sh
(cd web && npm test)
export RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/python -m models.build
exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
