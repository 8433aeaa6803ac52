"""Head-motion geometry from the five landmarks: which way, and how far, the head turned.

Why a homography: every view of a flat picture (a printed photo, a phone screen) - moved, rotated, tilted -
is related to every other view by a plane-to-plane homography. Mapping each frame's eyes and mouth corners
onto the ArcFace template cancels the motion of the eye-mouth plane, and what is left is the nose's
parallax: a real nose sits in front of that plane, so when a real head turns the mapped nose slides
sideways. In theory a photo's printed nose stays put; in practice the landmark regressor, trained on real
faces, draws a turned photo's nose partly where a turned head's would be, so this measure answers "did the
head turn the asked way" and ``models.liveness.flow`` answers "was it flat".
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from models.alignment import ARCFACE_TEMPLATE

#: Template indices of the points that (nearly) share a plane: both eyes and both mouth corners.
_PLANE = (0, 1, 3, 4)
_NOSE = 2
#: Inter-ocular distance in the template: every distance here is in these units, whatever the face size.
_TEMPLATE_IOD = float(np.hypot(*(ARCFACE_TEMPLATE[1] - ARCFACE_TEMPLATE[0])))


def nose_parallax(landmarks: np.ndarray) -> np.ndarray:
    """The nose's offset (x, y) from its template position once the eye-mouth plane is mapped onto the
    template, in inter-ocular distances. +x means the nose points to the picture's right."""
    points = landmarks.astype(np.float64)
    plane = cv2.getPerspectiveTransform(
        points[list(_PLANE)].astype(np.float32), ARCFACE_TEMPLATE[list(_PLANE)]
    )
    nose = plane @ np.array([points[_NOSE, 0], points[_NOSE, 1], 1.0])
    if abs(nose[2]) < 1e-9:  # degenerate quad (points collinear): no meaningful parallax
        return np.zeros(2)
    mapped = nose[:2] / nose[2]
    parallax: np.ndarray = (mapped - ARCFACE_TEMPLATE[_NOSE]) / _TEMPLATE_IOD
    return parallax


def directed_turn(parallax_x: Sequence[float] | np.ndarray, direction: float) -> float:
    """The largest move of the nose in ``direction`` (+1 picture-right, -1 picture-left) between any earlier
    and any later frame: a turn performed anywhere within the burst counts, wherever the head started."""
    values = np.asarray(parallax_x, dtype=np.float64) * direction
    if values.size < 2:
        return 0.0
    lowest_so_far = np.minimum.accumulate(values[:-1])
    return float(max(0.0, np.max(values[1:] - lowest_so_far)))


def side_reach(parallax_x: Sequence[float] | np.ndarray, direction: float) -> float:
    """How far toward ``direction`` of frontal (zero parallax) the head got in any frame. A turn is a move
    *to* the asked side: a head coming back to frontal from the other side moves the asked way too, and
    without this a recording that turns one way and back would answer either challenge."""
    values = np.asarray(parallax_x, dtype=np.float64) * direction
    return float(max(0.0, values.max())) if values.size else 0.0


def image_motion(landmarks: Sequence[np.ndarray]) -> float:
    """How far the landmarks moved in the picture (any motion, flat or not), in inter-ocular distances of
    the first frame: tells "nothing moved" (a still photo) from "something moved, but flat"."""
    first = landmarks[0].astype(np.float64)
    iod = max(float(np.hypot(*(first[1] - first[0]))), 1e-6)
    return max(float(np.max(np.linalg.norm(lm.astype(np.float64) - first, axis=1))) for lm in landmarks) / iod
