"""``python -m loadtests.vectors --n 1000000``: Milvus at school-district scale, against a real Milvus server.

Starts a Milvus standalone server (the `milvus` wheel, every address on 127.0.0.1, its own data dir), loads
``--n`` synthetic unit vectors of the SFace dimension plus real SFace vectors of LFW people, builds the index
(HNSW with the product's parameters, or IVF_FLAT for comparison), and reports the build time, the server's
memory (RSS of the Milvus process), search latency p50/p99 at concurrency 1 and 8, and recall@1 against an
exact (numpy) search over the same school.

Why these choices:
- The collection has the product's schema and search (``models.gallery``): the school is the partition key,
  every search filters on it, COSINE, ``top_k`` 5, HNSW ``ef`` 64. Rows are spread over ``--schools``
  schools, so a search scans ``n / schools`` vectors of its school, as a district deployment would.
- Synthetic vectors are clustered like faces (identities of five "photos" each: a centre plus noise, cosine
  about 0.66 to the centre and 0.36 between two photos, looser than SFace's genuine pairs at 0.5-0.7, so
  neighbours are harder to tell apart than real ones), not uniform on the sphere: with uniform vectors every
  neighbour is about equally far and recall means little. Queries are new "photos" of stored identities plus
  the real LFW probes.
- The index is built after the data is in (``create_index`` on sealed segments), so the build time is the
  index alone, not the inserts.
- ``--roster K``: each query is searched among the labels of a roster only (the kiosk's first search,
  ``checkin``): the query's own stored vector and those of ``K * 5 - 1`` other vectors of its school (K
  students of five photos), as ``label in [...]`` within the school's filter; recall is then against the
  exact top-1 within the roster. A class is a label filter, not a partition of its own: a student belongs to
  several classes, and a partition key holds one value per row.
"""

from __future__ import annotations

import json
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
import psutil
import typer
from pymilvus import MilvusClient
from rich.console import Console
from rich.table import Table

from models.gallery import FaceGallery

app = typer.Typer(add_completion=False)
console = Console(stderr=True, soft_wrap=True)

DIM = 128  # SFace
MODEL_ID = "bench-vectors"
#: Product search settings (models.gallery defaults and serve_config.yaml's Matcher top_k).
TOP_K = 5
HNSW_EF = 64
IVF_NLIST = 1024
IVF_NPROBE = 32
INSERT_BATCH = 20_000
Index = Literal["hnsw", "ivf"]


@dataclass(frozen=True, slots=True)
class VectorReport:
    index: str
    search: str
    vectors: int
    real_vectors: int
    schools: int
    per_school: int
    insert_s: float
    build_s: float
    load_s: float
    milvus_rss_mib: float
    recall_at_1: float
    queries: int
    c1_p50_ms: float
    c1_p99_ms: float
    c1_qps: float
    c8_p50_ms: float
    c8_p99_ms: float
    c8_qps: float


def clustered(n: int, rng: np.random.Generator, photos_per_identity: int = 5) -> np.ndarray:
    """``n`` unit vectors in identities of ``photos_per_identity``: centre plus noise (see the docstring)."""
    identities = max(1, n // photos_per_identity)
    centres = rng.standard_normal((identities, DIM), dtype=np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    out = np.empty((n, DIM), dtype=np.float32)
    for start in range(0, n, 100_000):
        stop = min(n, start + 100_000)
        owner = np.arange(start, stop) % identities
        chunk = centres[owner] + rng.standard_normal((stop - start, DIM), dtype=np.float32) * 0.118
        out[start:stop] = chunk / np.linalg.norm(chunk, axis=1, keepdims=True)
    return out


def perturbed(base: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Another "photo" of the identities in ``base``: the same noise level again."""
    out = base + rng.standard_normal(base.shape, dtype=np.float32) * 0.118
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def real_vectors(people: int) -> tuple[np.ndarray, np.ndarray]:
    """SFace vectors of LFW people with two or more photos: ``(enrolled, probes)``, row i of each the same
    person. Encoded in this process with the fast profile, as the Serve pipeline would."""
    from models.eval.datasets import faces_root
    from models.eval.encoder import FaceEncoder

    folders = [d for d in sorted((faces_root() / "lfw").iterdir()) if len(list(d.glob("*.jpg"))) >= 2]
    pairs = [sorted(d.glob("*.jpg"))[:2] for d in folders[:people]]
    encoder = FaceEncoder.load("fast")
    first = encoder.encode([p[0] for p in pairs], "center")
    second = encoder.encode([p[1] for p in pairs], "center")
    both = first.found & second.found
    return first.vectors[both], second.vectors[both]


def _wait_for_index(client: MilvusClient, collection: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        info = client.describe_index(collection, "vector")
        if info.get("state") == "Finished" and int(info.get("pending_index_rows", 0)) == 0:
            return
        if info.get("state") == "Failed":
            raise RuntimeError(f"index build failed: {info}")
        time.sleep(0.5)
    raise TimeoutError(f"index not built after {timeout_s} s")


def _latencies(
    client: MilvusClient, collection: str, queries: list[tuple[str, np.ndarray]], params: dict, workers: int
) -> tuple[list[float], list[int], float]:
    """Each query alone (one vector, its filter expression), ``workers`` at a time: latencies (ms), top-1
    ids, and the wall time of the whole run."""

    def one(query: tuple[str, np.ndarray]) -> tuple[float, int]:
        expr, vector = query
        started = time.perf_counter()
        hits = client.search(
            collection,
            data=[vector.tolist()],
            filter=expr,
            limit=TOP_K,
            output_fields=["label"],
            search_params=params,
            consistency_level="Bounded",
        )[0]
        return (time.perf_counter() - started) * 1000, int(hits[0]["id"]) if hits else -1

    started = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        results = list(pool.map(one, queries))
    return [r[0] for r in results], [r[1] for r in results], time.perf_counter() - started


def percentile(values: list[float], q: float) -> float:
    return round(float(np.percentile(np.array(values), q)), 2)


def run_vectors(
    uri: str,
    server_pid: int | None,
    n: int,
    index: Index,
    schools: int,
    queries: int,
    people: int,
    seed: int,
    sweep: list[int] | None = None,
    roster: int = 0,
) -> list[VectorReport]:
    """Load, build, then search once per value of ``sweep`` (HNSW ``ef`` or IVF ``nprobe``; default the
    product's ef 64 / nprobe 32): one report each."""
    rng = np.random.default_rng(seed)
    enrolled, probes = real_vectors(people) if people else (np.empty((0, DIM), np.float32),) * 2
    synthetic = clustered(n, rng)
    vectors = np.concatenate([synthetic, enrolled])
    school_of = np.concatenate([np.arange(n) % schools, np.zeros(len(enrolled), dtype=np.int64)])
    labels = [f"s{i}" for i in range(n)] + [f"lfw{i}" for i in range(len(enrolled))]

    # The product's collection (schema, partition key, consistency), created as the Matcher creates it
    # (a left-over one from an earlier run is dropped first); its index is dropped and rebuilt after the
    # load so the build is timed alone.
    client = MilvusClient(uri=uri, timeout=600)
    gallery = FaceGallery(uri, MODEL_ID, DIM, timeout_s=600)
    client.drop_collection(gallery.collection)
    gallery.ping()
    gallery.close()
    collection = gallery.collection
    client.release_collection(collection)
    client.drop_index(collection, "vector")

    console.print(f"inserting {len(vectors):,} vectors into {schools} schools...")
    started = time.perf_counter()
    stored: list[int] = []  # Milvus' auto ids, in insert order (increasing, not contiguous across batches)
    for start in range(0, len(vectors), INSERT_BATCH):
        stop = min(len(vectors), start + INSERT_BATCH)
        rows = [
            {"gallery": f"school-{school_of[i]}", "label": labels[i], "model": MODEL_ID, "vector": vectors[i]}
            for i in range(start, stop)
        ]
        stored.extend(int(pk) for pk in client.insert(collection, rows)["ids"])
    client.flush(collection)
    insert_s = time.perf_counter() - started

    console.print(f"building {index} ...")
    params = client.prepare_index_params()
    if index == "hnsw":
        params.add_index(
            "vector", index_type="HNSW", metric_type="COSINE", params={"M": 16, "efConstruction": 200}
        )
        knob = "ef"
    else:
        params.add_index("vector", index_type="IVF_FLAT", metric_type="COSINE", params={"nlist": IVF_NLIST})
        knob = "nprobe"
    started = time.perf_counter()
    client.create_index(collection, params)
    _wait_for_index(client, collection, timeout_s=6 * 3600)
    build_s = time.perf_counter() - started
    started = time.perf_counter()
    client.load_collection(collection, timeout=3600)
    load_s = time.perf_counter() - started

    # Queries: real LFW probes in school-0 (where their enrolled photos are) and synthetic new photos of
    # random stored identities, each searched in the stored vector's own school.
    picks = rng.choice(n, size=max(0, queries - len(probes)), replace=False)
    query_vectors = np.concatenate([probes, perturbed(synthetic[picks], rng)])
    query_schools = np.concatenate([np.zeros(len(probes), dtype=np.int64), school_of[picks]])
    targets = np.concatenate([np.arange(n, n + len(probes)), picks])  # each query's own stored vector
    # Exact top-1 within what the query searches (its school, or its roster there), as Milvus ids.
    ids = np.array(stored)
    workload, exact = [], []
    for school, vector, own in zip(query_schools, query_vectors, targets, strict=True):
        members = np.flatnonzero(school_of == school)
        expr = f'gallery == "school-{school}"'
        if roster:
            size = min(roster * 5 - 1, len(members) - 1)
            others = rng.choice(members[members != own], size=size, replace=False)
            members = np.concatenate([[own], others])
            expr += " and label in [" + ", ".join(f'"{labels[i]}"' for i in members) + "]"
        workload.append((expr, vector))
        exact.append(ids[members[int(np.argmax(vectors[members] @ vector))]])
    common = {
        "index": index if not roster else f"{index} roster {roster}",
        "vectors": len(vectors),
        "real_vectors": len(enrolled),
        "schools": schools,
        "per_school": n // schools,
        "insert_s": round(insert_s, 1),
        "build_s": round(build_s, 1),
        "load_s": round(load_s, 1),
    }
    reports = []
    for value in sweep or [HNSW_EF if index == "hnsw" else IVF_NPROBE]:
        search = {"metric_type": "COSINE", "params": {knob: max(value, TOP_K) if knob == "ef" else value}}
        _latencies(client, collection, workload[: min(50, len(workload))], search, 1)  # warm caches
        c1, top1, c1_wall = _latencies(client, collection, workload, search, 1)
        c8, _, c8_wall = _latencies(client, collection, workload, search, 8)
        hits = sum(int(e == found) for e, found in zip(exact, top1, strict=True))
        reports.append(
            VectorReport(
                **common,
                search=f"{knob}={value}",
                milvus_rss_mib=_rss_mib(server_pid),
                recall_at_1=round(hits / len(workload), 4),
                queries=len(workload),
                c1_p50_ms=percentile(c1, 50),
                c1_p99_ms=percentile(c1, 99),
                c1_qps=round(len(c1) / c1_wall, 1),
                c8_p50_ms=percentile(c8, 50),
                c8_p99_ms=percentile(c8, 99),
                c8_qps=round(len(c8) / c8_wall, 1),
            )
        )
    client.close()
    return reports


def _rss_mib(pid: int | None) -> float:
    """Resident memory of the Milvus server and its children (the standalone binary is one process)."""
    if pid is None:
        return float("nan")
    root = psutil.Process(pid)
    total = sum(p.memory_info().rss for p in [root, *root.children(recursive=True)])
    return round(total / 2**20, 1)


@app.command()
def main(
    n: Annotated[int, typer.Option(help="synthetic vectors")] = 100_000,
    index: Annotated[list[str], typer.Option(help="hnsw and/or ivf (repeat the option)")] = ["hnsw"],  # noqa: B006
    schools: Annotated[
        int, typer.Option(help="schools (partition-key values) the vectors spread over")
    ] = 100,
    queries: Annotated[int, typer.Option(help="queries per concurrency level")] = 1000,
    people: Annotated[int, typer.Option(help="real LFW people enrolled (0: none)")] = 200,
    uri: Annotated[str | None, typer.Option(help="an existing Milvus server (default: start one)")] = None,
    seed: int = 7,
    sweep: Annotated[
        list[int] | None, typer.Option(help="search widths to try (HNSW ef / IVF nprobe; repeat the option)")
    ] = None,
    roster: Annotated[int, typer.Option(help="search among K students' labels of the school (0: all)")] = 0,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    from loadtests.milvus_server import LoopbackMilvus

    reports = []
    for kind in index:
        if kind not in ("hnsw", "ivf"):
            raise typer.BadParameter(f"unknown index {kind!r}: use hnsw or ivf")
        if uri:
            reports += run_vectors(uri, None, n, kind, schools, queries, people, seed, sweep, roster)
            continue
        with (
            tempfile.TemporaryDirectory(prefix="rollcall-vectors-") as state,
            LoopbackMilvus(Path(state)) as server,
        ):
            reports += run_vectors(
                server.uri, server.pid, n, kind, schools, queries, people, seed, sweep, roster
            )
    _report(reports, as_json)


def _report(reports: list[VectorReport], as_json: bool) -> None:
    table = Table(title="Milvus server: partition-key search (top-5, COSINE)")
    table.add_column("")
    for report in reports:
        table.add_column(f"{report.index} {report.search}", justify="right")
    for field in VectorReport.__dataclass_fields__:
        table.add_row(field, *(str(getattr(report, field)) for report in reports))
    Console().print(table)
    if as_json:
        print(json.dumps([asdict(r) for r in reports]))


if __name__ == "__main__":
    app()
