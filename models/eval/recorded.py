"""Real recordings as a kiosk would send them: any video (any fps, any size), bursts sampled by time.

A kiosk grabs ``count`` frames ``interval_ms`` apart from its camera, scales each so its longer side is at
most 640 px and sends it as a JPEG at quality 0.9 (``web/src/kiosk/camera.ts``). A recorded clip is turned
into the same bursts: for a burst starting at time t, frame k is the clip's frame nearest to t + k*interval
(by the video's own timestamps, so a 16 fps webcam and a 30 fps phone give bursts of the same duration),
prepared as the kiosk prepares it. A horizontally flipped clip is a real turn the other way, so each bona
fide clip also serves mirrored.

Which windows hold a turn is decided by a reference measurement that is not the one under test: the accurate
profile's MTCNN landmarks and the plain 2-D yaw of ``models.quality.head_pose``.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import cv2
import numpy as np

from models.detectors import load_detector
from models.liveness import DIRECTION, Action
from models.liveness.geometry import directed_turn, side_reach
from models.quality import head_pose
from models.registry import default_cache_dir
from models.types import Face

VIDEO_SUFFIXES = {".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v"}
#: What the kiosk's grabFrame sends: longer side at most this, JPEG quality 0.9.
KIOSK_MAX_SIDE = 640
KIOSK_JPEG_QUALITY = 90


@dataclass(frozen=True, slots=True)
class Recording:
    """A video's frames as the kiosk would send them (BGR), their timestamps in seconds, and the
    reference yaw of its largest face per frame (degrees; nan where none was found)."""

    name: str
    frames: list[np.ndarray]
    times_s: np.ndarray
    reference_yaw: np.ndarray
    mirrored: bool = False

    def mirror(self) -> Recording:
        """The clip flipped left-right: a real head turn the other way."""
        flipped = [np.ascontiguousarray(frame[:, ::-1]) for frame in self.frames]
        return Recording(self.name, flipped, self.times_s, -self.reference_yaw, not self.mirrored)

    @property
    def label(self) -> str:
        return f"{self.name} (mirrored)" if self.mirrored else self.name


def video_paths(folders: Sequence[Path]) -> list[Path]:
    """Every video file directly in (or below) ``folders``, sorted (a video file given itself counts as
    itself); a folder without any is an error."""
    paths: list[Path] = []
    for folder in folders:
        if folder.is_file():
            paths.append(folder)
            continue
        found = sorted(p for p in folder.rglob("*") if p.suffix.lower() in VIDEO_SUFFIXES)
        if not found:
            raise FileNotFoundError(f"no videos ({', '.join(sorted(VIDEO_SUFFIXES))}) under {folder}")
        paths.extend(found)
    return paths


def kiosk_frame(frame: np.ndarray) -> np.ndarray:
    """``frame`` as the kiosk sends it: scaled to at most 640 px on its longer side, JPEG round trip."""
    scale = min(1.0, KIOSK_MAX_SIDE / max(frame.shape[:2]))
    if scale < 1.0:
        size = (round(frame.shape[1] * scale), round(frame.shape[0] * scale))
        frame = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
    ok, data = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, KIOSK_JPEG_QUALITY])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return cast(np.ndarray, cv2.imdecode(data, cv2.IMREAD_COLOR))  # None only for data that is no image


@functools.cache
def load_recording(path: Path) -> Recording:
    """The video at ``path`` as kiosk frames with their reference yaw (cached on disk by the file's hash:
    MTCNN over every frame is the slow part of an evaluation)."""
    capture = cv2.VideoCapture(str(path))
    fps = capture.get(cv2.CAP_PROP_FPS) or 0.0
    frames, times = [], []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        stamp = capture.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
        frames.append(kiosk_frame(frame))
        times.append(stamp)
    capture.release()
    if not frames:
        raise ValueError(f"no frames could be read from {path}")
    stamps = np.asarray(times, dtype=np.float64)
    if fps > 0 and (np.any(np.diff(stamps) <= 0) or stamps[-1] <= 0):  # containers without usable stamps
        stamps = np.arange(len(frames)) / fps
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    cached = default_cache_dir() / "eval" / f"reference-yaw-{digest}.npy"
    if cached.is_file():
        yaws = np.load(cached)
    else:
        yaws = reference_yaw(frames)
        cached.parent.mkdir(parents=True, exist_ok=True)
        np.save(cached, yaws)
    return Recording(path.name, frames, stamps - stamps[0], yaws)


def reference_yaw(frames: Sequence[np.ndarray]) -> np.ndarray:
    """The reference measurement: 2-D yaw (degrees) of each frame's largest face by MTCNN's landmarks."""
    detector = load_detector("accurate")
    yaws = np.full(len(frames), np.nan)
    for start in range(0, len(frames), 16):
        for i, found in enumerate(detector.detect_batch(list(frames[start : start + 16]))):
            if found:
                subject: Face = max(found, key=lambda face: face.area)
                yaws[start + i] = head_pose(subject.landmarks)[0]
    return yaws


def burst_indices(recording: Recording, start_s: float, count: int, interval_ms: int) -> np.ndarray | None:
    """Frame indices of a ``count``-frame burst at ``interval_ms`` from ``start_s``, nearest by timestamp;
    ``None`` when the burst runs past the end of the clip."""
    wanted = start_s + np.arange(count) * interval_ms / 1000.0
    times = recording.times_s
    if wanted[-1] > times[-1] + 0.5 / max(_fps(times), 1.0):
        return None
    nearest: np.ndarray = np.abs(times[None, :] - wanted[:, None]).argmin(axis=1)
    return nearest


def windows(
    recording: Recording, count: int, interval_ms: int, stride_s: float
) -> Iterator[tuple[float, np.ndarray]]:
    """(start time, frame indices) of every burst of ``count`` frames, starts ``stride_s`` apart."""
    start = 0.0
    while (indices := burst_indices(recording, start, count, interval_ms)) is not None:
        yield start, indices
        start += stride_s


def reference_turns(
    recording: Recording, indices: np.ndarray, min_deg: float, min_reach_deg: float
) -> list[Action]:
    """The challenges this burst answers by the reference measurement (``answered``)."""
    return answered(recording.reference_yaw[indices], min_deg, min_reach_deg)


def answered(yaws: np.ndarray, min_deg: float, min_reach_deg: float) -> list[Action]:
    """The challenges reference yaws (degrees, one per burst frame) answer: a move of at least ``min_deg``
    toward one side that gets at least ``min_reach_deg`` past frontal on that side (coming back to frontal
    from the other side is not a turn the asked way)."""
    values = np.asarray(yaws, dtype=np.float64)
    if np.isnan(values).any():
        return []
    return [
        action
        for action in Action
        if directed_turn(values, DIRECTION[action]) >= min_deg
        and side_reach(values, DIRECTION[action]) >= min_reach_deg
    ]


def _fps(times: np.ndarray) -> float:
    steps = np.diff(times)
    return 1.0 / float(np.median(steps)) if steps.size and np.median(steps) > 0 else 0.0
