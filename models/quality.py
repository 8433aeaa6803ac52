"""Per-face quality numbers, so enrollment can refuse poor photos with a reason and check-in can log why.

Measured on the aligned crop where possible: every face is then judged at the same scale, so blur and
exposure figures compare across cameras and distances. This module only measures; policy lives with callers
(``reasons`` is a convenience for the obvious cases).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import cv2
import numpy as np

from models.types import Face

# How far the nose tip sits in front of the eyes, as a fraction of the distance between them (anthropometric
# average); it turns the nose's sideways shift into an approximate yaw angle.
_NOSE_DEPTH = 0.55


@dataclass(frozen=True, slots=True)
class QualityThresholds:
    """Limits for ``FaceQuality.reasons``; the defaults suit enrollment photos taken at a kiosk."""

    min_face_size: float = 64.0
    min_blur: float = 40.0
    min_brightness: float = 50.0
    max_brightness: float = 210.0
    min_contrast: float = 20.0
    max_yaw: float = 35.0
    max_roll: float = 25.0


@dataclass(frozen=True, slots=True)
class FaceQuality:
    face_size: float  # px in the source image: the shorter side of the detection box
    blur: float  # variance of the Laplacian of the grey aligned crop; low means blurry
    brightness: float  # mean grey level of the aligned crop, 0-255
    contrast: float  # standard deviation of that grey level
    yaw: float  # degrees, approximate; positive when the nose points to the right of the picture
    roll: float  # degrees; positive when the eye line tilts clockwise in the picture

    def to_dict(self) -> dict[str, float]:
        return asdict(self)

    def reasons(self, thresholds: QualityThresholds | None = None) -> list[str]:
        """Human-readable problems, empty when the face passes every limit."""
        limits = thresholds or QualityThresholds()
        checks = (
            (self.face_size < limits.min_face_size, "face too small"),
            (self.blur < limits.min_blur, "image too blurry"),
            (self.brightness < limits.min_brightness, "image too dark"),
            (self.brightness > limits.max_brightness, "image too bright"),
            (self.contrast < limits.min_contrast, "contrast too low"),
            (abs(self.yaw) > limits.max_yaw, "face turned sideways"),
            (abs(self.roll) > limits.max_roll, "head tilted"),
        )
        return [reason for failed, reason in checks if failed]


def measure_quality(crop: np.ndarray, face: Face) -> FaceQuality:
    """Quality of ``face`` given its aligned BGR ``crop`` (from ``models.alignment``)."""
    grey = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
    yaw, roll = head_pose(face.landmarks)
    return FaceQuality(
        face_size=min(face.width, face.height),
        blur=float(cv2.Laplacian(grey, cv2.CV_64F).var()),
        brightness=float(grey.mean()),
        contrast=float(grey.std()),
        yaw=yaw,
        roll=roll,
    )


def head_pose(landmarks: np.ndarray) -> tuple[float, float]:
    """Approximate (yaw, roll) in degrees from the five landmarks (eyes, nose, mouth corners)."""
    left_eye, right_eye, nose = (landmarks[i].astype(np.float64) for i in range(3))
    eye_line = right_eye - left_eye
    eye_distance = float(np.hypot(*eye_line))
    if eye_distance == 0:
        return 0.0, 0.0
    roll = math.atan2(eye_line[1], eye_line[0])
    # The nose's offset from the eye midpoint along the (roll-corrected) eye line.
    offset = float((nose - (left_eye + right_eye) / 2) @ (eye_line / eye_distance)) / eye_distance
    yaw = math.atan2(offset, _NOSE_DEPTH)
    return math.degrees(yaw), math.degrees(roll)
