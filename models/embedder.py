"""SFace: aligned 112x112 face crops to 128-d unit vectors, batched in ONNX Runtime.

SFace was trained on RGB crops; fed BGR it still returns plausible vectors that match worse, silently, so the
channel swap lives here and callers keep passing BGR like everywhere else. The graph normalises pixels
itself ((x - 127.5) / 128), so it takes raw 0-255 floats.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort

from models.build.onnx_fixups import build_sface
from models.registry import default_cache_dir, model_file
from models.runtime import RuntimeOptions, create_session
from models.types import CROP_SIZE

# Bounds the float copy of a huge call (an evaluation run) while keeping per-batch overhead negligible.
_CHUNK = 64


class SfaceEmbedder:
    """``model_id`` carries the source file's sha256 prefix: other weights are another vector space."""

    dim = 128

    def __init__(self, session: ort.InferenceSession, model_id: str) -> None:
        self._session = session
        self._input = session.get_inputs()[0].name
        self.model_id = model_id

    @classmethod
    def load(cls, cache_dir: Path | None = None, options: RuntimeOptions | None = None) -> SfaceEmbedder:
        session = create_session(build_sface(cache_dir or default_cache_dir()), options)
        return cls(session, f"sface-2021dec-int8bq-{model_file('sface').sha256[:8]}")

    def embed(self, crops: np.ndarray) -> np.ndarray:
        if crops.ndim != 4 or crops.shape[1:] != (CROP_SIZE, CROP_SIZE, 3) or crops.dtype != np.uint8:
            raise ValueError(f"expected uint8 BGR crops (N, 112, 112, 3), got {crops.dtype} {crops.shape}")
        vectors = np.empty((len(crops), self.dim), dtype=np.float32)
        for start in range(0, len(crops), _CHUNK):
            chunk = crops[start : start + _CHUNK]
            blob = chunk[..., ::-1].transpose(0, 3, 1, 2).astype(np.float32)  # BGR NHWC -> RGB NCHW
            vectors[start : start + len(chunk)] = self._session.run(None, {self._input: blob})[0]
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        unit: np.ndarray = vectors / np.maximum(norms, 1e-12)
        return unit
