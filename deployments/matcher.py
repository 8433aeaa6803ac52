"""The Matcher deployment: the face gallery (Milvus Lite or a Milvus server, by URI) behind Serve.

One ``FaceGallery`` per embedding model, created on first use: the model id travels with every call, so a
vector is only ever stored in and compared with its own model's collection. The thresholds and ``top_k`` come
from ``user_config`` and apply live: ``threshold`` for a search of the whole school, ``roster_threshold`` for
a search among a roster's labels (fewer faces to meet, so a stranger reaches a lower score at the same FPIR:
docs/MODELS.md). Milvus Lite allows one process per database file: keep one replica then.
"""

from __future__ import annotations

import asyncio
import threading

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from ray import serve

from app.core.setting_groups import LogOptions, VectorStore
from deployments.metrics import ReplicaMetrics, setup_replica
from models.gallery import FaceGallery, Match


class MatcherConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # serve_config.yaml sets both (docs/MODELS.md, "Which threshold for which search"); the defaults agree.
    # serve_config.yaml gives every value (no default here: the file is the one source)
    threshold: float = Field(ge=-1, le=1)
    roster_threshold: float = Field(ge=-1, le=1)
    top_k: int = Field(ge=1, le=100)
    search_ef: int = Field(ge=1, le=4096)


@serve.deployment(name="Matcher")
class Matcher:
    def __init__(self, store: VectorStore, logs: LogOptions) -> None:
        setup_replica(logs)
        self._metrics = ReplicaMetrics("search")
        self._store = store
        self._config: MatcherConfig | None = None  # Serve applies the user_config before any request
        self._galleries: dict[str, FaceGallery] = {}
        self._lock = threading.Lock()

    def reconfigure(self, user_config: dict[str, object]) -> None:
        self._config = MatcherConfig.model_validate(user_config)

    async def search(
        self, model_id: str, gallery: str, vectors: np.ndarray, roster: frozenset[str] | None = None
    ) -> list[Match]:
        """Within ``roster``'s labels (at ``roster_threshold``) when given, else the whole gallery."""
        store, config = self._gallery(model_id, vectors.shape[1]), self._config
        if config is None:
            raise RuntimeError("the Matcher has no user_config: serve_config.yaml gives it")
        threshold = config.threshold if roster is None else config.roster_threshold
        with self._metrics.request(), self._metrics.batch(len(vectors)):
            return await asyncio.to_thread(
                store.search,
                gallery,
                vectors,
                top_k=config.top_k,
                threshold=threshold,
                ef=config.search_ef,
                labels=roster,
            )

    async def add(self, model_id: str, gallery: str, label: str, vectors: np.ndarray) -> list[int]:
        return await asyncio.to_thread(self._gallery(model_id, vectors.shape[1]).add, gallery, label, vectors)

    async def delete(self, model_id: str, dim: int, gallery: str, label: str) -> int:
        return await asyncio.to_thread(self._gallery(model_id, dim).delete, gallery, label)

    async def compact(self, model_id: str, dim: int, wait_s: float) -> str:
        """Make deletions physical (GDPR erasure); see ``FaceGallery.compact``."""
        return await asyncio.to_thread(self._gallery(model_id, dim).compact, wait_s)

    async def ping(self, model_id: str, dim: int) -> None:
        """Raise ``GalleryUnavailableError`` unless Milvus answers (health checks)."""
        await asyncio.to_thread(self._gallery(model_id, dim).ping)

    def _gallery(self, model_id: str, dim: int) -> FaceGallery:
        with self._lock:
            store = self._galleries.get(model_id)
            if store is None:
                store = FaceGallery(
                    self._store.uri,
                    model_id,
                    dim,
                    token=self._store.token.get_secret_value(),
                    timeout_s=self._store.timeout_s,
                )
                self._galleries[model_id] = store
            return store

    def __del__(self) -> None:
        for store in self._galleries.values():
            store.close()
