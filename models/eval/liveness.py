"""Presentation-attack detection figures (ISO/IEC 30107-3 vocabulary) for the active + geometric liveness.

Bona fide presentations: windows of the real head-moving clips in which the head really turns. Which way it
turns is decided by a *different* measurement than the one under test (the accurate profile's MTCNN landmarks
and the plain 2-D yaw of ``models.quality.head_pose``, not YuNet's plane-invariant nose parallax), so the
bona fide set is not chosen by the detector it scores. Each window becomes a burst of ``frames`` frames, as a
kiosk would capture it, answering the challenge of its direction.

Attack presentations (PAI species), each answered against both challenges:
- ``still_photo``: one picture held still (sensor noise only): clip frames, LFW photos and the Silent-Face
  ``spoof/`` samples;
- ``planar_photo``: the same pictures turned, tilted, rotated, moved and scaled as a rigid plane in front of
  a pinhole camera (a printed photo or a phone screen handled to fake a head turn);

A replayed burst (a bona fide burst sent again) is not a model question: check-in's single-use nonces refuse
it whatever the burst shows, and the domain tests prove that on a real Redis
(``tests/domain/school/test_liveness_checkin.py``).

APCER per species = attacks accepted / attacks; BPCER = bona fide rejected / bona fide; both at the operating
point (the Liveness deployment's ``user_config``), plus the score threshold sweep for the DET trade-off.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from models.alignment import align_faces
from models.detectors import load_detector
from models.embedder import SfaceEmbedder
from models.eval.clips import BURST_SPAN, burst_frames, clip_paths, load_clip, planar_burst, still_burst
from models.eval.datasets import IMAGE_SUFFIXES
from models.eval.recorded import answered, reference_yaw
from models.liveness import (
    Action,
    Burst,
    LivenessLimits,
    LivenessVerdict,
    check_burst,
)
from models.types import Face

#: A bona fide window turns at least this far (reference 2-D yaw, degrees) toward one side, ending at least
#: ``MIN_REFERENCE_REACH_DEG`` past frontal on that side.
MIN_REFERENCE_TURN_DEG = 12.0
MIN_REFERENCE_REACH_DEG = 8.0


#: Reasons that only say the turn fell short: the score (the turn) alone decides them, so a sweep of the
#: score threshold can move them; every other reason (a second face, different people, a used nonce) stays.
TURN_REASONS = frozenset({"no_motion", "planar_motion", "wrong_direction", "challenge_not_performed"})


@dataclass(slots=True)
class Outcomes:
    scores: list[float] = field(default_factory=list)
    passed: list[bool] = field(default_factory=list)
    hard: list[bool] = field(default_factory=list)  # failed for a reason other than the turn
    reasons: dict[str, int] = field(default_factory=dict)

    def add(self, passed: bool, score: float, reasons: Sequence[str]) -> None:
        self.passed.append(passed)
        self.scores.append(score)
        self.hard.append(any(reason not in TURN_REASONS for reason in reasons))
        for reason in reasons:
            self.reasons[reason] = self.reasons.get(reason, 0) + 1

    def accepted_at(self, threshold: float) -> float:
        """Share accepted if the score threshold were ``threshold`` (0.5 is the operating point)."""
        pairs = zip(self.scores, self.hard, strict=True)
        accepted = [score >= threshold and not hard for score, hard in pairs]
        return float(np.mean(accepted)) if accepted else float("nan")


@dataclass(frozen=True, slots=True)
class LivenessReport:
    threshold: float
    limits: dict[str, float]
    bona_fide: int
    bpcer: float
    attacks: dict[str, int]
    apcer: dict[str, float]
    reasons: dict[str, dict[str, int]]
    sweep: list[dict[str, float]]
    seconds: float

    def to_json(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


class BurstJudge:
    """YuNet + SFace in this process, the same ``check_burst`` as the Liveness deployment."""

    def __init__(self, limits: LivenessLimits) -> None:
        self.detector = load_detector("fast")
        self.embedder = SfaceEmbedder.load()
        self.limits = limits

    async def _embed(self, crops: np.ndarray) -> tuple[np.ndarray, str]:
        return self.embedder.embed(crops), self.embedder.model_id

    def detect(self, images: Sequence[np.ndarray]) -> list[list[Face]]:
        """The Detector's answer at its ``min_score`` (serve_config's 0.6)."""
        return [
            [face for face in frame if face.score >= 0.6]
            for frame in self.detector.detect_batch(list(images))
        ]

    def detect_all(self, frames: Sequence[np.ndarray]) -> list[list[Face]]:
        """Every frame of a recording detected once, in batches: bursts overlap, and detection is most of an
        evaluation's time."""
        found: list[list[Face]] = []
        for start in range(0, len(frames), 16):
            found.extend(self.detect(frames[start : start + 16]))
        return found

    def verdict(
        self, action: Action, images: Sequence[np.ndarray], faces: list[list[Face]] | None = None
    ) -> LivenessVerdict:
        """Judge ``images`` answering ``action`` (``faces``: their detections, when already known)."""
        faces = self.detect(images) if faces is None else faces
        crops = [align_faces(image, found) for image, found in zip(images, faces, strict=True)]
        burst = Burst(list(images), faces, crops)
        return asyncio.run(check_burst(action, burst, self._embed, self.limits)).verdict

    def burst(self, action: Action, images: Sequence[np.ndarray]) -> tuple[bool, float, list[str]]:
        verdict = self.verdict(action, images)
        return verdict.passed, verdict.score, verdict.reasons


def bona_fide_windows(frames_per_burst: int, stride: int) -> list[tuple[Action, list[np.ndarray]]]:
    """(action, burst) for every clip window whose reference yaw turns far enough one way."""
    windows = []
    for path in clip_paths():
        clip = load_clip(path)
        yaws = reference_yaw(clip.frames)
        for start in range(0, len(clip.frames) - BURST_SPAN + 1, stride):
            picked = np.linspace(start, start + BURST_SPAN - 1, frames_per_burst).round().astype(int)
            for action in answered(yaws[picked], MIN_REFERENCE_TURN_DEG, MIN_REFERENCE_REACH_DEG):
                windows.append((action, burst_frames(clip, start, BURST_SPAN, frames_per_burst)))
    return windows


def attack_sources(faces_dir: Path, lfw_photos: int) -> list[np.ndarray]:
    """Pictures an attacker could hold up: clip frames, LFW photos, the Silent-Face spoof samples."""
    sources = []
    for path in clip_paths(faces_dir):
        clip = load_clip(path)
        sources.extend(clip.frames[::25])
    lfw = sorted(p for p in (faces_dir / "lfw").glob("*/*.jpg"))[:: max(1, 13)][:lfw_photos]
    spoof = sorted(p for p in (faces_dir / "spoof").rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    for path in [*lfw, *spoof]:
        image = cv2.imread(str(path))
        if image is not None:
            sources.append(image)
    return sources


def random_pose(rng: np.random.Generator) -> dict[str, Any]:
    """A plane attack's motion over the burst: turned 15-50 degrees either way, tilted, rotated, moved and
    brought closer or further (``planar_burst``'s arguments)."""
    return {
        "yaw_deg": float(rng.choice([-1, 1]) * rng.uniform(15, 50)),
        "pitch_deg": float(rng.uniform(-25, 25)),
        "roll_deg": float(rng.uniform(-20, 20)),
        "shift": (float(rng.uniform(-0.15, 0.15)), float(rng.uniform(-0.1, 0.1))),
        "scale": float(rng.uniform(0.8, 1.3)),
    }


def run_liveness(
    faces_dir: Path,
    *,
    limits: LivenessLimits | None = None,
    frames: int = 8,
    stride: int = 4,
    lfw_photos: int = 60,
    planar_per_source: int = 3,
    seed: int = 0,
) -> LivenessReport:
    started = time.perf_counter()
    limits = limits or LivenessLimits()
    judge = BurstJudge(limits)
    rng = np.random.default_rng(seed)
    outcomes: dict[str, Outcomes] = {
        "bona_fide": Outcomes(),
        "still_photo": Outcomes(),
        "planar_photo": Outcomes(),
    }
    bona_fide = bona_fide_windows(frames, stride)
    for action, burst in bona_fide:
        outcomes["bona_fide"].add(*judge.burst(action, burst))
    for index, source in enumerate(attack_sources(faces_dir, lfw_photos)):
        for action in Action:
            outcomes["still_photo"].add(*judge.burst(action, still_burst(source, frames, seed=index)))
            for _ in range(planar_per_source):
                moved = planar_burst(source, frames, **random_pose(rng))
                outcomes["planar_photo"].add(*judge.burst(action, moved))
    return _report(outcomes, limits, time.perf_counter() - started)


def _report(outcomes: dict[str, Outcomes], limits: LivenessLimits, seconds: float) -> LivenessReport:
    bona = outcomes["bona_fide"]
    attacks = {name: o for name, o in outcomes.items() if name != "bona_fide"}
    sweep = []
    for threshold in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8):
        # The score is the turn over twice min_turn: a threshold t here is min_turn * 2t in user_config.
        row = {"score_threshold": threshold, "bpcer": round(1 - bona.accepted_at(threshold), 4)}
        for name, o in attacks.items():
            row[f"apcer_{name}"] = round(o.accepted_at(threshold), 4)
        sweep.append(row)
    return LivenessReport(
        threshold=0.5,
        limits={name: float(getattr(limits, name)) for name in limits.__dataclass_fields__},
        bona_fide=len(bona.passed),
        bpcer=round(1 - bona.accepted_at(0.5), 4),
        attacks={name: len(o.passed) for name, o in attacks.items()},
        apcer={name: round(o.accepted_at(0.5), 4) for name, o in attacks.items()},
        reasons={name: dict(sorted(o.reasons.items())) for name, o in outcomes.items()},
        sweep=sweep,
        seconds=round(seconds, 1),
    )
