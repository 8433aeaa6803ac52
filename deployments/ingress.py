"""The Ingress deployment: the FastAPI app (``app.api``) over ``FaceModels`` and a ``VectorIndex`` made of
deployment handles.

Requests are decoded once here; numpy arrays travel to the model deployments (over gRPC between replicas in
Serve's throughput mode, up to ``cluster.local.ray_head.REPLICA_MESSAGE_BYTES``), the Detector answers with
aligned crops and quality measures, and only crops go to the Embedder. A burst is one Detector call whose
answer Serve hands on to Liveness without it coming back here; its frames go through Ray's object store, one
copy for both (docs/BENCHMARKS.md: pickled into each message they cost the Ingress ~40 % more CPU). The
domain logic is in ``app.services``; this module only wires handles to it and turns Ray's failures into the
app's errors.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from dataclasses import replace
from typing import Any, Literal, TypeVar

import numpy as np
import ray
from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field, model_validator
from ray import serve
from ray.exceptions import RayActorError, RayTaskError
from ray.serve.exceptions import BackPressureError, DeploymentUnavailableError
from ray.serve.handle import DeploymentHandle

from app.api.main import create_app
from app.container import build_container
from app.core.config import Settings
from app.core.errors import Unavailable
from app.services.biometrics.face_index import FaceIndex
from app.services.biometrics.face_service import FaceService, ImageLimits
from app.services.biometrics.ports import Embeddings, ModelInfo
from deployments.metrics import setup_replica
from models.detection import FoundFaces
from models.gallery import GalleryError, Match
from models.liveness import BurstResult, ColourSequence
from models.quality import QualityPolicy

log = logging.getLogger("ray.serve")
_T = TypeVar("_T")


class IngressConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # serve_config.yaml gives every value (no default here: the file is the one source); a quality limit
    # it does not name keeps models.quality's.
    verify_threshold: float = Field(ge=-1, le=1)
    # Changes to the default quality limits (models.quality.QualityPolicy), per use: what is not named keeps
    # its default for that use, so a lenient check-in never silently inherits a strict enrollment limit.
    quality: dict[Literal["enrollment", "checkin"], dict[str, float]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _known_limits(self) -> IngressConfig:
        self.quality_policy()  # unknown limit names fail here, when the config is applied
        return self

    def quality_policy(self) -> QualityPolicy:
        default = QualityPolicy()
        try:
            return QualityPolicy(
                enrollment=replace(default.enrollment, **self.quality.get("enrollment", {})),
                checkin=replace(default.checkin, **self.quality.get("checkin", {})),
            )
        except TypeError as exc:
            raise ValueError(f"unknown quality limit: {exc}") from exc


class ServeModels:
    """``FaceModels`` over the Detector, Embedder and Liveness handles; its ``check`` (``/ready``) also pings
    the Notifier, so readiness covers every deployment of the application."""

    def __init__(
        self,
        detector: DeploymentHandle[Any],
        embedder: DeploymentHandle[Any],
        liveness: DeploymentHandle[Any],
        notifier: DeploymentHandle[Any],
    ) -> None:
        self._detector = detector
        self._embedder = embedder
        self._liveness = liveness
        self._notifier = notifier
        # A burst is megabytes of pixels (13 frames of 512x512 are 10 MB): it goes to the Detector and to
        # Liveness through Ray's object store (shared memory on a node, one copy for both) instead of being
        # pickled into each gRPC message, as throughput mode sends arguments by default.
        self._burst_detector = detector.options(_by_reference=True)
        self._burst_liveness = liveness.options(_by_reference=True)
        self._model: ModelInfo | None = None

    async def detect(self, images: list[np.ndarray]) -> list[FoundFaces]:
        return await _remote(self._detector.detect.remote(images), "detector")

    async def embed(self, crops: np.ndarray) -> Embeddings:
        vectors, model_id = await _remote(self._embedder.embed.remote(crops), "embedder")
        self._model = ModelInfo(model_id, int(vectors.shape[1]))  # the latest model seen answering
        return Embeddings(vectors, self._model)

    async def model(self) -> ModelInfo:
        """The current model (from the last embed, else asked once): deletes go to its collection."""
        if self._model is None:
            info = await _remote(self._embedder.describe.remote(), "embedder")
            self._model = ModelInfo(str(info["model_id"]), int(info["dim"]))
        return self._model

    async def check_burst(
        self,
        action: str,
        frames: list[np.ndarray],
        times_ms: list[float] | None = None,
        colours: ColourSequence | None = None,
    ) -> BurstResult:
        # Model composition: the Detector's answer is handed to Liveness as a DeploymentResponse, so Serve
        # passes it on when it is ready and the Ingress never awaits, unpickles or re-sends the crops.
        pixels = ray.put(frames)  # one copy in the object store, read by both replicas
        found = self._burst_detector.detect.remote(pixels)
        call = self._burst_liveness.check.remote(action, pixels, found, times_ms, colours)
        return await _remote(call, "liveness", code="liveness_unavailable")

    async def check(self) -> dict[str, str]:
        results = await asyncio.gather(
            _probe("detector", self._detector.ping.remote()),
            _probe("embedder", self._embedder.describe.remote()),
            _probe("liveness", self._liveness.ping.remote()),
            _probe("notifier", self._notifier.ping.remote()),
        )
        return dict(results)


class ServeIndex:
    """``VectorIndex`` over the Matcher's handle; deletions and compaction go to the collection of the
    embedding model ``models`` currently serves."""

    def __init__(self, matcher: DeploymentHandle[Any], models: ServeModels) -> None:
        self._matcher = matcher
        self._models = models

    async def search(
        self, gallery: str, embeddings: Embeddings, roster: frozenset[str] | None = None
    ) -> list[Match]:
        model_id = embeddings.model.model_id
        call = self._matcher.search.remote(model_id, gallery, embeddings.vectors, roster)
        return await _remote(call, "matcher")

    async def add(self, gallery: str, label: str, embeddings: Embeddings) -> list[int]:
        call = self._matcher.add.remote(embeddings.model.model_id, gallery, label, embeddings.vectors)
        return await _remote(call, "matcher")

    async def delete(self, gallery: str, label: str) -> int:
        model = await self._models.model()
        return await _remote(
            self._matcher.delete.remote(model.model_id, model.dim, gallery, label), "matcher"
        )

    async def compact(self, wait_s: float) -> str:
        model = await self._models.model()
        return await _remote(self._matcher.compact.remote(model.model_id, model.dim, wait_s), "matcher")

    async def check(self) -> dict[str, str]:
        try:
            model = await self._models.model()
        except Exception as exc:
            return {"gallery": f"unavailable: {getattr(exc, 'code', type(exc).__name__)}"}
        return dict([await _probe("gallery", self._matcher.ping.remote(model.model_id, model.dim))])


async def _probe(name: str, call: Awaitable[object]) -> tuple[str, str]:
    """``(name, "ok")`` when the deployment answers in time, else what went wrong (readiness)."""
    try:
        await asyncio.wait_for(_remote(call, name), timeout=10)
    except Exception as exc:  # timeouts included: any failure means not ready
        return name, f"unavailable: {getattr(exc, 'code', type(exc).__name__)}"
    return name, "ok"


#: How long one call to a model deployment may take before the request is answered 503 (with Retry-After).
#: Calls take well under a second; past this a replica is dead and not yet replaced (Serve queues the call
#: until a new one starts: measured 13-30 s, tests/integration/test_faults.py), and the kiosk should retry.
CALL_TIMEOUT_S = 10.0


async def _remote(response: Awaitable[_T], component: str, code: str = "model_unavailable") -> _T:
    """Await a handle call; surface the replica's own errors and map Serve's capacity failures and calls that
    outlive ``CALL_TIMEOUT_S`` to 503."""
    try:
        return await asyncio.wait_for(response, CALL_TIMEOUT_S)
    except TimeoutError as exc:
        log.warning("%s did not answer in %.0f s", component, CALL_TIMEOUT_S)
        raise Unavailable(f"the {component} is temporarily unavailable", code=code) from exc
    except RayTaskError as exc:
        cause = exc.cause
        if isinstance(cause, GalleryError | ValueError):
            raise cause from None  # without Ray's wrapper: gallery down -> 503; a ValueError (a bug) -> 500
        if isinstance(cause, BackPressureError | DeploymentUnavailableError | RayActorError):
            # A deployment that calls another (Liveness -> Embedder) found it down: still a 503.
            log.warning("%s unavailable downstream: %s", component, cause)
            raise Unavailable(f"the {component} is temporarily unavailable", code=code) from exc
        raise
    except (BackPressureError, DeploymentUnavailableError, RayActorError) as exc:
        log.warning("%s unavailable: %s", component, exc)
        raise Unavailable(f"the {component} is temporarily unavailable", code=code) from exc


@serve.deployment(name="Ingress")
@serve.ingress()
class Ingress:
    def __init__(
        self,
        detector: DeploymentHandle[Any],
        embedder: DeploymentHandle[Any],
        liveness: DeploymentHandle[Any],
        matcher: DeploymentHandle[Any],
        notifier: DeploymentHandle[Any],
        settings: Settings,
    ) -> None:
        setup_replica(settings.logs, settings.id_hash_key)  # JSON logs with Serve's request id
        limits = ImageLimits(
            max_bytes=settings.max_upload_bytes,
            max_pixels=settings.max_pixels,
            frame_max_pixels=settings.burst_max_frame_pixels,
        )
        models = ServeModels(detector, embedder, liveness, notifier)
        index = FaceIndex(ServeIndex(matcher, models))
        self._face_service = FaceService(models, index, limits)  # its operating points come with reconfigure
        self._container = build_container(settings, self._face_service)

    def __serve_build_asgi_app__(self) -> FastAPI:
        """Called by Serve after ``__init__``: the app gets this replica's container injected."""
        app = create_app(self._container)
        app.state.echo_request_id = False  # Serve's proxy adds X-Request-ID to every answer itself
        return app

    def reconfigure(self, user_config: dict[str, object]) -> None:
        config = IngressConfig.model_validate(user_config)
        self._face_service.verify_threshold = config.verify_threshold
        self._face_service.quality = config.quality_policy()
