"""The single-process face pipeline the evaluations run: decode, detect, pick the subject, align, embed.

It calls the same model code as the Serve deployments, without Ray, so accuracy figures describe exactly what
the cluster serves and can be reproduced in a notebook.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from models.alignment import align_face
from models.detectors import load_detector
from models.embedder import SfaceEmbedder
from models.imaging import decode_image
from models.registry import default_cache_dir
from models.runtime import RuntimeOptions
from models.types import Face, FaceDetector, FaceEmbedder

Subject = Literal["center", "largest"]

# Evaluation sets are trusted files; the limits only stop a stray non-image.
_MAX_BYTES = 64 << 20
_MAX_PIXELS = 64_000_000


def select_subject(faces: Sequence[Face], shape: tuple[int, ...], subject: Subject) -> Face | None:
    """Pick the face a photo is about.

    LFW centres its subject (other people often appear at the edges), so "center" takes the face nearest the
    middle; web photos (CelebA) are about the largest face.
    """
    if not faces:
        return None
    if subject == "largest":
        return max(faces, key=lambda face: face.area)
    middle = np.array([shape[1] / 2, shape[0] / 2])

    def distance(face: Face) -> float:
        centre = np.array([(face.box[0] + face.box[2]) / 2, (face.box[1] + face.box[3]) / 2])
        return float(np.linalg.norm(centre - middle))

    return min(faces, key=distance)


@dataclass(slots=True)
class Encoded:
    """Vectors for the images that yielded a face; ``found[i]`` says whether image ``i`` did.

    The chosen face's detection score, box and landmarks come along (zero where none was found): fusion
    weights frames by score, and the per-group report buckets by face size and yaw without another model.
    """

    vectors: np.ndarray  # (N, dim); rows of images without a face are zero
    found: np.ndarray  # (N,) bool
    scores: np.ndarray | None = None  # (N,) float32 detection score of the chosen face
    boxes: np.ndarray | None = None  # (N, 4) float32 x1, y1, x2, y2
    landmarks: np.ndarray | None = None  # (N, 5, 2) float32

    def take(self, rows: Sequence[int] | np.ndarray) -> Encoded:
        """The images at ``rows``, in that order."""
        index = np.asarray(rows, dtype=np.int64)
        return Encoded(
            self.vectors[index],
            self.found[index],
            *(None if extra is None else extra[index] for extra in (self.scores, self.boxes, self.landmarks)),
        )


class FaceEncoder:
    def __init__(self, detector: FaceDetector, embedder: FaceEmbedder, batch_size: int = 16) -> None:
        self.detector = detector
        self.embedder = embedder
        self.batch_size = batch_size

    @classmethod
    def load(cls, profile: str, cache_dir: Path | None = None, threads: int = 0) -> FaceEncoder:
        options = RuntimeOptions(intra_op_threads=threads)
        return cls(load_detector(profile, cache_dir, options), SfaceEmbedder.load(cache_dir, options))

    def encode(self, paths: Sequence[Path], subject: Subject) -> Encoded:
        vectors = np.zeros((len(paths), self.embedder.dim), dtype=np.float32)
        found = np.zeros(len(paths), dtype=bool)
        scores = np.zeros(len(paths), dtype=np.float32)
        boxes = np.zeros((len(paths), 4), dtype=np.float32)
        landmarks = np.zeros((len(paths), 5, 2), dtype=np.float32)
        for start in range(0, len(paths), self.batch_size):
            chunk = paths[start : start + self.batch_size]
            images = [decode_image(path.read_bytes(), _MAX_BYTES, _MAX_PIXELS) for path in chunk]
            crops, rows = [], []
            for offset, (image, faces) in enumerate(
                zip(images, self.detector.detect_batch(images), strict=True)
            ):
                face = select_subject(faces, image.shape, subject)
                if face is not None:
                    crops.append(align_face(image, face.landmarks))
                    rows.append(start + offset)
                    scores[start + offset] = face.score
                    boxes[start + offset] = face.box
                    landmarks[start + offset] = face.landmarks
            if crops:
                vectors[rows] = self.embedder.embed(np.stack(crops))
                found[rows] = True
        return Encoded(vectors, found, scores, boxes, landmarks)

    def encode_cached(self, paths: Sequence[Path], subject: Subject) -> Encoded:
        """``encode``, kept on disk: the same files through the same detector and embedder give the same
        vectors, and encoding thousands of photos on two cores takes minutes every evaluation would repeat.

        The key is the sha256 of the sorted absolute file list, the embedder's ``model_id``, the detector
        profile and the subject rule (each changes the vectors); file contents are not hashed, so edit an
        evaluation set by adding or removing files, or clear ``eval_cache_dir()``.
        """
        order = sorted(range(len(paths)), key=lambda i: str(Path(paths[i]).resolve()))
        ordered = [Path(paths[i]) for i in order]
        key = "\n".join(
            [self.embedder.model_id, self.detector.name, subject, *(str(p.resolve()) for p in ordered)]
        )
        cached = eval_cache_dir() / f"encoded-{hashlib.sha256(key.encode()).hexdigest()[:24]}.npz"
        fields = ("vectors", "found", "scores", "boxes", "landmarks")
        if cached.is_file():
            with np.load(cached) as data:
                encoded = Encoded(*(data[name] for name in fields))
        else:
            encoded = self.encode(ordered, subject)
            cached.parent.mkdir(parents=True, exist_ok=True)
            # Write-then-rename: an interrupted run must not leave a truncated cache that later runs trust.
            handle, tmp = tempfile.mkstemp(dir=cached.parent, suffix=".npz")
            with os.fdopen(handle, "wb") as out:
                np.savez(out, **{name: getattr(encoded, name) for name in fields})
            Path(tmp).replace(cached)
        inverse = np.empty(len(order), dtype=np.int64)
        inverse[np.asarray(order, dtype=np.int64)] = np.arange(len(order))
        return encoded.take(inverse)


def eval_cache_dir() -> Path:
    """Where evaluations keep what is slow to recompute (``~/.cache/rollcall/models/eval``), the same folder
    ``models.eval.recorded`` keeps its reference yaw in."""
    return default_cache_dir() / "eval"
