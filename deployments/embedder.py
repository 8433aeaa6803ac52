"""The Embedder deployment: aligned 112x112 crops in, unit vectors out, concurrent requests batched.

Each request carries the crops of one image (one face for verify/enroll, several for a group photo); a batch
concatenates them into one ONNX Runtime call and splits the vectors back per request.
"""

from __future__ import annotations

import asyncio

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from ray import serve

from app.core.setting_groups import LogOptions, ModelRuntime
from deployments.metrics import ReplicaMetrics, setup_replica
from models.embedder import SfaceEmbedder
from models.runtime import RuntimeOptions
from models.types import CROP_SIZE


class EmbedderConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # serve_config.yaml gives every value (no default here: the file is the one source)
    max_batch_size: int = Field(ge=1)
    batch_wait_timeout_s: float = Field(ge=0)


@serve.deployment(name="Embedder")
class Embedder:
    def __init__(self, runtime: ModelRuntime, logs: LogOptions) -> None:
        setup_replica(logs)
        self._metrics = ReplicaMetrics("embed")
        options = RuntimeOptions(intra_op_threads=runtime.ort_threads)
        self._model = SfaceEmbedder.load(runtime.model_cache, options)

    def reconfigure(self, user_config: dict[str, object]) -> None:
        config = EmbedderConfig.model_validate(user_config)
        # serve.batch's wrapper has these setters; Ray's annotations give it only the call
        self._embed_batch.set_max_batch_size(config.max_batch_size)  # type: ignore[attr-defined]
        self._embed_batch.set_batch_wait_timeout_s(config.batch_wait_timeout_s)  # type: ignore[attr-defined]

    def describe(self) -> dict[str, str | int]:
        """The vector space this replica produces; the Matcher stores vectors per model_id."""
        return {"model_id": self._model.model_id, "dim": self._model.dim}

    async def embed(self, crops: np.ndarray) -> tuple[np.ndarray, str]:
        """``(N, dim)`` float32 unit vectors for ``(N, 112, 112, 3)`` uint8 BGR crops, and the model id.

        The id travels with the vectors so a caller never files them under another model's collection,
        even while replicas of two model versions serve side by side during a rollout.
        """
        if crops.ndim != 4 or crops.shape[1:] != (CROP_SIZE, CROP_SIZE, 3) or crops.dtype != np.uint8:
            # Refused here, alone: inside a batch it would fail every request batched with it.
            raise ValueError(f"expected uint8 crops (N, 112, 112, 3), got {crops.dtype} {crops.shape}")
        if len(crops) == 0:
            return np.empty((0, self._model.dim), dtype=np.float32), self._model.model_id
        with self._metrics.request():
            return await self._embed_batch(crops), self._model.model_id

    @serve.batch  # its size and wait are the user_config's (reconfigure)
    async def _embed_batch(self, requests: list[np.ndarray]) -> list[np.ndarray]:
        sizes = [len(crops) for crops in requests]
        stacked = requests[0] if len(requests) == 1 else np.concatenate(requests)
        with self._metrics.batch(len(requests)):
            vectors = await asyncio.to_thread(self._model.embed, stacked)
        return np.split(vectors, np.cumsum(sizes)[:-1])
