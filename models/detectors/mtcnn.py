"""The `accurate` detector profile: MTCNN with facenet-pytorch's weights and algorithm, on ONNX Runtime.

MTCNN's landmarks align faces better than YuNet's (MTCNN + SFace measured ~99.7 % on LFW pairs), at several
times the cost. This is a numpy port of ``facenet_pytorch.models.utils.detect_face`` with the same thresholds,
pyramid, regressions and NMS rules, so the accuracy measured with facenet-pytorch carries over; the three nets
run as ONNX graphs exported by ``models.build.mtcnn_export``, keeping torch out of serving.

Choices made in the port:

- Resizing reproduces torch's ``interpolate(mode="area")`` (adaptive average pooling: whole-pixel bins that
  overlap at non-integer ratios) bit for bit, from one summed-area table per image. ``cv2.INTER_AREA`` is not
  equivalent: it weights partial pixels and interpolates bilinearly when enlarging (candidates smaller than
  24 or 48 px). Measured with it instead, on 100 LFW images: pyramid pixels off by 1 grey level on average
  (52 at worst), boxes moved by 2 px and landmarks by 1.3 px (medians), and 5 images got a different number
  of faces. The table is also what makes all the crops of an image one vectorised gather.
- Candidates whose clipped crop is empty are dropped; facenet-pytorch skips their crops but not their boxes,
  which misaligns its arrays (a crash) in that corner case.
- R and O candidates of all images in a batch, whatever their sizes, go through their net in one call; P runs
  per image and scale (stacking same-size images per scale measured no faster on 2 cores).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import onnxruntime as ort

from models.build.mtcnn_export import build_mtcnn
from models.detectors.nms import nms
from models.registry import default_cache_dir
from models.runtime import RuntimeOptions, create_session
from models.types import Face

#: A net takes a float32 NCHW batch and returns its outputs in facenet-pytorch's order:
#: P and R give (box regression, probabilities), O gives (box regression, landmarks, probabilities).
Net = Callable[[np.ndarray], Sequence[np.ndarray]]

#: facenet-pytorch's defaults, the settings its LFW accuracy was measured with.
THRESHOLDS = (0.6, 0.7, 0.7)
MIN_FACE_SIZE = 20
FACTOR = 0.709


class MtcnnDetector:
    """Three-stage cascade: P proposes on an image pyramid, R and O rescore and refine square crops."""

    name = "accurate"

    def __init__(
        self,
        pnet: Net,
        rnet: Net,
        onet: Net,
        *,
        thresholds: tuple[float, float, float] = THRESHOLDS,
        min_face_size: int = MIN_FACE_SIZE,
        factor: float = FACTOR,
    ) -> None:
        self._pnet, self._rnet, self._onet = pnet, rnet, onet
        self.thresholds = thresholds
        self.min_face_size = min_face_size
        self.factor = factor

    @classmethod
    def load(cls, cache_dir: Path | None = None, options: RuntimeOptions | None = None) -> MtcnnDetector:
        """Open the exported graphs, exporting them first (needs torch) if the cache does not have them."""
        paths = build_mtcnn(cache_dir or default_cache_dir())
        return cls(*(_ort_net(create_session(paths[net], options)) for net in ("pnet", "rnet", "onet")))

    def detect(self, image: np.ndarray) -> list[Face]:
        return self.detect_batch([image])[0]

    def detect_batch(self, images: list[np.ndarray]) -> list[list[Face]]:
        if not images:
            return []
        tables = [_summed_area_table(image) for image in images]
        boxes = [self._propose(table) for table in tables]
        boxes = self._refine(tables, boxes)
        return self._finish(tables, boxes)

    def _propose(self, table: np.ndarray) -> np.ndarray:
        """Stage 1 (P) for one image: (n, 5) square candidates x1, y1, x2, y2, score."""
        height, width = table.shape[0] - 1, table.shape[1] - 1
        per_scale = [np.empty((0, 9), np.float32)]
        for scale in _pyramid(height, width, self.min_face_size, self.factor):
            size = (int(height * scale + 1), int(width * scale + 1))
            level = _area_resize(table, np.array([[0, 0, width, height]]), size)
            reg, prob = self._pnet(_normalise(level))
            found = _grid_boxes(reg[0], prob[0, 1], scale, self.thresholds[0])
            per_scale.append(found[nms(found[:, :4], found[:, 4], 0.5)])
        boxes = np.concatenate(per_scale)
        boxes = boxes[nms(boxes[:, :4], boxes[:, 4], 0.7)]
        # P's regression is relative to the box side without the +1 that R and O use (as in facenet-pytorch).
        sides = np.tile(boxes[:, 2:4] - boxes[:, 0:2], 2)
        return _square(np.column_stack([boxes[:, :4] + boxes[:, 5:9] * sides, boxes[:, 4]]))

    def _refine(self, tables: list[np.ndarray], boxes: list[np.ndarray]) -> list[np.ndarray]:
        """Stage 2 (R): rescore the candidates on 24x24 crops, regress them and square them again."""
        boxes, (reg, prob) = _run_on_crops(self._rnet, tables, boxes, 24)
        refined = []
        for b, r, p in zip(boxes, reg, prob, strict=True):
            keep = p[:, 1] > self.thresholds[1]
            scored = np.column_stack([b[keep, :4], p[keep, 1]])
            pick = nms(scored[:, :4], scored[:, 4], 0.7)
            refined.append(_square(_regress(scored[pick], r[keep][pick])))
        return refined

    def _finish(self, tables: list[np.ndarray], boxes: list[np.ndarray]) -> list[list[Face]]:
        """Stage 3 (O): final score, box and the five landmarks on 48x48 crops."""
        boxes, (reg, marks, prob) = _run_on_crops(self._onet, tables, boxes, 48)
        faces = []
        for b, r, m, p in zip(boxes, reg, marks, prob, strict=True):
            keep = p[:, 1] > self.thresholds[2]
            scored = np.column_stack([b[keep, :4], p[keep, 1]])
            # O's landmarks are fractions of the crop it saw, i.e. of the box before regression.
            sides = scored[:, None, 2:4] - scored[:, None, 0:2] + 1
            points = sides * m[keep].reshape(-1, 2, 5).transpose(0, 2, 1) + scored[:, None, 0:2] - 1
            final = _regress(scored, r[keep])
            pick = nms(final[:, :4], final[:, 4], 0.7, over="smaller", inclusive=True)  # facenet "Min"
            final, points = final[pick].astype(np.float32), points[pick].astype(np.float32)
            faces.append(
                [
                    Face(box=f[:4], landmarks=pt, score=float(f[4]))
                    for f, pt in zip(final, points, strict=True)
                ]
            )
        return faces


def _ort_net(session: ort.InferenceSession) -> Net:
    input_name = session.get_inputs()[0].name
    return lambda batch: session.run(None, {input_name: batch})


def _pyramid(height: int, width: int, min_face_size: int, factor: float) -> list[float]:
    """Scales that map faces from ``min_face_size`` up to the whole image onto P's 12-pixel window."""
    scale = 12.0 / min_face_size
    side = min(height, width) * scale
    scales = []
    while side >= 12:
        scales.append(scale)
        scale *= factor
        side *= factor
    return scales


def _summed_area_table(image: np.ndarray) -> np.ndarray:
    """(H+1, W+1, 3) int64 running sums of the RGB image: any box average becomes four lookups."""
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected a uint8 BGR image (H, W, 3), got {image.dtype} {image.shape}")
    table = np.zeros((image.shape[0] + 1, image.shape[1] + 1, 3), np.int64)
    table[1:, 1:] = image[..., ::-1]
    table.cumsum(axis=0, out=table)
    return table.cumsum(axis=1, out=table)


def _area_resize(table: np.ndarray, regions: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize integer regions (n, 4: x0, y0, x1, y1, end-exclusive) to ``size`` as torch's "area" mode does.

    torch averages over bins [floor(i*L/n), ceil((i+1)*L/n)) and divides the float32 sum by the bin height,
    then by its width; doing the same keeps the result bit-identical.
    """
    rows0, rows1 = _bins(regions[:, 1], regions[:, 3], size[0])
    cols0, cols1 = _bins(regions[:, 0], regions[:, 2], size[1])
    rows0, rows1 = rows0[:, :, None], rows1[:, :, None]
    cols0, cols1 = cols0[:, None, :], cols1[:, None, :]
    sums = table[rows1, cols1] - table[rows0, cols1] - table[rows1, cols0] + table[rows0, cols0]
    heights = (rows1 - rows0).astype(np.float32)[..., None]
    widths = (cols1 - cols0).astype(np.float32)[..., None]
    means: np.ndarray = sums.astype(np.float32) / heights / widths
    return means


def _bins(start: np.ndarray, end: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    length = (end - start)[:, None]
    i = np.arange(size)
    return start[:, None] + i * length // size, start[:, None] + ((i + 1) * length + size - 1) // size


def _normalise(pixels: np.ndarray) -> np.ndarray:
    """(n, h, w, 3) RGB 0-255 -> the (x - 127.5) / 128 NCHW float32 batch MTCNN was trained on."""
    return np.ascontiguousarray(((pixels - 127.5) * 0.0078125).transpose(0, 3, 1, 2), dtype=np.float32)


def _grid_boxes(reg: np.ndarray, prob: np.ndarray, scale: float, threshold: float) -> np.ndarray:
    """P's output cells over ``threshold`` as (n, 9) image boxes: x1, y1, x2, y2, score, 4 regressions."""
    ys, xs = np.nonzero(prob >= threshold)
    cells = np.column_stack([xs, ys]).astype(np.float32)
    # P sees 12x12 windows at stride 2 of the scaled image.
    top_left = np.floor((2 * cells + 1) / np.float32(scale))
    bottom_right = np.floor((2 * cells + 12) / np.float32(scale))
    return np.column_stack([top_left, bottom_right, prob[ys, xs], reg[:, ys, xs].T]).astype(np.float32)


def _square(boxes: np.ndarray) -> np.ndarray:
    """Grow each box to a square around its centre (R and O take square crops)."""
    sizes = boxes[:, 2:4] - boxes[:, 0:2]
    sides = sizes.max(axis=1, keepdims=True)
    boxes = boxes.copy()
    boxes[:, 0:2] = boxes[:, 0:2] + sizes * 0.5 - sides * 0.5
    boxes[:, 2:4] = boxes[:, 0:2] + sides
    return boxes


def _regress(boxes: np.ndarray, reg: np.ndarray) -> np.ndarray:
    """Apply R's or O's box regression, which is relative to the inclusive pixel size."""
    sides = np.tile(boxes[:, 2:4] - boxes[:, 0:2] + 1, 2)
    return np.column_stack([boxes[:, :4] + reg * sides, boxes[:, 4]])


def _run_on_crops(
    net: Net, tables: list[np.ndarray], boxes: list[np.ndarray], side: int
) -> tuple[list[np.ndarray], list[list[np.ndarray]]]:
    """Run ``net`` once on the ``side``-pixel crops of every image's boxes.

    Returns the boxes that had pixels inside their image, and each net output split back per image.
    """
    kept, crops = [], []
    for table, b in zip(tables, boxes, strict=True):
        regions = _crop_regions(b, width=table.shape[1] - 1, height=table.shape[0] - 1)
        inside = (regions[:, 2] > regions[:, 0]) & (regions[:, 3] > regions[:, 1])
        kept.append(b[inside])
        crops.append(_area_resize(table, regions[inside], (side, side)))
    # An empty batch is fine: the graphs (and torch) return empty outputs, which keeps this path branch-free.
    outputs = net(_normalise(np.concatenate(crops)))
    splits = np.cumsum([len(b) for b in kept])[:-1]
    return kept, [np.split(output, splits) for output in outputs]


def _crop_regions(boxes: np.ndarray, width: int, height: int) -> np.ndarray:
    """Integer pixel regions (x0, y0, x1, y1, end-exclusive) of the boxes, clipped to the image.

    Like facenet-pytorch: truncate toward zero, treat the result as 1-based and clip; the part of a box
    outside the image is cut off rather than zero-padded, so such crops are stretched.
    """
    corners = np.trunc(boxes[:, :4]).astype(np.int64)
    x0 = np.maximum(corners[:, 0], 1) - 1
    y0 = np.maximum(corners[:, 1], 1) - 1
    x1 = np.minimum(corners[:, 2], width)
    y1 = np.minimum(corners[:, 3], height)
    return np.column_stack([x0, y0, x1, y1])
