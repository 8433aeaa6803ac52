import math

import cv2
import numpy as np
import pytest

from models.alignment import ARCFACE_TEMPLATE
from models.quality import FaceQuality, QualityThresholds, head_pose, measure_quality
from models.types import CROP_SIZE, Face


def _face(landmarks=ARCFACE_TEMPLATE, side=120.0):
    return Face(
        box=np.array([10, 20, 10 + side, 20 + side * 1.2], np.float32), landmarks=landmarks, score=0.9
    )


def _rotate(points, degrees):
    angle = math.radians(degrees)
    rotation = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    centre = points.mean(axis=0)
    return ((points - centre) @ rotation.T + centre).astype(np.float32)


def _textured_crop():
    return np.random.default_rng(0).integers(60, 200, (CROP_SIZE, CROP_SIZE, 3), dtype=np.uint8)


def test_frontal_template_is_straight():
    yaw, roll = head_pose(ARCFACE_TEMPLATE)
    assert abs(yaw) < 3
    assert abs(roll) < 1


@pytest.mark.parametrize("degrees", [-30.0, 12.0])
def test_roll_follows_the_eye_line(degrees):
    _, roll = head_pose(_rotate(ARCFACE_TEMPLATE, degrees))
    assert roll == pytest.approx(degrees + head_pose(ARCFACE_TEMPLATE)[1], abs=1e-3)


def test_yaw_sign_and_size_from_the_nose_offset():
    landmarks = ARCFACE_TEMPLATE.copy()
    eye_distance = landmarks[1, 0] - landmarks[0, 0]
    landmarks[2, 0] = landmarks[:2, 0].mean() + 0.55 * eye_distance  # nose as far aside as it is deep
    yaw, _ = head_pose(landmarks)
    assert yaw == pytest.approx(45, abs=1)
    landmarks[2, 0] = landmarks[:2, 0].mean() - 0.2 * eye_distance
    assert head_pose(landmarks)[0] < -10
    assert head_pose(_rotate(landmarks, 30))[0] == pytest.approx(head_pose(landmarks)[0], abs=1e-3)


def test_sharp_crop_scores_higher_than_blurred():
    crop = _textured_crop()
    sharp = measure_quality(crop, _face())
    blurred = measure_quality(cv2.GaussianBlur(crop, (0, 0), 3), _face())
    assert sharp.blur > 10 * blurred.blur


def test_measures_size_exposure_and_contrast():
    quality = measure_quality(np.full((CROP_SIZE, CROP_SIZE, 3), 90, np.uint8), _face(side=80))
    assert quality.face_size == pytest.approx(80)
    assert quality.brightness == pytest.approx(90)
    assert quality.contrast == pytest.approx(0)
    assert quality.blur == pytest.approx(0)


def test_good_face_has_no_reasons():
    assert measure_quality(_textured_crop(), _face()).reasons() == []


def test_reasons_name_each_problem():
    quality = FaceQuality(face_size=30, blur=2, brightness=240, contrast=5, yaw=50, roll=-40)
    assert quality.reasons() == [
        "face too small",
        "image too blurry",
        "image too bright",
        "contrast too low",
        "face turned sideways",
        "head tilted",
    ]
    assert "image too dark" in FaceQuality(100, 100, 10, 50, 0, 0).reasons()
    assert quality.reasons(QualityThresholds(0, 0, 0, 255, 0, 90, 90, 90, 0)) == []


def test_to_dict_is_plain_numbers():
    quality = measure_quality(_textured_crop(), _face())
    values = quality.to_dict()
    assert list(values) == ["face_size", "blur", "brightness", "contrast", "yaw", "roll", "pitch", "score"]
    assert all(isinstance(value, float) for value in values.values())
