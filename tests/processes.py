"""Live processes by what their command line names: how the tests prove a command left no server behind
(PostgreSQL's postmaster names its data directory; redis-server and Milvus are found by their ports)."""

from __future__ import annotations

from pathlib import Path


def processes_naming(text: str) -> list[str]:
    """Command lines of live processes that contain ``text`` (pytest's own are left out)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            line = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in line and "pytest" not in line:
            found.append(line)
    return found
