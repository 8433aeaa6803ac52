"""A whole burst checked: track the subject, measure its texture's parallax, embed a few of its crops, judge,
and fuse the most frontal crops' vectors into the probe's (one search vector from several frames). Shared by
the Liveness deployment and the in-process pipeline, which differ only in how they reach an embedder."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import cast

import cv2
import numpy as np

from models.detection import DetectedFace, FoundFaces
from models.fusion import fuse
from models.liveness.challenge import Action
from models.liveness.colours import ColourSequence
from models.liveness.decision import LivenessLimits, LivenessVerdict, judge, track_subject
from models.liveness.flow import texture_parallax
from models.liveness.reflection import ColourCheck, colour_check
from models.liveness.screen import ScreenCues, screen_cues
from models.types import Face

#: Embeds ``(N, 112, 112, 3)`` crops: unit vectors and the model id that made them.
Embed = Callable[[np.ndarray], Awaitable[tuple[np.ndarray, str]]]


@dataclass(frozen=True, slots=True)
class Burst:
    """What the kiosk sent, once detected: per frame the decoded BGR image, its detections and their aligned
    crops (same order), and when it was taken (ms from the start of the capture; ``None`` when the kiosk did
    not say). Colour frames travel, not grey ones: the passive and colour cues need colour, and the grey
    conversion then happens in the Liveness replica instead of the Ingress."""

    frames: list[np.ndarray]
    faces: list[list[Face]]
    crops: list[np.ndarray]
    times_ms: list[float] | None = None
    #: Each face's detection with its quality measures, when the Detector gave them (the probe's come back)
    found: list[FoundFaces] | None = None

    @classmethod
    def of(cls, frames: list[np.ndarray], found: list[FoundFaces], times_ms: list[float] | None) -> Burst:
        """The burst of ``frames`` as one Detector call found them (``models.detection.find_faces``)."""
        faces = [[detected.face for detected in one.faces] for one in found]
        return cls(frames, faces, [one.crops for one in found], times_ms, found)

    def __post_init__(self) -> None:
        if not len(self.frames) == len(self.faces) == len(self.crops):
            raise ValueError(
                f"frames: {len(self.frames)} images, {len(self.faces)} of faces, {len(self.crops)} of crops"
            )
        if self.found is not None and len(self.found) != len(self.frames):
            raise ValueError(f"{len(self.found)} detections for {len(self.frames)} frames")
        if self.times_ms is not None and len(self.times_ms) != len(self.frames):
            raise ValueError(f"{len(self.times_ms)} frame times for {len(self.frames)} frames")


@dataclass(frozen=True, slots=True)
class BurstResult:
    verdict: LivenessVerdict
    probe: int | None  # frame whose subject is identified (the most frontal)
    face: int | None  # the subject's position among that frame's faces
    vector: np.ndarray | None  # (1, dim) the probe's fused embedding, reused for matching
    model_id: str | None
    subject: DetectedFace | None = None  # the probe face with its quality, when the burst had them


async def check_burst(
    action: Action,
    burst: Burst,
    embed: Embed,
    limits: LivenessLimits,
    colours: ColourSequence | None = None,
) -> BurstResult:
    """The liveness decision for ``burst`` answering ``action``, with the probe face's vector; ``colours``
    is the sequence the kiosk's screen showed (from the challenge), ``None`` to skip the colour layer."""
    track = track_subject(burst.faces, limits)
    if track.probe is None:
        return BurstResult(judge(action, track, [], None, limits), None, None, None, None)
    embedded = track.embedded_frames
    picked = [burst.crops[i][track.indices[i]] for i in embedded]
    first = next(i for i, face in enumerate(track.subjects) if face is not None)
    # Tracking and the screen cues are CPU work (~30 ms for a burst): off the event loop, so a replica keeps
    # taking requests meanwhile; the embedding runs on the Embedder at the same time.
    measured = asyncio.to_thread(_measure, burst, track.subjects, first)
    lit = asyncio.to_thread(_colour, burst, track.subjects, colours, limits)
    (texture, screen), colour, (vectors, model_id) = await asyncio.gather(
        measured, lit, embed(np.stack(picked))
    )
    row = {frame: k for k, frame in enumerate(embedded)}
    identity = vectors[[row[i] for i in track.identity_frames]]
    similarities = [float(v) for v in identity[1:] @ identity[0]]
    verdict = judge(action, track, similarities, texture, limits, screen, colour)
    fused = [row[i] for i in track.fused_frames]
    scores = np.array([cast(Face, track.subjects[i]).score for i in track.fused_frames])
    probe_vector = fuse(vectors[fused], scores)[None, :]
    face = track.indices[track.probe]
    subject = None if burst.found is None or face is None else burst.found[track.probe].faces[face]
    return BurstResult(verdict, track.probe, face, probe_vector, model_id, subject)


def _measure(burst: Burst, subjects: list[Face | None], first: int) -> tuple[float | None, ScreenCues]:
    """The texture's parallax from the subject's first frame on, and the passive screen cues."""
    greys = [cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY) for frame in burst.frames]
    face = subjects[first]
    assert face is not None
    return texture_parallax(greys[first:], face), screen_cues(greys, subjects)


def _colour(
    burst: Burst, subjects: list[Face | None], colours: ColourSequence | None, limits: LivenessLimits
) -> ColourCheck | None:
    """The colour layer, when the challenge lit the face (``None``: skipped)."""
    if colours is None:
        return None
    return colour_check(burst.frames, subjects, burst.times_ms, colours, limits)
