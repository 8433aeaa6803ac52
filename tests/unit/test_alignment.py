import math

import cv2
import numpy as np
import pytest

from models.alignment import ARCFACE_TEMPLATE, align_face, align_faces, similarity_transform
from models.types import CROP_SIZE, Face


def _similarity(angle_degrees, scale, shift):
    angle = math.radians(angle_degrees)
    rotation = scale * np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    return np.hstack([rotation, np.reshape(shift, (2, 1))])


def _apply(matrix, points):
    return points @ matrix[:, :2].T + matrix[:, 2]


def test_template_maps_onto_itself():
    np.testing.assert_allclose(
        similarity_transform(ARCFACE_TEMPLATE, ARCFACE_TEMPLATE), np.eye(2, 3), atol=1e-9
    )


@pytest.mark.parametrize(
    ("angle", "scale", "shift"), [(17.0, 2.3, (140.0, 60.0)), (-40.0, 0.6, (-5.0, 300.0))]
)
def test_recovers_a_known_similarity(angle, scale, shift):
    known = _similarity(angle, scale, shift)
    landmarks = _apply(known, ARCFACE_TEMPLATE)
    np.testing.assert_allclose(similarity_transform(ARCFACE_TEMPLATE, landmarks), known, atol=1e-6)
    back = similarity_transform(landmarks, ARCFACE_TEMPLATE)
    np.testing.assert_allclose(_apply(back, landmarks), ARCFACE_TEMPLATE, atol=1e-6)


def test_never_mirrors_a_face():
    mirrored = ARCFACE_TEMPLATE * [-1, 1]
    matrix = similarity_transform(mirrored, ARCFACE_TEMPLATE)
    assert np.linalg.det(matrix[:, :2]) > 0


def test_crop_puts_landmarks_on_the_template():
    """Paint the landmarks of a rotated, enlarged face as dots; after alignment they sit on the template."""
    landmarks = _apply(_similarity(25.0, 3.0, (200.0, 40.0)), ARCFACE_TEMPLATE)
    image = np.zeros((600, 600, 3), np.uint8)
    for x, y in landmarks:
        cv2.circle(image, (round(x), round(y)), 6, (255, 255, 255), -1)
    crop = align_face(image, landmarks.astype(np.float32))
    assert crop.shape == (CROP_SIZE, CROP_SIZE, 3)
    assert crop.dtype == np.uint8
    for x, y in ARCFACE_TEMPLATE:
        assert crop[round(y), round(x)].min() > 200
    assert crop.mean() < 30


def test_align_faces_stacks_one_crop_per_face():
    image = np.random.default_rng(0).integers(0, 255, (200, 300, 3), dtype=np.uint8)
    faces = [
        Face(box=np.array([0, 0, 112, 112], np.float32), landmarks=ARCFACE_TEMPLATE + offset, score=0.9)
        for offset in (0.0, 50.0)
    ]
    crops = align_faces(image, faces)
    assert crops.shape == (2, CROP_SIZE, CROP_SIZE, 3)
    np.testing.assert_array_equal(crops[0], image[:CROP_SIZE, :CROP_SIZE])
    np.testing.assert_array_equal(crops[1], image[50 : 50 + CROP_SIZE, 50 : 50 + CROP_SIZE])
    assert align_faces(image, []).shape == (0, CROP_SIZE, CROP_SIZE, 3)
