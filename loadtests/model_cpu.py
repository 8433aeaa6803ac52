"""What the models alone cost per request of a bench workload, in CPU milliseconds.

The bench's process tree says what a served request costs in all (``loadtests.cpu``); this says how much of
that the models' own work is: the same inputs through the same model code the deployments run (decode,
``models.detection.find_faces``, the SFace embedder, ``models.liveness.check_burst``), in this process, one
request at a time, timed with the process's CPU clock (ONNX Runtime's threads included). The vector search
is the Milvus process's CPU in the tree, added by the report. Serving is then everything else: the proxy,
the handle hops, (de)serialising, the Ingress' own work, Ray's control processes, PostgreSQL and Redis.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from models.detection import find_faces
from models.detectors import load_detector
from models.embedder import SfaceEmbedder
from models.imaging import decode_image
from models.liveness import Action, Burst, LivenessLimits, check_burst

#: Decoding limits well above the bench's inputs: only the decode's cost is measured, not its refusals.
_MAX_BYTES, _MAX_PIXELS = 20_000_000, 40_000_000


class ModelWork:
    """The Detector's profile and score floor (its ``user_config``) and SFace, loaded once from the installed
    model cache, as the replicas load them."""

    def __init__(self, detector: dict[str, Any], model_cache: Path | None = None) -> None:
        self._detector = load_detector(str(detector["profile"]), model_cache)
        self._embedder = SfaceEmbedder.load(model_cache)
        self._min_score = float(detector["min_score"])

    def identify(self, image: bytes) -> None:
        """One photo: decode, detect, align and measure, embed every face (also a single-frame check-in)."""
        decoded = decode_image(image, _MAX_BYTES, _MAX_PIXELS)
        (found,) = find_faces(self._detector, [decoded], self._min_score)
        if len(found.crops):
            self._embedder.embed(found.crops)

    def burst(self, action: str, frames: list[bytes]) -> None:
        """One live burst: decode every frame, one detection call, then the liveness judgement with its
        embeddings."""
        decoded = [decode_image(frame, _MAX_BYTES, _MAX_PIXELS) for frame in frames]
        burst = Burst.of(decoded, find_faces(self._detector, decoded, self._min_score), None)

        async def embed(crops: np.ndarray) -> tuple[np.ndarray, str]:
            return self._embedder.embed(crops), self._embedder.model_id

        asyncio.run(check_burst(Action(action), burst, embed, LivenessLimits()))


def cpu_ms_per_call(calls: list[Callable[[], None]], rounds: int = 3) -> float:
    """Mean CPU ms of one call, over ``rounds`` passes through ``calls`` after one warm-up pass."""
    for call in calls:
        call()
    started = time.process_time()
    for _ in range(rounds):
        for call in calls:
            call()
    return round((time.process_time() - started) / (rounds * len(calls)) * 1000, 1)
