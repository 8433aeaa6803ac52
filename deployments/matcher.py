"""The Matcher deployment: the face gallery (Milvus Lite or a Milvus server, by URI) behind Serve.

One ``FaceGallery`` per embedding model, created on first use: the model id travels with every call, so a
vector is only ever stored in and compared with its own model's collection. ``threshold`` and ``top_k`` come
from ``user_config`` and apply live. Milvus Lite allows one process per database file: keep one replica then.
"""

from __future__ import annotations

import asyncio
import threading

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from ray import serve

from app.core.config import Settings
from app.core.logging import configure_logging
from models.gallery import FaceGallery, Match


class MatcherConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    threshold: float = Field(0.40, ge=-1, le=1)
    top_k: int = Field(5, ge=1, le=100)


@serve.deployment(name="Matcher", max_ongoing_requests=64)
class Matcher:
    def __init__(self, settings: Settings) -> None:
        configure_logging(settings.log_level)
        self._settings = settings
        self._config = MatcherConfig()
        self._galleries: dict[str, FaceGallery] = {}
        self._lock = threading.Lock()

    def reconfigure(self, user_config: dict[str, object]) -> None:
        self._config = MatcherConfig.model_validate(user_config)

    async def search(self, model_id: str, gallery: str, vectors: np.ndarray) -> list[Match]:
        store, config = self._gallery(model_id, vectors.shape[1]), self._config
        return await asyncio.to_thread(
            store.search, gallery, vectors, top_k=config.top_k, threshold=config.threshold
        )

    async def add(self, model_id: str, gallery: str, label: str, vectors: np.ndarray) -> list[int]:
        return await asyncio.to_thread(self._gallery(model_id, vectors.shape[1]).add, gallery, label, vectors)

    async def delete(self, model_id: str, dim: int, gallery: str, label: str) -> int:
        return await asyncio.to_thread(self._gallery(model_id, dim).delete, gallery, label)

    async def ping(self, model_id: str, dim: int) -> None:
        """Raise ``GalleryUnavailableError`` unless Milvus answers (health checks)."""
        await asyncio.to_thread(self._gallery(model_id, dim).ping)

    def _gallery(self, model_id: str, dim: int) -> FaceGallery:
        with self._lock:
            store = self._galleries.get(model_id)
            if store is None:
                store = FaceGallery(
                    self._settings.milvus_uri,
                    model_id,
                    dim,
                    token=self._settings.milvus_token,
                    timeout_s=self._settings.milvus_timeout_s,
                )
                self._galleries[model_id] = store
            return store

    def __del__(self) -> None:
        for store in self._galleries.values():
            store.close()
