"""Detection with what every caller needs next: each face's aligned 112x112 crop and its quality measures.

Alignment and quality sit next to detection (as Immich's ML service does) so one call to the Detector gives a
use case everything it acts on: the crops go to the Embedder or Liveness as they are, the measures to the
quality policy, and the caller (the Ingress) does no image work between stages. Shared by the Detector
deployment and the in-process pipeline.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from models.alignment import align_faces
from models.quality import FaceQuality, measure_quality
from models.types import Face, FaceDetector


@dataclass(frozen=True, slots=True)
class DetectedFace:
    face: Face
    quality: FaceQuality


@dataclass(frozen=True, slots=True)
class FoundFaces:
    """The faces of one image, best score first, with their aligned crops (row i belongs to ``faces[i]``)."""

    faces: list[DetectedFace]
    crops: np.ndarray  # (N, 112, 112, 3) uint8 BGR

    def __post_init__(self) -> None:
        if len(self.faces) != len(self.crops):
            raise ValueError(f"{len(self.faces)} faces but {len(self.crops)} crops")


def find_faces(detector: FaceDetector, images: Sequence[np.ndarray], min_score: float) -> list[FoundFaces]:
    """Faces with score >= ``min_score`` in each image, aligned and measured; one detector call for all."""
    found = detector.detect_batch(list(images))
    return [
        measured(image, [face for face in faces if face.score >= min_score])
        for image, faces in zip(images, found, strict=True)
    ]


def measured(image: np.ndarray, faces: list[Face]) -> FoundFaces:
    """``faces`` of ``image`` with their aligned crops and quality measures."""
    crops = align_faces(image, faces)
    detected = [
        DetectedFace(face, measure_quality(crop, face)) for crop, face in zip(crops, faces, strict=True)
    ]
    return FoundFaces(detected, crops)
