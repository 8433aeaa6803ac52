"""Greedy non-maximum suppression in numpy, shared by every detector so they all merge boxes the same way."""

from __future__ import annotations

from typing import Literal

import numpy as np

Overlap = Literal["union", "smaller"]


def nms(
    boxes: np.ndarray,
    scores: np.ndarray,
    iou_threshold: float,
    top_k: int | None = None,
    *,
    over: Overlap = "union",
    inclusive: bool = False,
) -> np.ndarray:
    """Indices of the boxes kept, best score first.

    ``boxes`` is ``(N, 4)`` as x1, y1, x2, y2; a box is dropped when it overlaps a better one by more than
    ``iou_threshold``. ``top_k`` stops after that many boxes, which bounds the work on crowded frames.
    ``over="smaller"`` divides the intersection by the smaller box instead of the union, so a box nested in
    a better one goes however small it is; ``inclusive`` counts pixels as x2 - x1 + 1. MTCNN's last stage
    needs both to reproduce the reference implementation exactly.
    """
    pad = 1.0 if inclusive else 0.0
    order = np.argsort(-scores, kind="stable")
    areas = np.clip(boxes[:, 2] - boxes[:, 0] + pad, 0, None) * np.clip(
        boxes[:, 3] - boxes[:, 1] + pad, 0, None
    )
    keep: list[int] = []
    while order.size and (top_k is None or len(keep) < top_k):
        best, rest = order[0], order[1:]
        keep.append(int(best))
        width = np.clip(
            np.minimum(boxes[best, 2], boxes[rest, 2]) - np.maximum(boxes[best, 0], boxes[rest, 0]) + pad,
            0,
            None,
        )
        height = np.clip(
            np.minimum(boxes[best, 3], boxes[rest, 3]) - np.maximum(boxes[best, 1], boxes[rest, 1]) + pad,
            0,
            None,
        )
        overlap = width * height
        base = (
            np.minimum(areas[best], areas[rest]) if over == "smaller" else areas[best] + areas[rest] - overlap
        )
        ratio = np.divide(overlap, base, out=np.zeros_like(overlap), where=base > 0)
        order = rest[ratio <= iou_threshold]
    return np.asarray(keep, dtype=np.int64)
