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
    """Limits for ``FaceQuality.problems``; the defaults suit enrollment photos taken at a kiosk."""

    min_face_size: float = 64.0
    min_blur: float = 40.0
    min_brightness: float = 50.0
    max_brightness: float = 210.0
    min_contrast: float = 20.0
    max_yaw: float = 35.0
    max_roll: float = 25.0
    max_pitch: float = 30.0
    # The detector's confidence: occlusion (a hand, a scarf, hair over the eyes) is the usual reason for a
    # low score on an otherwise good face, so this stands in for an occlusion measure.
    min_score: float = 0.7


@dataclass(frozen=True, slots=True)
class QualityPolicy:
    """Strict for enrollment (a template is compared with every future check-in), lenient for check-in (a
    student in a hurry should not be sent away for a slightly soft frame)."""

    enrollment: QualityThresholds = QualityThresholds()
    checkin: QualityThresholds = QualityThresholds(
        min_face_size=40.0,
        min_blur=10.0,
        min_brightness=30.0,
        max_brightness=230.0,
        min_contrast=10.0,
        max_yaw=60.0,
        max_roll=40.0,
        max_pitch=45.0,
        min_score=0.5,
    )


@dataclass(frozen=True, slots=True)
class QualityProblem:
    code: str  # stable, for machines
    message: str  # what is wrong
    hint: str  # what the person at the camera should do


@dataclass(frozen=True, slots=True)
class FaceQuality:
    face_size: float  # px in the source image: the shorter side of the detection box
    blur: float  # variance of the Laplacian of the grey aligned crop; low means blurry
    brightness: float  # mean grey level of the aligned crop, 0-255
    contrast: float  # standard deviation of that grey level
    yaw: float  # degrees, approximate; positive when the nose points to the right of the picture
    roll: float  # degrees; positive when the eye line tilts clockwise in the picture
    pitch: float = 0.0  # degrees, approximate; positive when the face looks down
    score: float = 1.0  # the detector's confidence

    def to_dict(self) -> dict[str, float]:
        return asdict(self)

    def problems(self, thresholds: QualityThresholds | None = None) -> list[QualityProblem]:
        """Every limit the face misses, empty when it passes."""
        limits = thresholds or QualityThresholds()
        checks = (
            (self.face_size < limits.min_face_size, "face_too_small", "face too small", "Move closer"),
            (self.blur < limits.min_blur, "blurry", "image too blurry", "Hold still"),
            (self.brightness < limits.min_brightness, "too_dark", "image too dark", "Find more light"),
            (self.brightness > limits.max_brightness, "too_bright", "image too bright", "Avoid the glare"),
            (self.contrast < limits.min_contrast, "low_contrast", "contrast too low", "Find better light"),
            (abs(self.yaw) > limits.max_yaw, "turned", "face turned sideways", "Face the camera"),
            (abs(self.roll) > limits.max_roll, "tilted", "head tilted", "Hold your head straight"),
            (abs(self.pitch) > limits.max_pitch, "pitched", "face looking up or down", "Look at the camera"),
            (self.score < limits.min_score, "occluded", "face partly hidden", "Uncover your face"),
        )
        return [QualityProblem(code, message, hint) for failed, code, message, hint in checks if failed]

    def reasons(self, thresholds: QualityThresholds | None = None) -> list[str]:
        """Human-readable problems, empty when the face passes every limit."""
        return [problem.message for problem in self.problems(thresholds)]


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
        pitch=head_pitch(face.landmarks),
        score=float(face.score),
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


#: Where the nose sits between the eye line and the mouth line in a frontal face (the ArcFace template).
_FRONTAL_NOSE_HEIGHT = (71.7366 - 51.599) / (92.285 - 51.599)


def head_pitch(landmarks: np.ndarray) -> float:
    """Approximate pitch in degrees: the nose's height between the eye and mouth lines against a frontal
    face's, turned into an angle with the same nose depth as ``head_pose``."""
    left_eye, right_eye, nose, left_mouth, right_mouth = (landmarks[i].astype(np.float64) for i in range(5))
    eye_line = right_eye - left_eye
    eye_distance = float(np.hypot(*eye_line))
    if eye_distance == 0:
        return 0.0
    down = np.array([-eye_line[1], eye_line[0]]) / eye_distance  # perpendicular to the eyes, downwards
    eyes, mouth = (left_eye + right_eye) / 2, (left_mouth + right_mouth) / 2
    span = float((mouth - eyes) @ down)
    if span <= 0:
        return 0.0
    height = float((nose - eyes) @ down) / span
    offset = (height - _FRONTAL_NOSE_HEIGHT) * span / eye_distance
    return math.degrees(math.atan2(offset, _NOSE_DEPTH))
