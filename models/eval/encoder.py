"""The single-process face pipeline the evaluations run: decode, detect, pick the subject, align, embed.

It calls the same model code as the Serve deployments, without Ray, so accuracy figures describe exactly what
the cluster serves and can be reproduced in a notebook.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from models.alignment import align_face
from models.detectors import load_detector
from models.embedder import SfaceEmbedder
from models.imaging import decode_image
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
    """Vectors for the images that yielded a face; ``found[i]`` says whether image ``i`` did."""

    vectors: np.ndarray  # (N, dim); rows of images without a face are zero
    found: np.ndarray  # (N,) bool


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
            if crops:
                vectors[rows] = self.embedder.embed(np.stack(crops))
                found[rows] = True
        return Encoded(vectors, found)
