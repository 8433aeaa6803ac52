"""Passive replay cues on real faces: a photo shown inside a device's dark frame, and a face seen through a
screen's pixel grid, against the same faces as a camera sees them."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from models.detectors.yunet import YunetDetector
from models.eval.datasets import faces_root
from models.liveness import LivenessLimits
from models.liveness.screen import framed_by_edges, screen_cues, spectral_peak
from models.types import Face

LIMITS = LivenessLimits()


@pytest.fixture(scope="module")
def detector() -> YunetDetector:
    return YunetDetector.load()


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    """A real person's photo, large: the live face a kiosk would see."""
    path = faces_root() / "spoof" / "silent-face-sample" / "image_T1.jpg"
    image = cv2.imread(str(path))
    assert image is not None, f"missing {path}"
    return image


def subject(detector: YunetDetector, image: np.ndarray) -> Face:
    (found,) = detector.detect_batch([image])
    return max(found, key=lambda face: face.area)


def on_a_device(image: np.ndarray, background: np.ndarray) -> np.ndarray:
    """``image`` shown on a phone held up in a room: shrunk into a black bezel on a real background."""
    height, width = background.shape[:2]
    screen = cv2.resize(image, (width // 2, height // 2))
    bezel = cv2.copyMakeBorder(screen, 24, 40, 14, 14, cv2.BORDER_CONSTANT, value=(12, 12, 12))
    scene = background.copy()
    top, left = (height - bezel.shape[0]) // 2, (width - bezel.shape[1]) // 2
    scene[top : top + bezel.shape[0], left : left + bezel.shape[1]] = bezel
    return scene


def through_a_screen(image: np.ndarray, pitch: int = 3) -> np.ndarray:
    """``image`` as a camera sees it on a screen: the dark gaps of the pixel grid across the picture."""
    grid = np.ones(image.shape[:2], np.float32)
    grid[::pitch, :] = 0.6
    grid[:, ::pitch] *= 0.6
    return np.clip(image.astype(np.float32) * grid[..., None], 0, 255).astype(np.uint8)


def room() -> np.ndarray:
    """A real room behind the device: a frame of a real webcam clip, blurred so its own face is gone."""
    path = faces_root() / "liveness" / "bona_fide" / "krzysiek_webcam.mp4"
    capture = cv2.VideoCapture(str(path))
    ok, frame = capture.read()
    capture.release()
    assert ok, f"missing {path}"
    return cv2.GaussianBlur(cv2.resize(frame, (960, 540)), (0, 0), 25)


def grey(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


def test_a_face_inside_a_devices_frame_is_framed_by_edges_the_face_alone_is_not(detector, photo):
    assert not framed_by_edges(grey(photo), subject(detector, photo))
    shown = on_a_device(photo, room())
    assert framed_by_edges(grey(shown), subject(detector, shown))


def test_a_screens_pixel_grid_raises_the_spectral_peak_of_the_face(detector, photo):
    face = subject(detector, photo)
    x0, y0, x1, y1 = (int(v) for v in face.box)
    live = spectral_peak(grey(photo)[y0:y1, x0:x1])
    filmed = spectral_peak(grey(through_a_screen(photo))[y0:y1, x0:x1])
    assert live is not None and filmed is not None
    assert live < LIMITS.max_screen_moire < filmed


def test_burst_cues_summarise_the_sampled_frames(detector, photo):
    shown = on_a_device(photo, room())
    face = subject(detector, shown)
    cues = screen_cues([grey(shown)] * 6, [face, None, face, face, face, face])
    assert cues.border == 1.0 and cues.border > LIMITS.max_screen_border
    live = screen_cues([grey(photo)] * 3, [subject(detector, photo)] * 3)
    assert live.border == 0.0 and live.moire < LIMITS.max_screen_moire


def test_a_tiny_patch_has_no_spectral_verdict():
    assert spectral_peak(np.zeros((20, 20), np.uint8)) is None
