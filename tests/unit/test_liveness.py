"""Liveness geometry and decision: pure logic on landmark sets (the ArcFace template is a real face's
geometry), and texture parallax on real clip frames, flat re-projections of them, and a held still photo."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from models.alignment import ARCFACE_TEMPLATE
from models.eval.clips import (
    BURST_SPAN,
    CLIP_NAMES,
    best_window,
    burst_frames,
    clip_paths,
    load_clip,
    planar_burst,
    still_burst,
)
from models.liveness import Action, LivenessLimits, judge, track_subject
from models.liveness.flow import texture_parallax
from models.liveness.geometry import directed_turn, image_motion, nose_parallax, side_reach
from models.types import Face

LIMITS = LivenessLimits()


def face(landmarks: np.ndarray, *, shift: tuple[float, float] = (0, 0), scale: float = 1.0) -> Face:
    points = np.asarray(landmarks, np.float32) * scale + np.asarray(shift, np.float32)
    x1, y1 = points.min(axis=0) - 20 * scale
    x2, y2 = points.max(axis=0) + 20 * scale
    return Face(box=np.array([x1, y1, x2, y2], np.float32), landmarks=points, score=0.95)


def turned(nose_dx: float) -> np.ndarray:
    """The template with the nose moved sideways (a head turn, seen as nose parallax)."""
    points = ARCFACE_TEMPLATE.copy()
    points[2, 0] += nose_dx
    return points


def test_a_frontal_face_has_no_parallax_whatever_plane_transform_it_undergoes():
    assert np.allclose(nose_parallax(ARCFACE_TEMPLATE), 0, atol=1e-6)
    src = np.float32([[0, 0], [112, 0], [112, 112], [0, 112]])
    dst = np.float32([[10, 5], [100, 12], [95, 120], [3, 104]])  # a photo turned and tilted
    homography = cv2.getPerspectiveTransform(src, dst)
    warped = cv2.perspectiveTransform(turned(6.0)[None], homography)[0]
    assert nose_parallax(warped)[0] == pytest.approx(nose_parallax(turned(6.0))[0], abs=1e-4)


def test_the_nose_moving_to_the_pictures_right_is_positive_parallax():
    assert nose_parallax(turned(7.0))[0] > 0.15
    assert nose_parallax(turned(-7.0))[0] < -0.15


def test_directed_turn_counts_a_turn_anywhere_in_the_burst():
    assert directed_turn([0.1, 0.0, -0.05, 0.2], +1) == pytest.approx(0.25)
    assert directed_turn([0.1, 0.0, -0.05, 0.2], -1) == pytest.approx(0.15)
    assert directed_turn([0.3], +1) == 0.0


def test_image_motion_is_in_eye_distances():
    assert image_motion([ARCFACE_TEMPLATE, ARCFACE_TEMPLATE]) == 0.0
    iod = float(np.hypot(*(ARCFACE_TEMPLATE[1] - ARCFACE_TEMPLATE[0])))
    moved = ARCFACE_TEMPLATE + np.array([iod / 2, 0], np.float32)
    assert image_motion([ARCFACE_TEMPLATE, moved]) == pytest.approx(0.5, rel=1e-3)


def frames_turning(to: float, count: int = 6) -> list[list[Face]]:
    return [[face(turned(dx))] for dx in np.linspace(0, to, count)]


def test_a_turn_the_asked_way_with_3d_texture_passes():
    track = track_subject(frames_turning(6.0), LIMITS)
    verdict = judge(Action.turn_left, track, [0.8, 0.7], 0.5, LIMITS)
    assert verdict.passed and verdict.reasons == [] and verdict.score == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("frames", "action", "texture", "reason"),
    [
        (frames_turning(0.0), Action.turn_left, 0.0, "no_motion"),
        (frames_turning(6.0), Action.turn_right, 0.5, "wrong_direction"),
        (frames_turning(6.0), Action.turn_left, 0.05, "planar_motion"),
        (frames_turning(6.0), Action.turn_left, None, "planar_motion"),  # untrackable: fail closed
        (frames_turning(1.8), Action.turn_left, 0.5, "challenge_not_performed"),
    ],
)
def test_each_failure_names_its_reason(frames, action, texture, reason):
    verdict = judge(action, track_subject(frames, LIMITS), [0.9], texture, LIMITS)
    assert not verdict.passed
    assert reason in verdict.reasons


def test_moving_without_turning_is_not_the_challenge():
    frames = [[face(ARCFACE_TEMPLATE, shift=(dx, 0))] for dx in np.linspace(0, 30, 6)]
    verdict = judge(Action.turn_left, track_subject(frames, LIMITS), [0.9], 0.5, LIMITS)
    assert verdict.reasons == ["challenge_not_performed"]


def test_side_reach_is_how_far_past_frontal_the_head_got_on_the_asked_side():
    assert side_reach([0.0, 0.1, 0.25], +1) == pytest.approx(0.25)
    assert side_reach([-0.3, -0.1, 0.0], +1) == 0.0  # back to frontal from the other side
    assert side_reach([-0.3, -0.1, 0.0], -1) == pytest.approx(0.3)


def test_coming_back_from_the_other_side_does_not_answer_the_challenge():
    """A recording that turns one way and back would otherwise answer either challenge."""
    back = [[face(turned(dx))] for dx in (-7.0, -5.0, -3.0, -1.0, 0.0)]  # nose from picture-left to frontal
    verdict = judge(Action.turn_left, track_subject(back, LIMITS), [0.9, 0.9], 0.5, LIMITS)
    assert verdict.metrics["turn"] >= LIMITS.min_turn and verdict.metrics["reach"] < LIMITS.min_reach
    assert verdict.reasons == ["challenge_not_performed"]
    there = [[face(turned(dx))] for dx in (0.0, 1.0, 3.0, 5.0, 7.0)]
    assert judge(Action.turn_left, track_subject(there, LIMITS), [0.9, 0.9], 0.5, LIMITS).passed


def test_the_jump_allowed_grows_with_the_frames_the_detector_missed():
    """A quick turn can lose the face for a frame or two; the head had that many intervals to move."""
    start, moved = face(ARCFACE_TEMPLATE), face(ARCFACE_TEMPLATE, shift=(60, 0))  # 0.8 box widths
    assert "inconsistent_track" in track_subject([[start], [moved], [moved]], LIMITS).reasons
    assert "inconsistent_track" not in track_subject([[start], [], [moved]], LIMITS).reasons


def test_different_people_across_the_burst_fail():
    verdict = judge(Action.turn_left, track_subject(frames_turning(6.0), LIMITS), [0.9, 0.1], 0.5, LIMITS)
    assert "different_faces" in verdict.reasons


def test_track_flags_a_second_person_a_lost_face_and_a_jump():
    big, small = face(ARCFACE_TEMPLATE, scale=2.0), face(ARCFACE_TEMPLATE, shift=(300, 0), scale=1.6)
    assert "multiple_faces" in track_subject([[small, big]] * 4, LIMITS).reasons
    assert track_subject([[big]] * 4, LIMITS).indices == [0, 0, 0, 0]
    assert track_subject([[small, big]] * 4, LIMITS).indices == [1, 1, 1, 1]  # the larger is the subject
    lost = track_subject([[big], [], [], [big]], LIMITS)
    assert "face_lost" in lost.reasons
    jumped = [[face(ARCFACE_TEMPLATE)], [face(ARCFACE_TEMPLATE, shift=(400, 0))], [face(ARCFACE_TEMPLATE)]]
    assert "inconsistent_track" in track_subject(jumped, LIMITS).reasons
    assert track_subject([[], []], LIMITS).reasons == ["no_face"]


def test_the_probe_is_the_most_frontal_frame_and_identity_frames_start_with_it():
    frames = [[face(turned(dx))] for dx in (5.0, 3.0, 0.2, 4.0, 6.0)]
    track = track_subject(frames, LIMITS)
    assert track.probe == 2
    assert track.identity_frames[0] == 2 and set(track.identity_frames) == {0, 2, 4}


def test_the_most_frontal_frames_are_fused_into_the_probe_and_each_is_embedded_once():
    frames = [[face(turned(dx))] for dx in (5.0, 3.0, 0.2, 4.0, 6.0)]
    assert track_subject(frames, LIMITS).fused_frames == [2, 1, 3]  # probe, then by frontality
    assert track_subject(frames, LivenessLimits(fuse_frames=1)).fused_frames == [2]
    assert track_subject(frames, LIMITS).embedded_frames == [2, 0, 4, 1, 3]


# ------------------------------------------------------------------ texture parallax on real frames


@pytest.fixture(scope="module")
def clip():
    return load_clip(clip_paths()[0])


def grey(frames: list[np.ndarray]) -> list[np.ndarray]:
    return [cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY) for frame in frames]


def subject(clip, index: int = 0) -> Face:
    from models.detectors.yunet import YunetDetector

    (found,) = YunetDetector.load().detect_batch([clip])
    return max(found, key=lambda f: f.area)


def test_a_real_head_turn_has_texture_parallax_a_flat_photo_and_a_still_one_do_not(clip):
    start, _ = best_window(clip, Action.turn_left, BURST_SPAN)
    live = burst_frames(clip, start, BURST_SPAN, 8)
    live_parallax = texture_parallax(grey(live), subject(live[0]))
    photo = clip.frames[start]
    flat = planar_burst(photo, 8, yaw_deg=35, roll_deg=8, shift=(0.05, 0.0))
    flat_parallax = texture_parallax(grey(flat), subject(flat[0]))
    still = still_burst(photo, 8)
    still_parallax = texture_parallax(grey(still), subject(still[0]))
    assert live_parallax is not None and flat_parallax is not None and still_parallax is not None
    assert live_parallax >= LIMITS.min_texture_parallax
    assert flat_parallax < LIMITS.min_texture_parallax
    assert still_parallax < 0.01


def test_the_clips_are_the_ones_named():
    assert [path.name for path in clip_paths()] == list(CLIP_NAMES)
