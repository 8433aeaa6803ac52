"""Per-stage latency of the face pipeline in one process, and the faces per second it sustains."""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.alignment import align_face
from models.eval.encoder import FaceEncoder, select_subject
from models.gallery import FaceGallery
from models.imaging import decode_image

STAGES = ("decode", "detect", "align", "embed", "match")


@dataclass(frozen=True, slots=True)
class SpeedReport:
    profile: str
    images: int
    faces: int
    threads: int
    gallery_size: int
    stage_ms_p50: dict[str, float]
    stage_ms_mean: dict[str, float]
    faces_per_s: float  # one image at a time, all stages
    batched_faces_per_s: float  # detect and embed in batches of ``batch``
    batch: int

    def to_json(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def _synthetic_gallery(gallery: FaceGallery, size: int, dim: int, seed: int) -> None:
    """Fill the gallery with random unit vectors: only the search cost at this size is measured here."""
    rng = np.random.default_rng(seed)
    for start in range(0, size, 1000):
        n = min(1000, size - start)
        vectors = rng.standard_normal((n, dim)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        for i in range(n):
            gallery.add("speed", f"s{start + i}", vectors[i : i + 1])


def run_speed(
    encoder: FaceEncoder, profile: str, paths: list[Path], *, threads: int, gallery_size: int, batch: int
) -> SpeedReport:
    blobs = [path.read_bytes() for path in paths]
    timings: dict[str, list[float]] = {stage: [] for stage in STAGES}
    with tempfile.TemporaryDirectory(prefix="rollcall-speed-") as tmp:
        gallery = FaceGallery(str(Path(tmp) / "speed.db"), encoder.embedder.model_id, encoder.embedder.dim)
        try:
            _synthetic_gallery(gallery, gallery_size, encoder.embedder.dim, seed=0)
            gallery.search("speed", np.ones((1, encoder.embedder.dim), np.float32))  # load before timing
            faces = 0
            start_all = time.perf_counter()
            for blob in blobs:
                t0 = time.perf_counter()
                image = decode_image(blob, 64 << 20, 64_000_000)
                t1 = time.perf_counter()
                face = select_subject(encoder.detector.detect_batch([image])[0], image.shape, "center")
                t2 = time.perf_counter()
                if face is None:
                    continue
                crop = align_face(image, face.landmarks)
                t3 = time.perf_counter()
                vector = encoder.embedder.embed(crop[None])
                t4 = time.perf_counter()
                gallery.search("speed", vector)
                t5 = time.perf_counter()
                faces += 1
                for stage, (a, b) in zip(
                    STAGES, [(t0, t1), (t1, t2), (t2, t3), (t3, t4), (t4, t5)], strict=True
                ):
                    timings[stage].append((b - a) * 1000)
            sequential = faces / (time.perf_counter() - start_all)
        finally:
            gallery.close()

    encoder.batch_size = batch
    t0 = time.perf_counter()
    encoded = encoder.encode(paths, subject="center")
    batched = int(encoded.found.sum()) / (time.perf_counter() - t0)
    return SpeedReport(
        profile=profile,
        images=len(paths),
        faces=faces,
        threads=threads,
        gallery_size=gallery_size,
        stage_ms_p50={stage: round(float(np.median(v)), 3) for stage, v in timings.items()},
        stage_ms_mean={stage: round(float(np.mean(v)), 3) for stage, v in timings.items()},
        faces_per_s=round(sequential, 1),
        batched_faces_per_s=round(batched, 1),
        batch=batch,
    )
