"""3-D parallax from image texture: how badly one plane explains the motion of the face's inner region.

Why not the landmarks alone: a landmark regressor is trained on real faces, so on a photo turned in front of
the camera it places the nose where a *turned head's* nose would be, not where the photo's printed nose
went; measured on the evaluation set, the landmarks' plane-invariant parallax put a tenth of planar photo
attacks past the challenge threshold. Texture does not guess: corners tracked (pyramidal Lucas-Kanade) in the
region spanned by the eyes, nose and mouth move under one homography when the face is a printed or shown
picture, and do not when a real head turns (the nose and cheeks sit at different depths). The figure is the
90th percentile of the tracked points' distances from the best (RANSAC) homography, in inter-ocular
distances, at the burst's worst frame; the region excludes the background, so a photo with its face cut out
and held in front of a real background gains nothing.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import cv2
import numpy as np

from models.types import Face

#: The tracked region: the landmarks' hull, scaled about its centre (eyes, nose, mouth and cheeks).
_REGION_SCALE = 1.5
_MIN_POINTS = 12


def texture_parallax(grays: Sequence[np.ndarray], face: Face) -> float | None:
    """Worst-frame 90th-percentile homography residual of tracked face texture (inter-ocular units), from
    ``grays[0]`` (where ``face`` was found) through the burst; ``None`` when too little could be tracked."""
    landmarks = face.landmarks.astype(np.float64)
    iod = float(np.hypot(*(landmarks[1] - landmarks[0])))
    if iod < 4 or len(grays) < 2:
        return None
    centre = landmarks.mean(axis=0)
    region = ((landmarks - centre) * _REGION_SCALE + centre).astype(np.int32)
    mask = np.zeros(grays[0].shape[:2], np.uint8)
    cv2.fillConvexPoly(mask, cv2.convexHull(region), 255)
    start = cv2.goodFeaturesToTrack(grays[0], 200, 0.01, 3, mask=mask)
    if start is None or len(start) < _MIN_POINTS:
        return None
    current, alive, worst = start.copy(), np.ones(len(start), bool), 0.0
    for before, after in itertools.pairwise(grays):
        if before.shape != after.shape:
            return None
        current, status, _ = cv2.calcOpticalFlowPyrLK(  # type: ignore[call-overload]  # nextPts=None
            before, after, current, None, winSize=(21, 21), maxLevel=3
        )
        alive &= status.ravel() == 1
        if alive.sum() < _MIN_POINTS:
            return None
        homography, _ = cv2.findHomography(start[alive], current[alive], cv2.RANSAC, 0.02 * iod)
        if homography is None:
            return None
        projected = cv2.perspectiveTransform(start[alive], homography)
        residual = np.linalg.norm(projected - current[alive], axis=2).ravel() / iod
        worst = max(worst, float(np.percentile(residual, 90)))
    return worst
