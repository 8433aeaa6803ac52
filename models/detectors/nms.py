"""Greedy non-maximum suppression in numpy, shared by every detector so they all merge boxes the same way."""

from __future__ import annotations

import numpy as np


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float, top_k: int | None = None) -> np.ndarray:
    """Indices of the boxes kept, best score first.

    ``boxes`` is ``(N, 4)`` as x1, y1, x2, y2; a box is dropped when it overlaps a better one by more than
    ``iou_threshold``. ``top_k`` stops after that many boxes, which bounds the work on crowded frames.
    """
    order = np.argsort(-scores, kind="stable")
    areas = np.clip(boxes[:, 2] - boxes[:, 0], 0, None) * np.clip(boxes[:, 3] - boxes[:, 1], 0, None)
    keep: list[int] = []
    while order.size and (top_k is None or len(keep) < top_k):
        best, rest = order[0], order[1:]
        keep.append(int(best))
        iou = _iou(boxes[best], areas[best], boxes[rest], areas[rest])
        order = rest[iou <= iou_threshold]
    return np.asarray(keep, dtype=np.int64)


def _iou(box: np.ndarray, area: float, others: np.ndarray, other_areas: np.ndarray) -> np.ndarray:
    width = np.clip(np.minimum(box[2], others[:, 2]) - np.maximum(box[0], others[:, 0]), 0, None)
    height = np.clip(np.minimum(box[3], others[:, 3]) - np.maximum(box[1], others[:, 1]), 0, None)
    overlap = width * height
    union = area + other_areas - overlap
    return np.divide(overlap, union, out=np.zeros_like(overlap), where=union > 0)
