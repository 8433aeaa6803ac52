"""Real recordings from ``../shared/faces/liveness`` as a kiosk sends them, for the HTTP and domain tests.

Bursts are picked by the evaluation's reference measurement (``models.eval.recorded``: MTCNN's 2-D yaw),
never by the check under test, so a test that a real turn passes does not choose its own easy case.
"""

from __future__ import annotations

import numpy as np

from models.eval.clips import encode_jpeg
from models.eval.datasets import faces_root
from models.eval.recorded import Recording, load_recording, windows
from models.liveness import DIRECTION, Action
from models.liveness.geometry import directed_turn, side_reach

#: A bona fide clip whose person turns clearly both ways (phone front camera; see its README).
LIVE_CLIP = "td_live_621f74a8.mov"
#: The laptop-screen replay of another person's clip: the screen's frame is in view.
REPLAY_CLIP = "tranvanluyt_laptop_replay.mp4"


def recording(name: str) -> Recording:
    folder = "attacks" if "replay" in name else "bona_fide"
    path = faces_root() / "liveness" / folder / name
    if not path.is_file():
        raise FileNotFoundError(f"missing {path} (set ROLLCALL_FACES_DIR)")
    return load_recording(path)


def turn_burst(clip: Recording, action: Action, count: int, interval_ms: int) -> list[bytes]:
    """The ``count``-frame burst in which the reference sees the clearest turn to ``action``'s side."""

    def clearness(indices: np.ndarray) -> float:
        yaws = clip.reference_yaw[indices]
        if np.isnan(yaws).any():
            return -1.0
        return min(directed_turn(yaws, DIRECTION[action]), 2 * side_reach(yaws, DIRECTION[action]))

    best = max((indices for _, indices in windows(clip, count, interval_ms, 0.1)), key=clearness)
    return [encode_jpeg(clip.frames[i]) for i in best]


def bursts(clip: Recording, count: int, interval_ms: int, stride_s: float) -> list[list[bytes]]:
    """Every ``count``-frame burst of the clip, starts ``stride_s`` apart."""
    return [
        [encode_jpeg(clip.frames[i]) for i in indices]
        for _, indices in windows(clip, count, interval_ms, stride_s)
    ]


def stills(clip: Recording, count: int = 3) -> list[bytes]:
    """Enrollment photos: the clip's most frontal frames (by the reference), spread over the clip."""
    thirds = np.array_split(np.arange(len(clip.frames)), count)
    picked = [int(part[np.nanargmin(np.abs(clip.reference_yaw[part]))]) for part in thirds]
    return [encode_jpeg(clip.frames[i]) for i in picked]
