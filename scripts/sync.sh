#!/usr/bin/env bash
# Install the locked environment (uv.lock, all default groups) into .venv; extra arguments go to `uv sync`.
# uv.lock takes torch (group `export`: only the MTCNN export at build time imports it) from PyPI, whose linux
# x86_64 wheel is the CUDA build (~2.7 GB with its nvidia-*, cuda-* and triton dependencies). Where a CPU wheel
# of the locked torch version is at hand (ROLLCALL_TORCH_WHEEL, by default the one in /opt/wheels on the CI
# machines), torch and those CUDA-only packages are left out of the sync and that wheel goes in instead, without
# dependencies: its own (sympy, networkx, fsspec, filelock, jinja2, ...) are torch's locked ones, already synced.
# ROLLCALL_TORCH_WHEEL= (empty) always installs exactly the lock.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install --quiet "uv==0.13.9"
wheel="${ROLLCALL_TORCH_WHEEL-/opt/wheels/torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl}"
locked="$(sed -n '/^name = "torch"$/{n;s/^version = "\(.*\)"$/\1/p;}' uv.lock)"
if [[ -n "$wheel" && -f "$wheel" && "$(basename "$wheel")" == "torch-${locked}+"* ]]; then
    skip=(--no-install-package torch)
    for p in $(sed -n 's/^name = "\(nvidia-[^"]*\|cuda-[^"]*\|triton\)"$/\1/p' uv.lock); do
        skip+=(--no-install-package "$p")
    done
    python3 -m uv sync --frozen "${skip[@]}" "$@"
    # --no-config: pyproject's override-dependencies (torch==2.13.0) would otherwise swap PyPI's torch back in.
    python3 -m uv pip install --quiet --no-config --no-deps --python .venv/bin/python "$wheel"
else
    [[ -z "$wheel" || ! -f "$wheel" ]] || echo "sync.sh: $wheel is not torch ${locked}; installing the lock's torch" >&2
    python3 -m uv sync --frozen "$@"
fi
