"""The Liveness deployment: is a burst of frames a live person answering the kiosk's challenge?

It judges the subject's landmarks across the burst (the asked turn), tracks the face's texture (not a flat
picture; the CPU work here, ~27 ms of one core for five 512x512 frames), and checks the frames show one
person, embedding a few of the subject's crops through the Embedder's handle (batched there); the probe's
vector is returned so the Ingress matches it without embedding again. Its thresholds are its ``user_config``
and change live. No neural model runs here: no passive anti-spoofing model with usable weights installs from
pip (docs/LIVENESS.md), so there is nothing to batch; one would be added here, behind ``@serve.batch``,
scaling with this deployment.
"""

from __future__ import annotations

import logging
from typing import Any

import cv2
import numpy as np
from pydantic import TypeAdapter
from ray import serve
from ray.serve.handle import DeploymentHandle

from app.core.setting_groups import LogOptions
from deployments.metrics import ReplicaMetrics, setup_replica
from models.detection import FoundFaces
from models.liveness import Action, Burst, BurstResult, ColourSequence, LivenessLimits, check_burst

log = logging.getLogger("ray.serve")


#: Validates the deployment's ``user_config``: the limits' own bounds, unknown keys refused.
LivenessConfig: TypeAdapter[LivenessLimits] = TypeAdapter(LivenessLimits)


@serve.deployment(name="Liveness")
class Liveness:
    def __init__(self, embedder: DeploymentHandle[Any], logs: LogOptions) -> None:
        setup_replica(logs)
        self._metrics = ReplicaMetrics("liveness")
        self._embedder = embedder
        self._limits = LivenessLimits()
        # One OpenCV thread: tracking on two threads cost ~30 % more CPU for ~10 % less wall time (measured),
        # a bad trade where replicas share a node's cores; the deployment scales by replicas instead.
        cv2.setNumThreads(1)

    def reconfigure(self, user_config: dict[str, object]) -> None:
        self._limits = LivenessConfig.validate_python(user_config)

    def ping(self) -> str:
        return "ok"

    async def check(
        self,
        action: str,
        frames: list[np.ndarray],
        found: list[FoundFaces],
        times_ms: list[float] | None = None,
        colours: ColourSequence | None = None,
    ) -> BurstResult:
        """``found``: the Detector's answer for ``frames`` (Serve resolves the Ingress's DeploymentResponse
        into it); ``colours``: the screen's sequence the challenge's nonce bound (from the Ingress's ledger,
        never from the kiosk's request); ``None`` skips the colour layer (the school switched it off)."""
        burst = Burst.of(frames, found, times_ms)  # a frame/detection count mismatch is a ValueError
        with self._metrics.request(), self._metrics.batch(1):  # one burst per call: no batching
            return await check_burst(Action(action), burst, self._embed, self._limits, colours)

    async def _embed(self, crops: np.ndarray) -> tuple[np.ndarray, str]:
        embedded: tuple[np.ndarray, str] = await self._embedder.embed.remote(crops)
        return embedded
