"""Recordings as a kiosk sends them: bursts sampled by timestamp whatever the clip's frame rate, the kiosk's
frame size, mirrored clips, and which challenges a reference yaw series answers."""

from __future__ import annotations

import numpy as np
import pytest

from models.eval.clips import clip_paths, read_frames
from models.eval.recorded import KIOSK_MAX_SIDE, Recording, answered, burst_indices, kiosk_frame, windows
from models.liveness import Action


@pytest.fixture(scope="module")
def frames() -> list[np.ndarray]:
    return read_frames(clip_paths()[0])[:40]


def clip(frames: list[np.ndarray], fps: float, yaw: np.ndarray | None = None) -> Recording:
    times = np.arange(len(frames)) / fps
    return Recording("clip", frames, times, np.zeros(len(frames)) if yaw is None else yaw)


def test_a_burst_takes_the_frames_nearest_the_kiosks_capture_times(frames):
    at_25 = burst_indices(clip(frames, 25.0), 0.0, 5, 120)
    assert at_25 is not None and at_25.tolist() == [0, 3, 6, 9, 12]  # 0, 120, 240, 360, 480 ms
    at_16 = burst_indices(clip(frames, 16.0), 0.0, 5, 120)
    assert at_16 is not None and at_16.tolist() == [0, 2, 4, 6, 8]  # same span at 62.5 ms a frame
    assert burst_indices(clip(frames, 25.0), 1.5, 5, 120) is None  # runs past the 1.6 s clip


def test_windows_start_a_stride_apart_until_the_clip_ends(frames):
    starts = [start for start, _ in windows(clip(frames, 25.0), 5, 120, 0.25)]
    assert starts == pytest.approx([0.0, 0.25, 0.5, 0.75, 1.0])


def test_kiosk_frames_are_at_most_640_pixels_on_their_longer_side(frames):
    big = np.repeat(np.repeat(frames[0], 3, axis=0), 3, axis=1)
    assert max(kiosk_frame(big).shape[:2]) == KIOSK_MAX_SIDE
    assert kiosk_frame(frames[0]).shape == frames[0].shape  # never enlarged


def test_a_mirrored_clip_turns_the_other_way(frames):
    yaw = np.linspace(0, 20, len(frames))
    original = clip(frames, 25.0, yaw)
    mirrored = original.mirror()
    assert np.array_equal(mirrored.frames[0], frames[0][:, ::-1])
    assert mirrored.reference_yaw[-1] == pytest.approx(-20)
    assert mirrored.label.endswith("(mirrored)")


def test_a_turn_answers_its_side_and_coming_back_to_frontal_answers_nothing():
    assert answered(np.array([0.0, 6.0, 14.0]), 12.0, 8.0) == [Action.turn_left]
    assert answered(np.array([0.0, -6.0, -14.0]), 12.0, 8.0) == [Action.turn_right]
    assert answered(np.array([-14.0, -6.0, 0.0]), 12.0, 8.0) == []  # back from the other side
    assert answered(np.array([0.0, np.nan, 14.0]), 12.0, 8.0) == []  # the reference lost the face
