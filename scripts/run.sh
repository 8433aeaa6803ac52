#!/usr/bin/env bash
# Install the locked environment and run the whole system locally on embedded defaults:
# Ray Serve on 127.0.0.1:8000, Milvus Lite file under ./data. Nothing external is needed.
set -euo pipefail
cd "$(dirname "$0")/.."
# Only what running needs: the app and the model build (group export, torch); not the test, baseline or
# load-test groups (--inexact keeps them in a developer's .venv). uv.lock's torch is PyPI's (CUDA); where
# /opt/wheels has the CPU wheel, sync.sh installs that instead.
bash scripts/sync.sh --no-default-groups --group export --inexact
# issue 9: the web app (kiosk page and console) at http://127.0.0.1:8000/, rebuilt only when its sources change.
bash web/build.sh
export RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0
exec .venv/bin/python -m cluster.local up "$@"
