"""Content-addressed artifact cache: a built file is named after the checksums of what it was built from.

A changed source file or build recipe therefore yields a new name and a rebuild, never a stale graph, and two
processes building at once (Serve replicas starting together) cannot see a half-written file.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def artifact_path(cache_dir: Path, name: str, *inputs: str, suffix: str = ".onnx") -> Path:
    """Name the artifact ``name`` built from ``inputs`` (source checksums plus a recipe version)."""
    key = hashlib.sha256("\0".join(inputs).encode()).hexdigest()[:16]
    return cache_dir / f"{name}-{key}{suffix}"


def ensure_artifact(target: Path, build: Callable[[Path], None]) -> Path:
    """Return ``target``, building it with ``build(tmp_path)`` first if it does not exist yet."""
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    lock_path = target.with_suffix(target.suffix + ".lock")
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if target.is_file():
                return target
            fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
            os.close(fd)
            tmp = Path(tmp_name)
            try:
                build(tmp)
                tmp.chmod(0o644)  # mkstemp makes 0600; replicas may run as another user than the builder
                tmp.replace(target)
            finally:
                tmp.unlink(missing_ok=True)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return target
