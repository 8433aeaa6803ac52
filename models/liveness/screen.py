"""Passive replay cues: what a screen (or a print) held up to the kiosk camera leaves in the picture.

A screen replay of a real video shows a real head turning, so the motion and 3-D checks pass it; what gives it
away is the device: its straight edges framing the face, and the pixel grid of the screen, which a camera
filming it aliases into moire (sharp, isolated peaks in the spectrum of the face's fine texture, where skin
has a smooth, falling one). Each cue is measured per frame on a few frames of the burst and summarised for the
burst; each has its own reason code (``screen_border``, ``screen_moire``) and limit in ``LivenessLimits``.

Both are deliberately conservative: real backgrounds have straight edges too (doors, windows, shelves) and
JPEG leaves its own 8-pixel grid, so a border only counts when straight edges enclose the face on both
sides and above or below it, and the spectrum ignores JPEG's block frequencies. Their figures on real
recordings are in docs/LIVENESS.md; neither is a certified presentation-attack detector.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from models.types import Face

#: Frames of a burst the cues look at (evenly spread): enough to see a device come into view, little CPU.
SAMPLED_FRAMES = 4
#: The spectrum's band (cycles per pixel) where a screen's aliased grid shows and skin texture is weak.
_BAND = (0.08, 0.45)
#: A device's frame beside the picture: dark and even (phones and laptops have black bezels).
_BEZEL_GREY = 70.0
_BEZEL_SPREAD = 25.0


@dataclass(frozen=True, slots=True)
class ScreenCues:
    border: float  # share of the sampled frames in which straight edges enclose the face (a device in view)
    moire: float  # median over the sampled frames of the face texture's strongest spectral peak (log excess)

    def metrics(self) -> dict[str, float]:
        return {"screen_border": round(self.border, 4), "screen_moire": round(self.moire, 4)}


def screen_cues(greys: Sequence[np.ndarray], subjects: Sequence[Face | None]) -> ScreenCues:
    """The cues over a few of the burst's frames where the subject was found; ``greys`` are the frames in
    grey (the burst's texture tracking converts them once, for both)."""
    present = [i for i, face in enumerate(subjects) if face is not None]
    if not present:
        return ScreenCues(0.0, 0.0)
    spread = np.linspace(0, len(present) - 1, min(SAMPLED_FRAMES, len(present))).round().astype(int)
    picked = [present[i] for i in spread]
    borders, peaks = [], []
    for i in dict.fromkeys(picked):
        grey = greys[i]
        face = subjects[i]
        assert face is not None
        borders.append(framed_by_edges(grey, face))
        peak = spectral_peak(_face_region(grey, face))
        if peak is not None:
            peaks.append(peak)
    return ScreenCues(float(np.mean(borders)), float(np.median(peaks)) if peaks else 0.0)


def framed_by_edges(grey: np.ndarray, face: Face) -> bool:
    """Whether long straight edges outside the face stand left and right of it and above or below it, each
    spanning the face (a screen's or a print's border does; a door frame beside a student, a shirt's stripes
    or an arm do not run past the whole face on both sides)."""
    x0, y0, x1, y1 = (float(v) for v in face.box)
    width, height = x1 - x0, y1 - y0
    edges = cv2.Canny(cv2.GaussianBlur(grey, (5, 5), 0), 40, 120)
    lines = cv2.HoughLinesP(
        edges, 1, np.pi / 180, 40, minLineLength=max(int(0.6 * height), 20), maxLineGap=15
    )
    if lines is None:
        return False
    sides: set[str] = set()
    for xa, ya, xb, yb in lines.reshape(-1, 4).astype(np.float64):
        angle = np.degrees(np.arctan2(yb - ya, xb - xa)) % 180
        mx, my = (xa + xb) / 2, (ya + yb) / 2
        if abs(angle - 90) < 20 and _covers((ya, yb), (y0, y1)):
            strip = max(int(0.1 * width), 3)
            rows = slice(int(max(min(ya, yb), 0)), int(max(ya, yb)) + 1)
            if x0 - 2.5 * width < mx < x0 - 0.05 * width and _bezel(grey[rows, int(mx) - strip : int(mx)]):
                sides.add("left")
            elif x1 + 0.05 * width < mx < x1 + 2.5 * width and _bezel(
                grey[rows, int(mx) + 1 : int(mx) + 1 + strip]
            ):
                sides.add("right")
        elif (angle < 20 or angle > 160) and _covers((xa, xb), (x0, x1)):
            if y0 - 2.5 * height < my < y0 - 0.05 * height:
                sides.add("top")
            elif y1 + 0.05 * height < my < y1 + 3 * height:
                sides.add("bottom")
    return {"left", "right"} <= sides and bool(sides & {"top", "bottom"})


def _bezel(outside: np.ndarray) -> bool:
    """Whether the strip beyond a side edge (away from the face) is a device's dark, even frame."""
    return outside.size > 0 and float(outside.mean()) < _BEZEL_GREY and float(outside.std()) < _BEZEL_SPREAD


def _covers(span: tuple[float, float], face: tuple[float, float], share: float = 0.5) -> bool:
    """Whether ``span`` runs along at least ``share`` of the face's extent on that axis."""
    low, high = sorted(span)
    overlap = min(high, face[1]) - max(low, face[0])
    return overlap >= share * (face[1] - face[0])


def spectral_peak(patch: np.ndarray) -> float | None:
    """The strongest peak of the patch's fine-texture spectrum over its ring's median (log magnitude), in the
    band where a filmed screen's grid aliases; JPEG's block frequencies (multiples of 1/8) are left out.
    ``None`` for a patch too small to tell."""
    if min(patch.shape[:2]) < 48:
        return None
    texture = patch.astype(np.float32) - cv2.GaussianBlur(patch.astype(np.float32), (0, 0), 3)
    height, width = texture.shape
    window = np.outer(np.hanning(height), np.hanning(width)).astype(np.float32)
    spectrum = np.log1p(np.abs(np.fft.fftshift(np.fft.fft2(texture * window))))
    fy = (np.arange(height) - height // 2)[:, None] / height
    fx = (np.arange(width) - width // 2)[None, :] / width
    radius = np.hypot(fx, fy)
    band = (radius > _BAND[0]) & (radius < _BAND[1])
    block = (np.abs(fx * 8 - np.round(fx * 8)) < 12 / width) & (
        np.abs(fy * 8 - np.round(fy * 8)) < 12 / height
    )
    band &= ~block
    rings = np.round(radius * 100).astype(np.int32)
    excess = []
    for ring in np.unique(rings[band]):
        values = spectrum[band & (rings == ring)]
        excess.append(values - np.median(values))
    return float(np.percentile(np.concatenate(excess), 99.9))


def _face_region(grey: np.ndarray, face: Face) -> np.ndarray:
    x0, y0, x1, y1 = (round(float(v)) for v in face.box)
    return grey[max(y0, 0) : max(y1, 0), max(x0, 0) : max(x1, 0)]
