"""Warp each face onto the ArcFace 112x112 template, the geometry every embedder here was trained on.

The transform is a least-squares similarity (Umeyama 1991): rotation, uniform scale and shift only, so a face
is never sheared to fit, and it is deterministic (unlike a random-sampling robust fit) so a re-run of an
enrollment gives the same crop and the same vector.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from models.types import CROP_SIZE, Face

#: Where the five landmarks (left eye, right eye, nose, left and right mouth corner) sit in an aligned crop.
ARCFACE_TEMPLATE = np.array(
    [
        [38.2946, 51.6963],
        [73.5318, 51.5014],
        [56.0252, 71.7366],
        [41.5493, 92.3655],
        [70.7299, 92.2041],
    ],
    dtype=np.float32,
)


def similarity_transform(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The 2x3 matrix of the similarity that maps ``source`` points closest to ``target`` (least squares)."""
    source = np.asarray(source, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    source_mean, target_mean = source.mean(axis=0), target.mean(axis=0)
    source_centred, target_centred = source - source_mean, target - target_mean
    covariance = target_centred.T @ source_centred / len(source)
    u, singular, vt = np.linalg.svd(covariance)
    reflection = np.array([1.0, np.sign(np.linalg.det(u) * np.linalg.det(vt)) or 1.0])
    rotation = u @ np.diag(reflection) @ vt
    variance = (source_centred**2).sum() / len(source)
    scale = float(singular @ reflection) / variance if variance > 0 else 1.0
    shift = target_mean - scale * rotation @ source_mean
    return np.hstack([scale * rotation, shift[:, None]])


def align_face(image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """Return the ``(112, 112, 3)`` uint8 crop of the face whose five landmarks are given."""
    matrix = similarity_transform(landmarks, ARCFACE_TEMPLATE)
    return cv2.warpAffine(image, matrix, (CROP_SIZE, CROP_SIZE), flags=cv2.INTER_LINEAR, borderValue=0)


def align_faces(image: np.ndarray, faces: Sequence[Face]) -> np.ndarray:
    """Crops of all ``faces`` of one image as one ``(N, 112, 112, 3)`` array, ready for an embedder."""
    crops = np.empty((len(faces), CROP_SIZE, CROP_SIZE, 3), dtype=np.uint8)
    for crop, face in zip(crops, faces, strict=True):
        crop[...] = align_face(image, face.landmarks)
    return crops
