"""Liveness on real recordings: BPCER on real people's head turns, APCER on real screen replays.

`python -m models.eval liveness --clips DIR --replays DIR` (both repeatable). Bona fide presentations are the
bursts of the ``--clips`` videos (and their mirror images) in which the reference measurement sees a turn of
at least ``MIN_REFERENCE_TURN_DEG`` (``models.eval.recorded``), answered against that direction's challenge,
at every frame count the Ingress challenge asks for (its minimum, the kiosk's default and its maximum) and its
interval. Attacks:
- ``replayed_video``: every burst of every ``--replays`` video (a screen replay filmed by a camera), answered
  against both challenges, whatever the on-screen head does;
- ``still_photo`` / ``planar_photo``: frames of the clips (one every two seconds), LFW photos and the
  Silent-Face ``spoof/`` samples, held still or moved as a rigid plane (``models.eval.clips``).

The colour-reflection layer is not exercised here: a recording cannot carry the reflection of a sequence
chosen at the moment of capture (its own evaluation is ``python -m models.eval colour``).

Thresholds are chosen on one part of the data and reported on the other: sources (files) alternate between a
``tune`` and a ``test`` fold in sorted order, bona fide and replays separately; figures are printed for both
folds, per source and per frame count.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from app.core.config import Settings
from models.eval.clips import planar_burst, still_burst
from models.eval.liveness import (
    MIN_REFERENCE_REACH_DEG,
    MIN_REFERENCE_TURN_DEG,
    TURN_REASONS,
    BurstJudge,
    attack_sources,
    random_pose,
)
from models.eval.recorded import Recording, load_recording, reference_turns, video_paths, windows
from models.liveness import Action, LivenessLimits, LivenessVerdict
from models.types import Face

SWEEP = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8)


@dataclass(frozen=True, slots=True)
class Presentation:
    species: str  # bona_fide or an attack species
    source: str
    frames: int
    fold: str  # tune or test
    passed: bool
    score: float
    hard: bool  # failed for a reason other than the turn (the score threshold cannot move it)
    reasons: tuple[str, ...]
    metrics: dict[str, float]

    def accepted_at(self, threshold: float) -> bool:
        return not self.hard and self.score >= threshold


def frame_counts() -> tuple[int, int, int]:
    """The minimum, the kiosk's default and the maximum the Ingress challenge asks for."""
    fields = Settings.model_fields
    return (
        int(fields["burst_min_frames"].default),
        int(fields["burst_default_frames"].default),
        int(fields["burst_max_frames"].default),
    )


def interval_ms() -> int:
    return int(Settings.model_fields["burst_interval_ms"].default)


def run_recorded(
    faces_dir: Path,
    clips: Sequence[Path],
    replays: Sequence[Path],
    *,
    limits: LivenessLimits | None = None,
    stride_s: float = 0.25,
    lfw_photos: int = 20,
    planar_per_source: int = 2,
    seed: int = 0,
    dump: Path | None = None,
) -> dict[str, object]:
    """The figures (one JSON-ready dict); ``dump`` also gets every presentation as a JSON line (its metrics
    too), for looking into what a limit would change."""
    started = time.perf_counter()
    limits = limits or LivenessLimits()
    judge = BurstJudge(limits)
    counts, interval = frame_counts(), interval_ms()
    found: list[Presentation] = []
    clip_paths = video_paths(clips) if clips else []
    for index, path in enumerate(clip_paths):
        recording = load_recording(path)
        for view in (recording, recording.mirror()):
            found.extend(_recorded(judge, "bona_fide", view, _fold(index), counts, interval, stride_s))
    for index, path in enumerate(video_paths(replays) if replays else []):
        replay = load_recording(path)
        found.extend(_recorded(judge, "replayed_video", replay, _fold(index), counts, interval, stride_s))
    pictures = [frame for path in clip_paths for frame in load_recording(path).frames[:: _every(path, 2.0)]]
    found.extend(
        _pictures(
            judge, [*pictures, *attack_sources(faces_dir, lfw_photos)], counts[1], planar_per_source, seed
        )
    )
    if dump is not None:
        with dump.open("w") as out:
            for presentation in found:
                out.write(json.dumps(asdict(presentation)) + "\n")
    return _summary(found, limits, counts, time.perf_counter() - started)


def _fold(index: int) -> str:
    return "tune" if index % 2 == 0 else "test"


def _every(path: Path, seconds: float) -> int:
    recording = load_recording(path)
    fps = (len(recording.times_s) - 1) / max(float(recording.times_s[-1]), 1e-6)
    return max(1, round(seconds * fps))


def _recorded(
    judge: BurstJudge,
    species: str,
    recording: Recording,
    fold: str,
    counts: Iterable[int],
    interval: int,
    stride_s: float,
) -> list[Presentation]:
    """Every burst of the recording, judged against the challenges it answers: for bona fide clips those the
    reference sees turned, for replays both (an attacker takes whatever the kiosk asks)."""
    faces = judge.detect_all(recording.frames)
    out = []
    for count in counts:
        for _, indices in windows(recording, count, interval, stride_s):
            if species == "bona_fide":
                actions = reference_turns(recording, indices, MIN_REFERENCE_TURN_DEG, MIN_REFERENCE_REACH_DEG)
            else:
                actions = list(Action)
            for action in actions:
                out.append(_judged(judge, species, recording.label, fold, action, recording, faces, indices))
    return out


def _pictures(
    judge: BurstJudge, sources: list[np.ndarray], count: int, planar_per_source: int, seed: int
) -> list[Presentation]:
    rng = np.random.default_rng(seed)
    out = []
    for index, source in enumerate(sources):
        fold = _fold(index)
        for action in Action:
            bursts = [("still_photo", still_burst(source, count, seed=index))]
            for _ in range(planar_per_source):
                bursts.append(("planar_photo", planar_burst(source, count, **random_pose(rng))))
            for species, images in bursts:
                verdict = judge.verdict(action, images)
                out.append(_presentation(species, f"picture {index}", count, fold, verdict))
    return out


def _judged(
    judge: BurstJudge,
    species: str,
    source: str,
    fold: str,
    action: Action,
    recording: Recording,
    faces: list[list[Face]],
    indices: np.ndarray,
) -> Presentation:
    images = [recording.frames[i] for i in indices]
    verdict = judge.verdict(action, images, [faces[i] for i in indices])
    return _presentation(species, source, len(indices), fold, verdict)


def _presentation(
    species: str, source: str, frames: int, fold: str, verdict: LivenessVerdict
) -> Presentation:
    hard = any(reason not in TURN_REASONS for reason in verdict.reasons)
    return Presentation(
        species,
        source,
        frames,
        fold,
        verdict.passed,
        verdict.score,
        hard,
        tuple(verdict.reasons),
        verdict.metrics,
    )


def _rate(items: Sequence[Presentation], threshold: float, *, bona_fide: bool) -> float:
    if not items:
        return float("nan")
    accepted = np.mean([item.accepted_at(threshold) for item in items])
    return round(float(1 - accepted if bona_fide else accepted), 4)


def _figures(items: Sequence[Presentation], counts: Sequence[int], threshold: float) -> dict[str, object]:
    bona = [p for p in items if p.species == "bona_fide"]
    attacks = sorted({p.species for p in items} - {"bona_fide"})
    return {
        "bona_fide": len(bona),
        "bpcer_by_frames": {
            str(c): _rate([p for p in bona if p.frames == c], threshold, bona_fide=True) for c in counts
        },
        "apcer": {
            s: _rate([p for p in items if p.species == s], threshold, bona_fide=False) for s in attacks
        },
        "apcer_replayed_video_by_frames": {
            str(c): _rate(
                [p for p in items if p.species == "replayed_video" and p.frames == c],
                threshold,
                bona_fide=False,
            )
            for c in counts
        },
    }


def _summary(
    found: list[Presentation], limits: LivenessLimits, counts: tuple[int, int, int], seconds: float
) -> dict[str, object]:
    threshold = 0.5
    default = counts[1]
    bona = [p for p in found if p.species == "bona_fide"]
    attacks = sorted({p.species for p in found} - {"bona_fide"})
    sweep = []
    for t in SWEEP:
        row: dict[str, float] = {"score_threshold": t}
        for fold in ("tune", "test"):
            part = [p for p in found if p.fold == fold]
            row[f"{fold}_bpcer_{default}"] = _rate(
                [p for p in part if p.species == "bona_fide" and p.frames == default], t, bona_fide=True
            )
            row[f"{fold}_apcer_replayed_video"] = _rate(
                [p for p in part if p.species == "replayed_video"], t, bona_fide=False
            )
        sweep.append(row)
    by_source: dict[str, dict[str, object]] = {}
    for source in sorted({p.source for p in found if not p.source.startswith("picture")}):
        items = [p for p in found if p.source == source]
        by_source[source] = {
            "species": items[0].species,
            "fold": items[0].fold,
            "by_frames": {
                str(c): {
                    "count": len(part := [p for p in items if p.frames == c]),
                    "rate": _rate(part, threshold, bona_fide=items[0].species == "bona_fide"),
                }
                for c in counts
            },
            "reasons": dict(Counter(r for p in items for r in p.reasons).most_common()),
        }
    figures = _figures(found, counts, threshold)
    return {
        "threshold": threshold,
        "limits": {name: float(getattr(limits, name)) for name in limits.__dataclass_fields__},
        "frames": {"min": counts[0], "default": counts[1], "max": counts[2], "interval_ms": interval_ms()},
        "bona_fide": len(bona),
        "bpcer": figures["bpcer_by_frames"][str(default)],  # type: ignore[index]
        "bpcer_by_frames": figures["bpcer_by_frames"],
        "attacks": {s: sum(p.species == s for p in found) for s in attacks},
        "apcer": figures["apcer"],
        "apcer_replayed_video_by_frames": figures["apcer_replayed_video_by_frames"],
        "reasons": {
            s: dict(Counter(r for p in found if p.species == s for r in p.reasons).most_common())
            for s in ["bona_fide", *attacks]
        },
        "folds": {
            fold: _figures([p for p in found if p.fold == fold], counts, threshold)
            for fold in ("tune", "test")
        },
        "by_source": by_source,
        "sweep": sweep,
        "seconds": round(seconds, 1),
    }
