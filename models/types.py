"""The small vocabulary every model, deployment and evaluation speaks.

Images are OpenCV-style ``uint8`` BGR arrays of shape ``(H, W, 3)`` everywhere; a model that wants RGB
converts inside itself, so callers can never get the colour order wrong.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

#: Side of the aligned crop every embedder takes (the ArcFace 112x112 template).
CROP_SIZE = 112


@dataclass(frozen=True, slots=True)
class Face:
    """One detected face, in the pixel coordinates of the image it came from.

    ``landmarks`` holds five (x, y) points in the ArcFace template order: left eye, right eye, nose tip,
    left mouth corner, right mouth corner, where "left" is the left of the picture (the subject's right eye).
    """

    box: np.ndarray  # float32 (4,): x1, y1, x2, y2
    landmarks: np.ndarray  # float32 (5, 2)
    score: float

    @property
    def width(self) -> float:
        return float(self.box[2] - self.box[0])

    @property
    def height(self) -> float:
        return float(self.box[3] - self.box[1])

    @property
    def area(self) -> float:
        return max(self.width, 0.0) * max(self.height, 0.0)


class FaceDetector(Protocol):
    """A detector profile: finds faces with five landmarks. Implementations are stateless after loading."""

    name: str

    def detect_batch(self, images: list[np.ndarray]) -> list[list[Face]]:
        """Detect faces in each BGR image; the result lists faces per image, best score first."""
        ...


class FaceEmbedder(Protocol):
    """Turns aligned crops into L2-normalised vectors; ``model_id`` names the vector space they live in."""

    model_id: str
    dim: int

    def embed(self, crops: np.ndarray) -> np.ndarray:
        """Embed ``(N, 112, 112, 3)`` uint8 BGR crops into ``(N, dim)`` float32 unit vectors."""
        ...
