"""``FaceModels`` and ``VectorIndex`` in one process, straight over the model classes and one gallery: for
tests, notebooks and tools (one object serves as both ports: ``FaceService(p, FaceIndex(p), ...)``).

Same stages and the same gallery code as the Serve deployments, minus Ray: CPU-bound calls run in a worker
thread so the caller's event loop stays responsive, as it would with remote deployments.
"""

from __future__ import annotations

import asyncio

import numpy as np

from app.services.biometrics.ports import Embeddings, ModelInfo
from models.detection import FoundFaces, find_faces
from models.gallery import FaceGallery, Match
from models.liveness import Action, Burst, BurstResult, ColourSequence, LivenessLimits, check_burst
from models.types import FaceDetector, FaceEmbedder


class InProcessPipeline:
    def __init__(
        self,
        detector: FaceDetector,
        embedder: FaceEmbedder,
        gallery: FaceGallery,
        *,
        # The Detector's and Matcher's operating points: serve_config.yaml's (tests/serving.py reads them).
        min_score: float,
        top_k: int,
        threshold: float,
        roster_threshold: float,
        liveness: LivenessLimits | None = None,
    ) -> None:
        self._detector = detector
        self._embedder = embedder
        self._gallery = gallery
        self.min_score = min_score
        self.top_k = top_k
        self.threshold = threshold
        self.roster_threshold = roster_threshold
        self.liveness = liveness or LivenessLimits()

    async def detect(self, images: list[np.ndarray]) -> list[FoundFaces]:
        return await asyncio.to_thread(find_faces, self._detector, images, self.min_score)

    async def embed(self, crops: np.ndarray) -> Embeddings:
        vectors = await asyncio.to_thread(self._embedder.embed, crops)
        return Embeddings(vectors, ModelInfo(self._embedder.model_id, self._embedder.dim))

    async def check_burst(
        self,
        action: str,
        frames: list[np.ndarray],
        times_ms: list[float] | None = None,
        colours: ColourSequence | None = None,
    ) -> BurstResult:
        burst = Burst.of(frames, await self.detect(frames), times_ms)
        return await check_burst(Action(action), burst, self._embed_with_id, self.liveness, colours)

    async def _embed_with_id(self, crops: np.ndarray) -> tuple[np.ndarray, str]:
        embedded = await self.embed(crops)
        return embedded.vectors, embedded.model.model_id

    async def search(
        self, gallery: str, embeddings: Embeddings, roster: frozenset[str] | None = None
    ) -> list[Match]:
        self._same_model(embeddings)
        return await asyncio.to_thread(
            self._gallery.search,
            gallery,
            embeddings.vectors,
            top_k=self.top_k,
            threshold=self.threshold if roster is None else self.roster_threshold,
            labels=roster,
        )

    async def add(self, gallery: str, label: str, embeddings: Embeddings) -> list[int]:
        self._same_model(embeddings)
        return await asyncio.to_thread(self._gallery.add, gallery, label, embeddings.vectors)

    async def delete(self, gallery: str, label: str) -> int:
        return await asyncio.to_thread(self._gallery.delete, gallery, label)

    async def compact(self, wait_s: float) -> str:
        return await asyncio.to_thread(self._gallery.compact, wait_s)

    def _same_model(self, embeddings: Embeddings) -> None:
        if embeddings.model.model_id != self._gallery.model_id:
            raise ValueError(f"vectors of {embeddings.model.model_id} cannot go to {self._gallery.model_id}")

    async def check(self) -> dict[str, str]:
        try:
            await asyncio.to_thread(self._gallery.ping)
        except Exception as exc:
            return {"detector": "ok", "embedder": "ok", "gallery": f"unavailable: {type(exc).__name__}"}
        return {"detector": "ok", "embedder": "ok", "gallery": "ok"}
