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
# The API's types (src/api/schema.d.ts) are generated from the API's own OpenAPI document on every run, never
# written by hand; the file is replaced only when it changes, so an unchanged API does not force a rebuild.
python="${ROLLCALL_PYTHON:-$PWD/../.venv/bin/python}"
(cd .. && "$python" -m app.api.openapi) > openapi.json
npx --no-install openapi-typescript openapi.json --output schema.d.ts.new >/dev/null
if cmp -s schema.d.ts.new src/api/schema.d.ts; then rm schema.d.ts.new; else mv schema.d.ts.new src/api/schema.d.ts; fi
if [ ! -f dist/index.html ] || [ -n "$(find src pwa index.html package.json package-lock.json tsconfig.json vite.config.ts \
        -newer dist/index.html -print -quit)" ]; then
    npm run build
fi
