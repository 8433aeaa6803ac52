"""Real head-turning bursts and fake-camera files cut from the clips in ``../shared/faces/videos``.

Shared by the liveness evaluation, the integration and browser tests and the load tests, so each of them
sends the kiosk what a live student at a camera would: frames from a real clip in which the head really turns.
Only the two single-face talking-head clips are used (512x512, 25 fps); they are generated from real photos,
which the evaluation notes, since they are also exactly what a replay or deepfake-injection attack would send.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from models.detectors.yunet import YunetDetector
from models.eval.datasets import faces_root
from models.liveness.challenge import DIRECTION, Action
from models.liveness.colours import ColourSequence, linear_rgb
from models.liveness.flow import texture_parallax
from models.liveness.geometry import directed_turn, nose_parallax
from models.types import Face

CLIP_NAMES = ("sadtalker_WDA_KatieHill_000.mp4", "sadtalker_WDA_AlexandriaOcasioCortez_000.mp4")
#: A kiosk burst spans about 1 s (8 frames 120 ms apart, the default): at 25 fps, 25 frames of the clip.
BURST_SPAN = 25
#: Segments for the fake camera are short (about 0.5 s), so any burst covers a whole sweep of one.
SWEEP_SPAN = 12
FPS = 25


@dataclass(frozen=True, slots=True)
class Clip:
    name: str
    frames: list[np.ndarray]  # BGR
    parallax: np.ndarray  # the largest face's nose parallax x per frame (nan where no face)


def clip_paths(root: Path | None = None) -> list[Path]:
    folder = (root or faces_root()) / "videos"
    paths = [folder / name for name in CLIP_NAMES]
    missing = [str(path) for path in paths if not path.is_file()]
    if missing:
        raise FileNotFoundError(f"liveness clips not found: {missing} (set ROLLCALL_FACES_DIR)")
    return paths


def read_frames(path: Path) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    if not frames:
        raise ValueError(f"no frames could be read from {path}")
    return frames


@functools.cache
def load_clip(path: Path) -> Clip:
    frames = read_frames(path)
    detector = YunetDetector.load()
    parallax = np.full(len(frames), np.nan)
    for i, faces in enumerate(detector.detect_batch(frames)):
        if faces:
            largest = max(faces, key=lambda face: face.area)
            parallax[i] = nose_parallax(largest.landmarks)[0]
    return Clip(path.name, frames, parallax)


def ranked_windows(clip: Clip, action: Action, span: int, stride: int = 1) -> list[tuple[float, int]]:
    """(turn, start) of every ``span``-frame window with a face throughout, furthest turn in ``action``'s
    direction first (earlier windows first among equals)."""
    windows = []
    for start in range(0, len(clip.frames) - span + 1, stride):
        values = clip.parallax[start : start + span]
        if not np.isnan(values).any():
            windows.append((directed_turn(values, DIRECTION[action]), start))
    return sorted(windows, key=lambda window: window[0], reverse=True)


def best_window(clip: Clip, action: Action, span: int) -> tuple[int, float]:
    """Start frame of the ``span``-frame window where the head turns furthest in ``action``'s direction."""
    ranked = ranked_windows(clip, action, span)
    if not ranked:
        return 0, -1.0
    turn, start = ranked[0]
    return start, turn


def encode_jpeg(frame: np.ndarray, quality: int = 90) -> bytes:
    ok, data = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return data.tobytes()


def burst_frames(clip: Clip, start: int, span: int, count: int) -> list[np.ndarray]:
    """``count`` frames sampled evenly from ``span`` frames at ``start``: a kiosk's burst at its own rate."""
    indices = np.linspace(start, start + span - 1, count).round().astype(int)
    return [clip.frames[i] for i in indices]


@functools.cache
def _best_burst(action: Action, frames: int, clip: str | None) -> tuple[bytes, ...]:
    paths = [path for path in clip_paths() if clip is None or path.name == clip]
    if not paths:
        raise ValueError(f"unknown clip {clip!r}; choose from {CLIP_NAMES}")
    windows = [(load_clip(path), *best_window(load_clip(path), action, BURST_SPAN)) for path in paths]
    chosen, start, _ = max(windows, key=lambda window: window[2])
    return tuple(encode_jpeg(frame) for frame in burst_frames(chosen, start, BURST_SPAN, frames))


def challenge_burst(action: str, *, frames: int = 8, clip: str | None = None) -> list[bytes]:
    """JPEG frames of a real clip in which the head turns as ``action`` asks (the best such window of
    ``clip``, one of ``CLIP_NAMES``, or of either clip)."""
    return list(_best_burst(Action(action), frames, clip))


def clip_photos(clip: str, count: int = 3) -> list[bytes]:
    """``count`` JPEG stills of the clip's person, spread over the clip: enrollment photos for them."""
    (path,) = [path for path in clip_paths() if path.name == clip]
    loaded = load_clip(path)
    indices = np.linspace(0, len(loaded.frames) - 1, count + 2)[1:-1].round().astype(int)
    return [encode_jpeg(loaded.frames[i]) for i in indices]


def write_fake_camera(path: Path, action: str = Action.turn_left, seconds: float = 10.0) -> Path:
    """A .y4m for Chromium's ``--use-file-for-fake-video-capture``: a short real sweep of the head turning as
    ``action`` asks, played forward and back (so it also turns the other way), looped for ``seconds``. Of the
    sweeps that turn far enough, the one with the most 3-D texture parallax is taken, so whenever the kiosk
    starts its burst in the loop, the burst is a clear live turn."""
    candidates = [
        (turn, clip, start)
        for clip in (load_clip(p) for p in clip_paths())
        for turn, start in ranked_windows(clip, Action(action), SWEEP_SPAN, stride=2)
    ]
    candidates.sort(key=lambda candidate: candidate[0], reverse=True)
    detector = YunetDetector.load()

    def depth(candidate: tuple[float, Clip, int]) -> float:
        _, clip, start = candidate
        sweep = clip.frames[start : start + SWEEP_SPAN]
        found = detector.detect_batch([sweep[0]])[0]
        if not found:
            return 0.0
        greys = [cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY) for frame in sweep]
        return texture_parallax(greys, max(found, key=lambda face: face.area)) or 0.0

    _, clip, start = max(candidates[:12], key=depth)
    sweep = clip.frames[start : start + SWEEP_SPAN]
    cycle = sweep + sweep[-2:0:-1]
    total = int(seconds * FPS)
    height, width = sweep[0].shape[:2]
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F{FPS}:1 Ip A1:1 C420jpeg\n".encode())
        for i in range(total):
            out.write(b"FRAME\n")
            out.write(cv2.cvtColor(cycle[i % len(cycle)], cv2.COLOR_BGR2YUV_I420).tobytes())
    return path


# ------------------------------------------------------------------------------------ presentation attacks


def still_burst(frame: np.ndarray, count: int, seed: int = 0) -> list[np.ndarray]:
    """A photo held still in front of the camera: the same picture with a little sensor noise per frame."""
    rng = np.random.default_rng(seed)
    noisy = []
    for _ in range(count):
        noise = rng.normal(0.0, 2.0, frame.shape)
        noisy.append(np.clip(frame.astype(np.float64) + noise, 0, 255).astype(np.uint8))
    return noisy


def planar_burst(
    frame: np.ndarray,
    count: int,
    *,
    yaw_deg: float = 30.0,
    pitch_deg: float = 0.0,
    roll_deg: float = 0.0,
    shift: tuple[float, float] = (0.0, 0.0),
    scale: float = 1.0,
) -> list[np.ndarray]:
    """A printed photo (or a screen) turned, tilted, rotated, moved and brought closer in front of the camera
    over the burst: each frame is the picture as a pinhole camera sees the plane at that pose."""
    height, width = frame.shape[:2]
    focal = 1.2 * max(width, height)
    corners = np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=np.float64)
    centred = np.column_stack([corners - [width / 2, height / 2], np.zeros(4)])
    frames = []
    for t in np.linspace(0.0, 1.0, count):
        rotation = _rotation(t * yaw_deg, t * pitch_deg, t * roll_deg)
        distance = focal / (1.0 + t * (scale - 1.0))
        points = centred @ rotation.T + [t * shift[0] * width, t * shift[1] * height, distance]
        projected = focal * points[:, :2] / points[:, 2:3] + [width / 2, height / 2]
        homography = cv2.getPerspectiveTransform(corners.astype(np.float32), projected.astype(np.float32))
        seen = cv2.warpPerspective(frame, homography, (width, height), borderMode=cv2.BORDER_REPLICATE)
        frames.append(seen)
    return frames


def _rotation(yaw_deg: float, pitch_deg: float, roll_deg: float) -> np.ndarray:
    yaw, pitch, roll = np.radians([yaw_deg, pitch_deg, roll_deg])
    about_y = np.array([[np.cos(yaw), 0, np.sin(yaw)], [0, 1, 0], [-np.sin(yaw), 0, np.cos(yaw)]])
    about_x = np.array([[1, 0, 0], [0, np.cos(pitch), -np.sin(pitch)], [0, np.sin(pitch), np.cos(pitch)]])
    about_z = np.array([[np.cos(roll), -np.sin(roll), 0], [np.sin(roll), np.cos(roll), 0], [0, 0, 1]])
    rotation: np.ndarray = about_z @ about_x @ about_y
    return rotation


# ------------------------------------------------------------------------- the kiosk screen's colour light
#
# A replayed or pre-recorded clip cannot carry the reflection of a colour sequence chosen after it was made,
# so a live face lit by the kiosk's screen can only be *simulated* from these clips: what follows applies a
# synthetic reflection to real frames. Passing with it proves the detector finds such a reflection, not that a
# real kiosk's light is as strong (docs/COLOUR_CHALLENGE.md).


def screen_light(
    colours: ColourSequence, time_ms: float, lag_ms: float, exposure_ms: float = 30.0
) -> np.ndarray:
    """Linear RGB the screen cast during the exposure of the frame grabbed at ``time_ms``: the camera saw the
    scene ``lag_ms`` earlier (camera and display latency) over ``exposure_ms``; dark before and after."""
    moments = np.linspace(time_ms - lag_ms - exposure_ms, time_ms - lag_ms, 7)
    slots = np.floor(moments / colours.slot_ms).astype(int)
    shown = [
        linear_rgb(colours.sequence[slot]) if 0 <= slot < len(colours.sequence) else np.zeros(3)
        for slot in slots
    ]
    mean: np.ndarray = np.mean(shown, axis=0)
    return mean


def lit_by_screen(
    frame: np.ndarray, face: Face, light: np.ndarray, strength: float, spill: float = 0.0
) -> np.ndarray:
    """``frame`` as a camera sees a face lit by the screen: linear light multiplied by
    ``1 + strength * light`` on the head (a soft ellipse around the box, weighted towards skin), and by
    ``1 + spill * strength * light`` everywhere else (the room, lit weakly). ``strength`` is the screen's
    full-white light as a share of the ambient light on the face."""
    weight = _head_weight(frame, face)
    weight = weight + spill * (1.0 - weight)
    gain = 1.0 + strength * weight[..., None] * light[::-1]  # light is RGB, frames BGR
    return _to_srgb(_to_linear(frame) * gain)


def lit_burst(
    frames: Sequence[np.ndarray],
    faces: Sequence[Face | None],
    times_ms: Sequence[float],
    colours: ColourSequence,
    strength: float,
    *,
    lag_ms: float = 60.0,
    spill: float = 0.0,
) -> list[np.ndarray]:
    """A burst as the kiosk's camera would see a live face lit by ``colours``: each frame (grabbed at its
    time, the light ``lag_ms`` behind) through ``lit_by_screen`` around its face (``None``: left as is)."""
    return [
        frame
        if face is None
        else lit_by_screen(frame, face, screen_light(colours, time, lag_ms), strength, spill)
        for frame, face, time in zip(frames, faces, times_ms, strict=True)
    ]


def behind_glass(frame: np.ndarray, light: np.ndarray, strength: float) -> np.ndarray:
    """``frame`` shown on a replay device whose glass reflects the kiosk's light: the same light added over
    the whole picture, face and on-screen background alike (``strength``: white's share of full scale)."""
    return _to_srgb(_to_linear(frame) + strength * light[::-1])


def tinted(frame: np.ndarray, light: np.ndarray, strength: float) -> np.ndarray:
    """``frame`` with every pixel multiplied by ``1 + strength * light``: the whole scene lit alike."""
    return _to_srgb(_to_linear(frame) * (1.0 + strength * light[::-1]))


def white_balanced(frame: np.ndarray, reference: np.ndarray, share: float) -> np.ndarray:
    """``frame`` after a camera white balance that takes back ``share`` of its colour cast against
    ``reference`` (the same scene without the light): one gain per channel over the whole frame."""
    linear, before = _to_linear(frame), _to_linear(reference)
    cast = before.reshape(-1, 3).mean(axis=0) / np.maximum(linear.reshape(-1, 3).mean(axis=0), 1e-6)
    return _to_srgb(linear * cast**share)


def _head_weight(frame: np.ndarray, face: Face) -> np.ndarray:
    height, width = frame.shape[:2]
    x1, y1, x2, y2 = face.box.astype(np.float64)
    ys, xs = np.mgrid[0:height, 0:width]
    half_w, half_h = max((x2 - x1) / 2, 1.0), max((y2 - y1) / 2, 1.0)
    distance = np.hypot((xs - (x1 + x2) / 2) / (1.2 * half_w), (ys - (y1 + y2) / 2) / (1.2 * half_h))
    head = np.clip((1.15 - distance) / 0.3, 0.0, 1.0)  # 1 inside, fading to 0 just outside the head
    ycrcb = cv2.cvtColor(frame, cv2.COLOR_BGR2YCrCb).astype(np.float64)
    skin = np.exp(-(((ycrcb[..., 1] - 153) / 20) ** 2) - (((ycrcb[..., 2] - 102) / 20) ** 2))
    weight: np.ndarray = head * (0.4 + 0.6 * skin)
    return weight


def _to_linear(frame: np.ndarray) -> np.ndarray:
    srgb = frame.astype(np.float64) / 255.0
    return np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)


def _to_srgb(linear: np.ndarray) -> np.ndarray:
    linear = np.clip(linear, 0.0, 1.0)
    srgb = np.where(linear <= 0.0031308, linear * 12.92, 1.055 * linear ** (1 / 2.4) - 0.055)
    return np.clip(np.round(srgb * 255.0), 0, 255).astype(np.uint8)
