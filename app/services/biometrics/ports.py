"""The two small interfaces through which domain services reach the models and the vectors.

``FaceModels`` (detect, embed, liveness) and ``VectorIndex`` (search, add, delete, compact). In production
both are implemented over Ray Serve deployment handles (``deployments.ingress.ServeModels``/``ServeIndex``);
a job uses an index alone (``app.services.biometrics.job_index.IndexPipeline``); tests implement them
in-process with the same model classes or with fakes, so no domain test needs Ray. Arrays cross them (decoded
once by the caller), and only aligned crops go to ``embed``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from app.core import metrics
from models.detection import FoundFaces
from models.gallery import Match
from models.liveness import BurstResult, ColourSequence


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """An embedding model: the vector space its vectors belong to (one gallery collection per model)."""

    model_id: str
    dim: int


@dataclass(frozen=True, slots=True)
class Embeddings:
    """Vectors with the model that made them: they are only ever stored in or compared with that model's
    collection, even while a new model version rolls out across Embedder replicas."""

    vectors: np.ndarray  # (N, dim) float32, unit length
    model: ModelInfo


class FaceModels(Protocol):
    """The model stages as async calls: detection, embedding, liveness."""

    async def detect(self, images: list[np.ndarray]) -> list[FoundFaces]:
        """Faces in each BGR image, best score first, with their aligned crops and quality measures."""
        ...

    async def embed(self, crops: np.ndarray) -> Embeddings:
        """Unit vectors ``(N, dim)`` for aligned ``(N, 112, 112, 3)`` BGR crops, with their model."""
        ...

    async def check_burst(
        self,
        action: str,
        frames: list[np.ndarray],
        times_ms: list[float] | None = None,
        colours: ColourSequence | None = None,
    ) -> BurstResult:
        """Detect the faces of a burst's frames (taken at ``times_ms``) and judge them answering ``action``
        and, when the challenge had them, the screen's ``colours``. The result carries the probe face, its
        quality and its vector for matching."""
        ...

    async def check(self) -> dict[str, str]:
        """Component name -> "ok" or what is wrong; for health checks."""
        ...


class VectorIndex(Protocol):
    """The vectors (Milvus), one collection per embedding model; failures raise ``GalleryError``s
    (``models.gallery``). Erasure, retention and the index rebuild take only this: they never need a model."""

    async def search(
        self, gallery: str, embeddings: Embeddings, roster: frozenset[str] | None = None
    ) -> list[Match]:
        """Best enrolled label (or unknown) per vector, within ``gallery`` and the vectors' model only;
        with ``roster``, among those labels only, at the roster's own threshold."""
        ...

    async def add(self, gallery: str, label: str, embeddings: Embeddings) -> list[int]:
        """Enroll the vectors as ``label`` in ``gallery`` (their model's collection); returns the ids."""
        ...

    async def delete(self, gallery: str, label: str) -> int:
        """Remove ``label`` from ``gallery`` (current model's collection); returns how many vectors went."""
        ...

    async def compact(self, wait_s: float) -> str:
        """Make deletions physical in the current model's collection (``FaceGallery.compact``'s answer)."""
        ...

    async def check(self) -> dict[str, str]:
        """Component name -> "ok" or what is wrong; for health checks."""
        ...


#: Pipeline methods timed as stages (``rollcall_stage_duration_seconds{stage}``).
PIPELINE_STAGES = {
    "detect": "detect",
    "embed": "embed",
    "check_burst": "burst",
    "search": "search",
    "add": "enroll",
    "delete": "delete",
}


class Timed:
    """A ``FaceModels`` or ``VectorIndex`` that times each stage call (in Serve: the handle call to that
    deployment)."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._inner, name)
        stage = PIPELINE_STAGES.get(name)
        if stage is None or not callable(attribute):
            return attribute

        async def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await attribute(*args, **kwargs)
            finally:
                metrics.STAGE_SECONDS.labels(stage).observe(time.perf_counter() - started)

        return timed
