"""The Detector deployment: finds faces in decoded BGR images with their aligned crops and quality measures,
batching concurrent requests (a single photo, or a whole check-in burst in one call) into one model call.

``user_config`` (serve_config.yaml) picks the profile ("fast" YuNet, "accurate" MTCNN), the score floor and
the batch size/wait; a change applies live: a new profile is loaded, then swapped in atomically, so batches
already running finish on the old one.
"""

from __future__ import annotations

import asyncio
import logging

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from ray import serve

from app.core.setting_groups import LogOptions, ModelRuntime
from deployments.metrics import ReplicaMetrics, setup_replica
from models.detection import FoundFaces, find_faces
from models.detectors import PROFILES, load_detector
from models.runtime import RuntimeOptions
from models.types import FaceDetector

log = logging.getLogger("ray.serve")


class DetectorConfig(BaseModel):
    """The Detector's ``user_config``; unknown keys are refused so a typo cannot pass unnoticed, and
    serve_config.yaml gives every value (no default here: the file is the one source)."""

    model_config = ConfigDict(extra="forbid")

    profile: str = Field(pattern="|".join(PROFILES))
    max_batch_size: int = Field(ge=1)
    batch_wait_timeout_s: float = Field(ge=0)
    min_score: float = Field(ge=0, le=1)


@serve.deployment(name="Detector")
class Detector:
    def __init__(self, runtime: ModelRuntime, logs: LogOptions) -> None:
        setup_replica(logs)
        self._metrics = ReplicaMetrics("detect")
        self._model_cache = runtime.model_cache
        self._options = RuntimeOptions(intra_op_threads=runtime.ort_threads)
        # Serve applies the user_config (loading the profile) before the replica takes any request.
        self._config: DetectorConfig | None = None
        self._detector: FaceDetector | None = None

    def reconfigure(self, user_config: dict[str, object]) -> None:
        config = DetectorConfig.model_validate(user_config)
        if self._config is None or config.profile != self._config.profile:
            self._detector = self._load(config.profile)
        # serve.batch's wrapper has these setters; Ray's annotations give it only the call
        self._detect_batch.set_max_batch_size(config.max_batch_size)  # type: ignore[attr-defined]
        self._detect_batch.set_batch_wait_timeout_s(config.batch_wait_timeout_s)  # type: ignore[attr-defined]
        self._config = config

    async def detect(self, images: list[np.ndarray]) -> list[FoundFaces]:
        """Faces with score >= ``min_score`` in each image (one photo, or a burst's frames), best first,
        aligned and measured: the caller needs no image work of its own before the next stage."""
        for image in images:
            if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
                # Refused here, alone: inside a batch it would fail every request batched with it.
                raise ValueError(f"expected uint8 BGR images (H, W, 3), got {image.dtype} {image.shape}")
        if not images:
            return []
        with self._metrics.request():
            return await self._detect_batch(images)

    def ping(self) -> str:
        return self._configured()[0].profile

    @serve.batch  # its size and wait are the user_config's (reconfigure)
    async def _detect_batch(self, requests: list[list[np.ndarray]]) -> list[list[FoundFaces]]:
        config, detector = self._configured()  # one consistent snapshot per batch
        images = [image for request in requests for image in request]
        # Off the event loop, so requests keep queueing into the next batch while this one runs.
        with self._metrics.batch(len(requests)):
            found = await asyncio.to_thread(find_faces, detector, images, config.min_score)
        answers, start = [], 0
        for request in requests:
            answers.append(found[start : start + len(request)])
            start += len(request)
        return answers

    def _configured(self) -> tuple[DetectorConfig, FaceDetector]:
        if self._config is None or self._detector is None:
            raise RuntimeError("the Detector has no user_config: serve_config.yaml gives it")
        return self._config, self._detector

    def _load(self, profile: str) -> FaceDetector:
        log.info("loading detector profile %r", profile)
        return load_detector(profile, self._model_cache, self._options)
