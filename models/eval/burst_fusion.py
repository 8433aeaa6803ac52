"""Does fusing a burst's frames identify better than its one probe frame? Measured on real and made clips.

Each clip is one person. Their enrollment is three frontal stills spread over the clip (as
``tests/real_liveness.stills`` picks them); probes are the kiosk bursts of the clip (13 frames, 120 ms apart,
every ``stride_s``) that lie at least ``gap_s`` away from every enrollment still, so no probe is a copy of a
template. For each burst the product's own tracking picks the probe frame and the frames it fuses
(``models.liveness.track_subject``); the probe's vector is either that frame's embedding ("single") or the
detection-score-weighted fusion (``models.fusion.fuse``, "fused"). Scores: the mated cosine (best over the
person's own templates) and the best non-mated cosine (over every other person's templates), and the margin
between them; a burst is "safe" at a threshold when mated >= threshold > non-mated.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from models.alignment import align_faces
from models.embedder import SfaceEmbedder
from models.eval.liveness import BurstJudge
from models.eval.recorded import Recording, burst_indices, load_recording, video_paths
from models.fusion import fuse
from models.liveness import LivenessLimits, track_subject
from models.types import Face


def run_burst_fusion(
    clips: Sequence[Path],
    *,
    frames: int = 13,
    interval_ms: int = 120,
    stride_s: float = 0.5,
    gap_s: float = 1.0,
    threshold: float = 0.42,
    fuse_frames: Sequence[int] = (1, 2, 3, 5),
) -> dict[str, object]:
    judge = BurstJudge(LivenessLimits())  # the liveness evaluation's detector (at min_score) and embedder
    embedder = judge.embedder
    people = [_Person.of(load_recording(path), judge) for path in video_paths(clips)]
    templates = {person.name: person.templates(embedder) for person in people}
    results: dict[str, object] = {"clips": [p.name for p in people], "frames": frames, "threshold": threshold}
    for count in fuse_frames:
        limits = LivenessLimits(fuse_frames=count)
        mated, non_mated = [], []
        for person in people:
            for probe in person.probes(embedder, limits, frames, interval_ms, stride_s, gap_s):
                mated.append(float(np.max(templates[person.name] @ probe)))
                others = [float(np.max(t @ probe)) for name, t in templates.items() if name != person.name]
                non_mated.append(max(others))
        m, n = np.asarray(mated), np.asarray(non_mated)
        results[f"fuse_{count}"] = {
            "bursts": len(m),
            "mated_mean": round(float(m.mean()), 4),
            "mated_p05": round(float(np.percentile(m, 5)), 4),
            "non_mated_max": round(float(n.max()), 4),
            "non_mated_mean": round(float(n.mean()), 4),
            "margin_mean": round(float((m - n).mean()), 4),
            "fnir_at_threshold": round(float((m < threshold).mean()), 4),
            "safe_at_threshold": round(float(((m >= threshold) & (n < threshold)).mean()), 4),
        }
    return results


class _Person:
    """One clip: its frames' detections and crops (computed once) and its enrollment stills."""

    def __init__(self, recording: Recording, faces: list[list[Face]], crops: list[np.ndarray]) -> None:
        self.recording = recording
        self.faces = faces
        self.crops = crops
        thirds = np.array_split(np.arange(len(recording.frames)), 3)
        yaw = np.abs(np.nan_to_num(recording.reference_yaw, nan=90.0))
        self.stills = [int(part[np.argmin(yaw[part])]) for part in thirds]

    @property
    def name(self) -> str:
        return self.recording.name

    @classmethod
    def of(cls, recording: Recording, judge: BurstJudge) -> _Person:
        faces = judge.detect_all(recording.frames)
        crops = [align_faces(image, found) for image, found in zip(recording.frames, faces, strict=True)]
        return cls(recording, faces, crops)

    def templates(self, embedder: SfaceEmbedder) -> np.ndarray:
        picked = [self.crops[i][int(np.argmax([f.area for f in self.faces[i]]))] for i in self.stills]
        return embedder.embed(np.stack(picked))

    def probes(
        self,
        embedder: SfaceEmbedder,
        limits: LivenessLimits,
        frames: int,
        interval_ms: int,
        stride_s: float,
        gap_s: float,
    ) -> list[np.ndarray]:
        times = self.recording.times_s
        still_times = times[self.stills]
        found = []
        for start in np.arange(0.0, float(times[-1]), stride_s):
            indices = burst_indices(self.recording, float(start), frames, interval_ms)
            if indices is None:
                break
            if np.min(np.abs(times[indices][:, None] - still_times[None, :])) < gap_s:
                continue
            track = track_subject([self.faces[i] for i in indices], limits)
            if track.probe is None:
                continue
            chosen = track.fused_frames
            crops = np.stack([self.crops[indices[i]][track.indices[i]] for i in chosen])
            scores = np.array([track.subjects[i].score for i in chosen])  # type: ignore[union-attr]
            found.append(fuse(embedder.embed(crops), scores))
        return found
