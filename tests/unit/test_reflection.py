"""The colour layer's detector on real frames: a real clip of a head turning, as a kiosk sends it (JPEG), lit
by a synthetic reflection of the screen's sequence (``models.eval.clips.lit_burst``), by none, by another
sequence's, or with the light over the whole picture (a replay device's glass, or everything tinted alike)."""

from __future__ import annotations

import random
from functools import cache

import cv2
import numpy as np
import pytest

from models.detectors.yunet import YunetDetector
from models.eval.clips import (
    CLIP_NAMES,
    FPS,
    behind_glass,
    best_window,
    clip_paths,
    encode_jpeg,
    lit_burst,
    load_clip,
    screen_light,
    tinted,
)
from models.liveness import Action, ColourSequence, LivenessLimits, judge, random_sequence, track_subject
from models.liveness.colours import PALETTE, chroma
from models.liveness.reflection import ColourCheck, colour_check, colour_metrics

LIMITS = LivenessLimits()
INTERVAL_MS = 120
NAMED = dict(zip("RYGCBMW", PALETTE, strict=True))  # red, yellow, green, cyan, blue, magenta, white


def sequence(letters: str) -> ColourSequence:
    return ColourSequence(tuple(NAMED[letter] for letter in letters), 200)


ISSUED = sequence("RCYBWGMRBYCW")
EARLIER = sequence("GMBYRCWGRMYB")


@cache
def clean_burst(count: int = 13) -> tuple[tuple[np.ndarray, ...], tuple[float, ...]]:
    """``count`` frames of a real clip, ``INTERVAL_MS`` apart, where the head turns (shading changes), and
    when the kiosk grabbed them (a few ms of timer jitter)."""
    (path,) = [p for p in clip_paths() if p.name == CLIP_NAMES[0]]
    clip = load_clip(path)
    start, _ = best_window(clip, Action.turn_left, round((count - 1) * INTERVAL_MS * FPS / 1000) + 1)
    times = tuple(k * INTERVAL_MS + 4.0 * (k % 3) for k in range(count))
    frames = tuple(clip.frames[start + round(t * FPS / 1000)] for t in times)
    return frames, times


def judged(frames: list[np.ndarray], times: tuple[float, ...] | None, colours: ColourSequence) -> ColourCheck:
    """As the Liveness deployment sees the burst: JPEG frames, the subject tracked, the colour layer."""
    sent = [cv2.imdecode(np.frombuffer(encode_jpeg(f), np.uint8), cv2.IMREAD_COLOR) for f in frames]
    track = track_subject(YunetDetector.load().detect_batch(sent), LIMITS)
    return colour_check(sent, track.subjects, times, colours, LIMITS)


def faces_of(frames: tuple[np.ndarray, ...]) -> list:
    return [max(found, key=lambda f: f.area) for found in YunetDetector.load().detect_batch(list(frames))]


def test_a_face_lit_by_the_issued_sequence_passes_whatever_the_latency() -> None:
    frames, times = clean_burst()
    faces = faces_of(frames)
    for lag_ms in (30.0, 110.0):
        check = judged(lit_burst(frames, faces, times, ISSUED, 0.15, lag_ms=lag_ms), times, ISSUED)
        assert check.reasons == [] and check.score >= 0.5, check
        assert (
            check.metrics["colour_margin"] > 0 and check.metrics["colour_frames"] >= LIMITS.min_colour_frames
        )


def test_without_a_reflection_the_face_did_not_respond() -> None:
    frames, times = clean_burst()
    check = judged(list(frames), times, ISSUED)
    assert check.reasons == ["colour_not_reflected"] and check.score < 0.5, check


def test_a_reflection_of_another_sequence_is_a_mismatch() -> None:
    frames, times = clean_burst()
    check = judged(lit_burst(frames, faces_of(frames), times, EARLIER, 0.15), times, ISSUED)
    assert check.reasons == ["colour_mismatch"] and check.score < 0.5, check
    assert check.metrics["colour_margin"] < 0


@pytest.mark.parametrize("over_everything", [tinted, behind_glass], ids=["tint", "glass"])
def test_the_light_over_the_whole_picture_alike_is_not_a_face_lit_by_the_screen(over_everything) -> None:
    """Everything tinted alike (the camera's white balance, a uniformly lit print) and light added over the
    whole picture (a replay device's glass) move face and background together: refused."""
    frames, times = clean_burst()
    lit = [over_everything(f, screen_light(ISSUED, t, 60.0), 0.1) for f, t in zip(frames, times, strict=True)]
    check = judged(lit, times, ISSUED)
    assert check.reasons and check.reasons[0] in {"colour_not_reflected", "colour_mismatch"}, check


def test_too_few_frames_or_no_times_cannot_be_judged() -> None:
    frames, times = clean_burst()
    lit = lit_burst(frames, faces_of(frames), times, ISSUED, 0.15)
    assert judged(lit, None, ISSUED).reasons == ["colour_timing"]
    assert judged(lit[:5], times[:5], ISSUED).reasons == ["colour_timing"]  # ~3 usable frames in 0.5 s
    late = tuple(t + 5000 for t in times)  # after the sequence ended: no frame saw it
    assert judged(lit, late, ISSUED).reasons == ["colour_timing"]


def test_a_colour_failure_is_a_reason_of_the_verdict_and_bounds_its_score() -> None:
    frames, _ = clean_burst()
    track = track_subject(YunetDetector.load().detect_batch(list(frames)), LIMITS)
    failed = ColourCheck(0.2, ["colour_mismatch"], {"colour_correlation": 0.1})
    verdict = judge(Action.turn_left, track, [0.9], 0.5, LIMITS, colour=failed)
    assert "colour_mismatch" in verdict.reasons and not verdict.passed and verdict.score <= 0.2
    assert verdict.metrics["colour_checked"] == 1.0 and verdict.metrics["colour"] == 0.2
    skipped = judge(Action.turn_left, track, [0.9], 0.5, LIMITS)
    assert skipped.metrics["colour_checked"] == 0.0 and "colour" not in skipped.metrics
    assert colour_metrics(None) == {"colour_checked": 0.0}


def test_sequences_are_random_from_the_palette_and_never_repeat_a_colour() -> None:
    drawn = [random_sequence(12, 200) for _ in range(50)]
    assert len({seq.sequence for seq in drawn}) == 50
    for seq in drawn:
        assert set(seq.sequence) <= set(PALETTE) and seq.duration_ms == 2400
        assert all(a != b for a, b in zip(seq.sequence, seq.sequence[1:], strict=False))
    seeded = [random_sequence(12, 200, random.Random(7)).sequence for _ in range(2)]
    assert seeded[0] == seeded[1]
    assert ColourSequence.from_json(drawn[0].to_json()) == drawn[0]
    with pytest.raises(ValueError, match="rrggbb"):
        ColourSequence(("red",), 200)
    # the palette's chroma spans both axes: every colour but white moves a lit face's colour somewhere else
    directions = {tuple(np.sign(chroma(c))) for c in PALETTE}
    assert len(directions) == len(PALETTE)
