"""YuNet, the "fast" detector profile: a tiny anchor-free network run by ONNX Runtime on the fixed-up graph.

Decoding follows OpenCV's ``FaceDetectorYN`` (the reference implementation of this model), so scores and
boxes mean the same as there; images are fed as float BGR 0-255, padded at the bottom/right to multiples of
32 because the network's feature pyramid halves the sides five times.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort

from models.build.onnx_fixups import build_yunet
from models.detectors.nms import nms
from models.registry import default_cache_dir
from models.runtime import RuntimeOptions, create_session
from models.types import Face

STRIDES = (8, 16, 32)
_SIDE_MULTIPLE = 32


class YunetDetector:
    """Finds faces and their five landmarks; landmarks come out of YuNet already in the ArcFace order."""

    name = "fast"

    def __init__(
        self,
        session: ort.InferenceSession,
        *,
        score_threshold: float = 0.6,
        nms_iou: float = 0.3,
        top_k: int = 100,
        max_side: int = 640,
    ) -> None:
        """``top_k`` caps faces per image; larger images are shrunk to ``max_side`` (cost grows with area)."""
        self._session = session
        self._input = session.get_inputs()[0].name
        self._outputs = [output.name for output in session.get_outputs()]
        self.score_threshold = score_threshold
        self.nms_iou = nms_iou
        self.top_k = top_k
        self.max_side = max_side

    @classmethod
    def load(cls, cache_dir: Path | None = None, options: RuntimeOptions | None = None) -> YunetDetector:
        return cls(create_session(build_yunet(cache_dir or default_cache_dir()), options))

    def detect(self, image: np.ndarray) -> list[Face]:
        return self.detect_batch([image])[0]

    def detect_batch(self, images: list[np.ndarray]) -> list[list[Face]]:
        """Run images that pad to the same size as one ORT batch (kiosk frames usually all do)."""
        prepared = [self._prepare(image) for image in images]
        groups: dict[tuple[int, ...], list[int]] = defaultdict(list)
        for index, (blob, _) in enumerate(prepared):
            groups[blob.shape].append(index)
        results: list[list[Face]] = [[] for _ in images]
        for indices in groups.values():
            batch = np.stack([prepared[i][0] for i in indices])
            outputs = self._session.run(self._outputs, {self._input: batch})
            heads = dict(zip(self._outputs, outputs, strict=True))
            for row, index in enumerate(indices):
                per_image = {name: output[row] for name, output in heads.items()}
                results[index] = self._decode(per_image, batch.shape[2], batch.shape[3], prepared[index][1])
        return results

    def _prepare(self, image: np.ndarray) -> tuple[np.ndarray, tuple[float, float]]:
        """Return the padded CHW float blob and the (x, y) factors from image to blob coordinates."""
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8 or image.size == 0:
            raise ValueError(f"expected a uint8 BGR image (H, W, 3), got {image.dtype} {image.shape}")
        height, width = image.shape[:2]
        shrink = min(1.0, self.max_side / max(height, width))
        if shrink < 1.0:
            size = (max(1, round(width * shrink)), max(1, round(height * shrink)))
            image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        new_height, new_width = image.shape[:2]
        bottom, right = -new_height % _SIDE_MULTIPLE, -new_width % _SIDE_MULTIPLE
        padded = cv2.copyMakeBorder(image, 0, bottom, 0, right, cv2.BORDER_CONSTANT, value=0)
        blob = padded.transpose(2, 0, 1).astype(np.float32)
        return blob, (new_width / width, new_height / height)

    def _decode(
        self, heads: dict[str, np.ndarray], pad_height: int, pad_width: int, factors: tuple[float, float]
    ) -> list[Face]:
        boxes, landmarks, scores = [], [], []
        for stride in STRIDES:
            cols = pad_width // stride
            score = np.sqrt(
                np.clip(heads[f"cls_{stride}"][:, 0], 0, 1) * np.clip(heads[f"obj_{stride}"][:, 0], 0, 1)
            )
            (anchors,) = np.nonzero(score > self.score_threshold)
            cells = np.stack([anchors % cols, anchors // cols], axis=1).astype(np.float32)  # (col, row)
            bbox = heads[f"bbox_{stride}"][anchors]
            centre = (cells + bbox[:, :2]) * stride
            half = np.exp(bbox[:, 2:]) * stride / 2
            boxes.append(np.concatenate([centre - half, centre + half], axis=1))
            landmarks.append((cells[:, None, :] + heads[f"kps_{stride}"][anchors].reshape(-1, 5, 2)) * stride)
            scores.append(score[anchors])
        all_boxes, all_landmarks, all_scores = (np.concatenate(part) for part in (boxes, landmarks, scores))
        blob_per_image = np.asarray(factors, dtype=np.float32)
        return [
            Face(
                box=(all_boxes[i].reshape(2, 2) / blob_per_image).reshape(4).astype(np.float32),
                landmarks=(all_landmarks[i] / blob_per_image).astype(np.float32),
                score=float(all_scores[i]),
            )
            for i in nms(all_boxes, all_scores, self.nms_iou, self.top_k)
        ]
