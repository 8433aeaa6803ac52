"""Does the face reflect the kiosk screen's colour sequence, in time? The colour layer of the decision.

The screen showed a random sequence (``models.liveness.colours``) chosen when the challenge was issued; a live
face 30-60 cm from it is lit by it, a wall a metre or more behind much less. Per frame:

- the face's colour is the mean linear RGB of the inner face (the landmarks' hull, without its darkest and
  brightest pixels: pupils, brows, nostrils, highlights), the background's that of the part of the picture
  that no frame's head covers (beside and above it, the same pixels all burst long: the body below the chin
  is as close to the screen as the face, and a ring that follows the head would sweep over other things);
- both become log-chromaticities ``(log R/G, log B/G)``. A change of brightness (shading as the head turns,
  auto-exposure) multiplies R, G and B alike and cancels in the ratios; the camera's white balance multiplies
  each channel over the whole frame and cancels in face minus background;
- light *added* over a whole picture does not cancel: a replay device's glass reflects the kiosk's colours
  over the face and the on-screen background alike, and the darker region's chromaticity moves more. Where
  that would look like a response (the background brighter than the face), the part of it such a veil
  explains is taken away: a veil also moves the face's own darker pixels more than its brighter ones, while
  light falling on skin multiplies both alike (to first order);
- the response (face minus background, less that veil part) and the expected response (the displayed
  colour's chroma, ``colours.chroma``, at the frame's time) both have a constant and a linear trend over the
  burst removed (slow drifts: the head turning shows more cheek or hair), then their correlation is taken.

The camera and display lag is unknown (a few frames): every lag from 0 to ``colour_max_lag_ms`` is tried and
frames within ``colour_guard_ms`` of a slot change are skipped (the exposure may straddle two colours). The
best correlation is then compared with the best that ``ALTERNATIVES`` other sequences of the same rules reach
on the same frames and lags: a burst that does not follow *this* sequence (a replay, which reflects nothing
new, or a recording made under an earlier sequence) does no better than a random one, so its margin is about
zero or below. Reasons:

- ``colour_timing``: too few usable frames, or too few distinct colours among them, to judge;
- ``colour_not_reflected``: the face's colour did not move beyond noise (nothing responded to the screen);
- ``colour_mismatch``: it moved, but not following this sequence (or not clearly better than any other).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import cv2
import numpy as np

from models.liveness.colours import PALETTE, ColourSequence, chroma
from models.types import Face

if TYPE_CHECKING:
    from models.liveness.decision import LivenessLimits

#: Frames are reduced to this long side first: region means need no detail, and it bounds the work.
_WORK_SIDE = 320
#: The inner face: the landmarks' hull scaled about its centre.
_FACE_SCALE = 1.4
#: Inner-face pixels kept: between these luma quantiles (drops pupils, brows, nostrils and highlights).
_FACE_QUANTILES = (0.25, 0.95)
#: A frame's head zone, kept out of the background: its box widened this much, from above it to the bottom.
_HEAD_SCALE = 1.3
#: Background pixels darker than this (linear luma) have no usable chromaticity.
_BACKGROUND_FLOOR = 0.003
_MIN_PIXELS = 40
#: The veil correction is at most this many times the face's own dark-minus-bright response.
_MAX_VEIL_RATIO = 3.0
_LAG_STEP_MS = 10
#: Alternative sequences the true one must beat: under "does not follow this sequence" the true one is just
#: another random sequence, so it beats all of them by chance with probability 1 / (count + 1).
ALTERNATIVES = 199
_LUMA = np.array([0.0722, 0.7152, 0.2126], np.float32)  # BGR
_SRGB_TO_LINEAR = np.where(
    (v := np.arange(256) / 255.0) <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4
).astype(np.float32)
_CHROMA = np.array([chroma(colour) for colour in PALETTE])


@dataclass(frozen=True, slots=True)
class ColourCheck:
    """The layer's decision: its score (0.5 = threshold), its reasons, and the figures behind them."""

    score: float
    reasons: list[str]
    metrics: dict[str, float]


def colour_check(
    frames: Sequence[np.ndarray],
    subjects: Sequence[Face | None],
    times_ms: Sequence[float] | None,
    colours: ColourSequence,
    limits: LivenessLimits,
) -> ColourCheck:
    """The colour layer for a burst: ``subjects`` is the tracked face per frame (``None`` where missing),
    ``times_ms`` when each frame was grabbed (ms from the start of the capture and of the sequence)."""
    kept = _responses(frames, subjects, times_ms) if times_ms is not None else []
    if not kept:
        return _timing(0, 0)
    times = np.array([time for time, _ in kept])
    responses = np.array([response for _, response in kept])
    slots = np.array([PALETTE.index(colour) for colour in colours.sequence])
    alternatives = _alternatives(colours)
    best: tuple[float, int, np.ndarray, np.ndarray, int] | None = None
    best_alternative = -1.0
    most_frames, most_slots = 0, 0
    for lag in range(0, limits.colour_max_lag_ms + 1, _LAG_STEP_MS):
        used, index = _usable(times - lag, colours, limits.colour_guard_ms)
        distinct = len(set(slots[index].tolist()))
        most_frames, most_slots = max(most_frames, len(index)), max(most_slots, distinct)
        if len(index) < limits.min_colour_frames or distinct < limits.min_colour_slots:
            continue
        basis = _trend_basis(times[used])
        response = _detrended(responses[used], basis)
        shown = _detrended(_CHROMA[slots[index]], basis)
        corr = float(_correlation(response, shown))
        rivals = _correlation(response, _detrended(_CHROMA[alternatives[:, index]], basis))
        best_alternative = max(best_alternative, float(np.max(rivals)))
        if best is None or corr > best[0]:
            best = (corr, lag, response, shown, distinct)
    if best is None:
        return _timing(most_frames, most_slots)
    corr, lag, response, shown, distinct = best
    strength = float(np.sqrt(np.mean(np.sum(response**2, axis=1))))
    gain = float(np.sum(response * shown) / max(float(np.sum(shown**2)), 1e-12))
    margin = corr - best_alternative
    reasons = []
    if strength < limits.min_colour_response:
        reasons.append("colour_not_reflected")
    elif corr < limits.min_colour_correlation or margin < limits.min_colour_margin:
        reasons.append("colour_mismatch")
    # the weakest of the three, each scaled so that 0.5 is its threshold
    score = min(
        strength / (2 * limits.min_colour_response) if limits.min_colour_response else 1.0,
        corr / (2 * limits.min_colour_correlation),
        0.5 + margin - limits.min_colour_margin,
    )
    metrics = {
        "colour_correlation": round(corr, 4),
        "colour_margin": round(margin, 4),
        "colour_response": round(strength, 5),
        "colour_gain": round(gain, 5),
        "colour_lag_ms": float(lag),
        "colour_frames": float(len(response)),
        "colour_slots": float(distinct),
    }
    return ColourCheck(round(float(np.clip(score, 0.0, 1.0)), 4), reasons, metrics)


def colour_metrics(check: ColourCheck | None) -> dict[str, float]:
    """The layer's part of the verdict's metrics: whether it ran, its score and its figures."""
    if check is None:
        return {"colour_checked": 0.0}
    return {"colour_checked": 1.0, "colour": check.score, **check.metrics}


def _responses(
    frames: Sequence[np.ndarray], subjects: Sequence[Face | None], times_ms: Sequence[float]
) -> list[tuple[float, np.ndarray]]:
    """(time, response) of every frame where the face and the background are both usable."""
    present = [i for i, face in enumerate(subjects) if face is not None]
    if not present or len({frames[i].shape for i in present}) != 1:
        return []  # a kiosk's frames all come from one camera at one size
    height, width = frames[present[0]].shape[:2]
    scale = min(1.0, _WORK_SIDE / max(height, width))
    faces = [_scaled(subjects[i], scale) for i in present]  # type: ignore[arg-type]
    smalls = [_work_copy(frames[i], scale) for i in present]
    background = ~np.logical_or.reduce([_head_zone(smalls[0].shape[:2], face) for face in faces])
    kept = []
    for i, small, face in zip(present, smalls, faces, strict=True):
        response = face_response(small, face, background)
        if response is not None:
            kept.append((float(times_ms[i]), response))
    return kept


def face_response(small: np.ndarray, face: Face, background: np.ndarray) -> np.ndarray | None:
    """The face's colour response in one (work-size) frame: face minus background log-chromaticity
    ``(log R/G, log B/G)``, less what a veil over the whole picture would explain (module docstring);
    ``None`` when the face or the background has too few usable pixels."""
    linear = _SRGB_TO_LINEAR[small]
    clipped = small.max(axis=2) >= 250
    luma = linear @ _LUMA
    inner = _face_mask(small.shape[:2], face.landmarks) & ~clipped
    if inner.sum() < _MIN_PIXELS:
        return None
    low, high = np.quantile(luma[inner], _FACE_QUANTILES)
    inner &= (luma >= low) & (luma <= high)
    back = background & ~clipped & (luma > _BACKGROUND_FLOOR)
    if inner.sum() < _MIN_PIXELS or back.sum() < _MIN_PIXELS:
        return None
    middle = np.median(luma[inner])
    face_chroma, face_luma = _region(linear, inner)
    back_chroma, back_luma = _region(linear, back)
    dark_chroma, dark_luma = _region(linear, inner & (luma <= middle))
    bright_chroma, bright_luma = _region(linear, inner & (luma > middle))
    # A veil moves a region's log-chromaticity by about its strength over the region's luma: it shows in
    # face minus background as (1/face - 1/background) and in dark minus bright face as (1/dark - 1/bright).
    spread = max(1 / dark_luma - 1 / bright_luma, 1e-6)
    ratio = float(np.clip((1 / face_luma - 1 / back_luma) / spread, 0.0, _MAX_VEIL_RATIO))
    response: np.ndarray = (face_chroma - back_chroma) - ratio * (dark_chroma - bright_chroma)
    return response


def _region(linear: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, float]:
    """A region's log-chromaticity ``(log R/G, log B/G)`` and luma, from its mean linear colour."""
    blue, green, red = np.maximum(linear[mask].mean(axis=0).astype(np.float64), 1e-6)
    luma = float(np.array([blue, green, red]) @ _LUMA)
    return np.array([np.log(red / green), np.log(blue / green)]), max(luma, 1e-6)


def _work_copy(frame: np.ndarray, scale: float) -> np.ndarray:
    if scale == 1.0:
        return frame
    return cv2.resize(frame, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)


def _scaled(face: Face, scale: float) -> Face:
    return Face(face.box * scale, face.landmarks * scale, face.score)


def _face_mask(shape: tuple[int, int], landmarks: np.ndarray) -> np.ndarray:
    points = landmarks.astype(np.float64)
    centre = points.mean(axis=0)
    hull = cv2.convexHull(((points - centre) * _FACE_SCALE + centre).astype(np.int32))
    mask = np.zeros(shape, np.uint8)
    cv2.fillConvexPoly(mask, hull, 1)
    return mask.astype(bool)


def _head_zone(shape: tuple[int, int], face: Face) -> np.ndarray:
    """The head (its box widened by ``_HEAD_SCALE``, from above it down) and everything below its chin."""
    x1, y1, x2, y2 = face.box.astype(np.float64)
    centre_x, centre_y, half_w, half_h = (x1 + x2) / 2, (y1 + y2) / 2, (x2 - x1) / 2, (y2 - y1) / 2
    ys, xs = np.mgrid[0 : shape[0], 0 : shape[1]]
    column = (np.abs(xs - centre_x) <= _HEAD_SCALE * half_w) & (ys >= centre_y - _HEAD_SCALE * half_h)
    zone: np.ndarray = column | (ys > y2)
    return zone


def _usable(times: np.ndarray, colours: ColourSequence, guard_ms: int) -> tuple[np.ndarray, np.ndarray]:
    """Which frames saw one slot's colour clearly at these (lag-corrected) times, and those slots' indices."""
    slot = np.floor(times / colours.slot_ms).astype(int)
    into = times - slot * colours.slot_ms
    inside = (slot >= 0) & (slot < len(colours.sequence))
    used = inside & (into >= guard_ms) & (into <= colours.slot_ms - guard_ms)
    return used, slot[used]


def _trend_basis(times: np.ndarray) -> np.ndarray:
    span = max(float(np.ptp(times)), 1.0)
    return np.column_stack([np.ones_like(times), (times - times.mean()) / span])


def _detrended(values: np.ndarray, basis: np.ndarray) -> np.ndarray:
    """``values`` (..., frames, 2) less their least-squares constant and linear trend over the frames."""
    detrended: np.ndarray = values - (basis @ np.linalg.pinv(basis)) @ values
    return detrended


def _correlation(response: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """Correlation of two (detrended) 2-D series over frames; ``expected`` may stack many (leading axes)."""
    num = np.sum(response * expected, axis=(-2, -1))
    den = np.sqrt(np.sum(response**2) * np.sum(expected**2, axis=(-2, -1)))
    return np.where(den > 1e-12, num / np.maximum(den, 1e-12), 0.0)


def _alternatives(colours: ColourSequence) -> np.ndarray:
    """``ALTERNATIVES`` other sequences under the same rules (palette, no repeat), as palette indices. Seeded
    from the sequence itself, so the same burst always gets the same decision."""
    seed = int.from_bytes(hashlib.sha256(",".join(colours.sequence).encode()).digest()[:8], "big")
    rng = np.random.default_rng(seed)
    steps = rng.integers(1, len(PALETTE), (ALTERNATIVES, len(colours.sequence)))
    steps[:, 0] = rng.integers(0, len(PALETTE), ALTERNATIVES)
    return np.cumsum(steps, axis=1) % len(PALETTE)


def _timing(frames: int, slots: int) -> ColourCheck:
    return ColourCheck(0.0, ["colour_timing"], {"colour_frames": float(frames), "colour_slots": float(slots)})
