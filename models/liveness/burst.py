"""A whole burst checked: track the subject, measure its texture's parallax, embed a few of its crops, judge.
Shared by the Liveness deployment and the in-process pipeline, which differ only in how they reach an
embedder."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import numpy as np

from models.liveness.challenge import Action
from models.liveness.decision import LivenessLimits, LivenessVerdict, judge, track_subject
from models.liveness.flow import texture_parallax
from models.types import Face

#: Embeds ``(N, 112, 112, 3)`` crops: unit vectors and the model id that made them.
Embed = Callable[[np.ndarray], Awaitable[tuple[np.ndarray, str]]]


@dataclass(frozen=True, slots=True)
class BurstResult:
    verdict: LivenessVerdict
    probe: int | None  # frame whose subject is identified (the most frontal)
    face: int | None  # the subject's position among that frame's faces
    vector: np.ndarray | None  # (1, dim) the probe's embedding, reused for matching
    model_id: str | None


async def check_burst(
    action: Action,
    faces: Sequence[Sequence[Face]],
    crops: Sequence[np.ndarray],
    grays: Sequence[np.ndarray],
    embed: Embed,
    limits: LivenessLimits,
) -> BurstResult:
    """``faces[i]`` are frame i's detections, ``crops[i]`` their aligned crops (same order) and ``grays[i]``
    the frame in grey (for texture tracking)."""
    track = track_subject(faces, limits)
    if track.probe is None:
        return BurstResult(judge(action, track, [], None, limits), None, None, None, None)
    picked = [crops[i][track.indices[i]] for i in track.identity_frames]  # type: ignore[index]
    first = next(i for i, face in enumerate(track.subjects) if face is not None)
    # Tracking is CPU work (~27 ms for five 512x512 frames): off the event loop, so a replica keeps taking
    # requests meanwhile.
    texture = await asyncio.to_thread(texture_parallax, grays[first:], track.subjects[first])  # type: ignore[arg-type]
    vectors, model_id = await embed(np.stack(picked))
    similarities = [float(v) for v in vectors[1:] @ vectors[0]]
    verdict = judge(action, track, similarities, texture, limits)
    return BurstResult(verdict, track.probe, track.indices[track.probe], vectors[:1], model_id)
