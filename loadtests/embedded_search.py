"""``python -m loadtests.embedded_search``: Milvus Lite against the ``milvus`` server wheel, CPU per search.

Which one should a single machine run by default? Each is filled with one school of ``--size`` vectors
(SFace's 128 dimensions, clustered into identities of five "photos" as ``loadtests.vectors`` makes them),
through the product's own store (``models.gallery.FaceGallery``: its schema, index and search), then
searched ``--searches`` times one probe at a time, as the Matcher searches: the whole school, then a
30-student roster's labels (the kiosk's first search). The figure is CPU milliseconds per search of this
process and every process it started (the Milvus server or Lite's own), from ``/proc`` (``loadtests.cpu``),
plus the wall-clock p50. Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from loadtests import cpu
from loadtests.milvus_server import LoopbackMilvus
from models.gallery import FaceGallery

app = typer.Typer(add_completion=False)
DIM = 128
GALLERY = "school-a"


@dataclass(frozen=True, slots=True)
class SearchCost:
    backend: str
    size: int
    search: str  # "school" or "roster"
    cpu_ms: float
    p50_ms: float


def faces(size: int, seed: int) -> tuple[np.ndarray, list[str]]:
    """``size`` unit vectors in identities of five, and their labels."""
    rng = np.random.default_rng(seed)
    people = max(size // 5, 1)
    centres = rng.normal(size=(people, DIM))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    owner = np.arange(size) % people
    vectors = centres[owner] + rng.normal(scale=0.09, size=(size, DIM))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors.astype(np.float32), [f"student-{i}" for i in owner]


def measure(store: FaceGallery, backend: str, size: int, searches: int, seed: int) -> list[SearchCost]:
    vectors, labels = faces(size, seed)
    by_label: dict[str, list[int]] = {}
    for row, label in enumerate(labels):
        by_label.setdefault(label, []).append(row)
    for label, rows in by_label.items():
        store.add(GALLERY, label, vectors[rows])
    rng = np.random.default_rng(seed + 1)
    probes = vectors[rng.integers(0, size, searches)] + rng.normal(scale=0.05, size=(searches, DIM))
    probes = (probes / np.linalg.norm(probes, axis=1, keepdims=True)).astype(np.float32)
    roster = frozenset(list(by_label)[:30])
    costs = []
    for search, among in (("school", None), ("roster", roster)):
        for probe in probes[:20]:  # warm-up: segments loaded, caches filled
            store.search(GALLERY, probe[None, :], labels=among)
        before, took = cpu.snapshot(), []
        for probe in probes:
            started = time.perf_counter()
            store.search(GALLERY, probe[None, :], labels=among)
            took.append((time.perf_counter() - started) * 1000)
        spent = sum(cpu.per_request(before, cpu.snapshot(), searches).values())
        costs.append(SearchCost(backend, size, search, round(spent, 2), round(float(np.median(took)), 2)))
    return costs


@app.command()
def main(
    size: Annotated[list[int], typer.Option(help="vectors in the school (repeat)")] = [1000, 10_000, 20_000],  # noqa: B006
    searches: Annotated[int, typer.Option(help="searches per measurement")] = 500,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    results: list[SearchCost] = []
    with tempfile.TemporaryDirectory(prefix="rollcall-search-") as state:
        for n in size:
            lite = FaceGallery(str(Path(state) / f"lite-{n}.db"), "bench", DIM)
            try:
                results += measure(lite, "lite", n, searches, seed=n)
            finally:
                lite.close()
            with LoopbackMilvus(Path(state) / f"server-{n}") as server:
                store = FaceGallery(server.uri, "bench", DIM)
                try:
                    results += measure(store, "server", n, searches, seed=n)
                finally:
                    store.close()
    for row in results:
        figures = f"CPU {row.cpu_ms:6.2f} ms/search  p50 {row.p50_ms} ms"
        print(f"{row.backend:6} {row.size:>6} {row.search:6}  {figures}")
    if as_json:
        print(json.dumps([asdict(row) for row in results]))


if __name__ == "__main__":
    app()
