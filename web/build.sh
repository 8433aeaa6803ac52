#!/usr/bin/env bash
# Build the web app into web/dist (served by the ingress at /), only when something it is built from changed:
# `npm ci` when package-lock.json is newer than the installed modules, `npm run build` when a source is newer
# than the last build. The npm registry is needed only for the first `npm ci`.
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v npm >/dev/null 2>&1; then
    echo "web: npm is not installed, so the web app is not built (the API runs without it)" >&2
    exit "${WEB_BUILD_REQUIRED:-0}"
fi
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    npm ci --no-audit --no-fund
fi
if [ ! -f dist/index.html ] || [ -n "$(find src index.html package.json package-lock.json tsconfig.json vite.config.ts \
        -newer dist/index.html -print -quit)" ]; then
    npm run build
fi
