"""Fuse several embeddings of one face (a burst's frames, or several photos) into one search vector.

Why: each frame's embedding is the person's identity plus that frame's noise (motion blur, a blink, a slight
turn, a compression artefact). Averaging the unit vectors cancels part of the noise that differs from frame to
frame, so one fused search is more reliable than the best or the first single frame, and it costs one gallery
search instead of N. ``models.eval identify --fuse N`` measures the gain (docs/MODELS.md, "Fusion").
"""

from __future__ import annotations

import numpy as np


def fuse(vectors: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """One unit vector ``(dim,)`` from ``vectors`` ``(N, dim)``: the weighted mean of their unit directions,
    re-normalised.

    - Each row is normalised first, so a frame counts by its weight only, never by its vector's length.
    - ``weights`` (N,), non-negative, default all 1: pass the detection score of each frame, so a blurred
      or half-occluded frame (low score) pulls the mean less than a clear one.
    - The result is normalised again because the mean of unit vectors is shorter than 1; the gallery and its
      thresholds compare unit vectors by cosine. Fused vectors sit closer to the person's templates than a
      single frame does, but a stranger's fused vector also loses noise, so a threshold chosen for single
      photos is not automatically right for fused ones: choose it on fused searches
      (``models.eval identify --fuse``).

    One vector in gives the same (unit) vector back. Raises ``ValueError`` on an empty input, a zero or
    non-finite row, bad weights, or vectors that cancel out (the mean has no direction).
    """
    array = np.asarray(vectors, dtype=np.float64)
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2 or array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(f"expected vectors of shape (N, dim) with N >= 1, got {np.shape(vectors)}")
    if not np.isfinite(array).all():
        raise ValueError("vectors contain NaN or infinity")
    norms = np.linalg.norm(array, axis=1)
    if (norms == 0).any():
        raise ValueError("a vector of length zero has no direction to fuse")
    if weights is None:
        w = np.ones(array.shape[0])
    else:
        w = np.asarray(weights, dtype=np.float64).reshape(-1)
        if w.shape[0] != array.shape[0]:
            raise ValueError(f"expected {array.shape[0]} weights, got {w.shape[0]}")
        if not np.isfinite(w).all() or (w < 0).any() or w.sum() <= 0:
            raise ValueError("weights must be finite, non-negative and not all zero")
    mean = (w[:, None] * (array / norms[:, None])).sum(axis=0)
    length = float(np.linalg.norm(mean))
    if length <= 1e-12 * w.sum():
        raise ValueError("the vectors cancel out: their mean has no direction")
    fused: np.ndarray = (mean / length).astype(np.float32)
    return fused
