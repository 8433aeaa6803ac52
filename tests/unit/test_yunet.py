import cv2
import numpy as np
import pytest

from models.detectors import load_detector
from models.detectors.yunet import YunetDetector
from models.registry import model_file

PORTRAITS = [
    "lfw/Aaron_Peirsol/Aaron_Peirsol_0001.jpg",
    "lfw/George_W_Bush/George_W_Bush_0353.jpg",
    "lfw/Amelie_Mauresmo/Amelie_Mauresmo_0001.jpg",
    "lfw/John_Swofford/John_Swofford_0001.jpg",
    "lfw/Robert_Ehrlich/Robert_Ehrlich_0002.jpg",
]
GROUP = "libs/deepface/unlabelled_multi_face/selfie-many-people.jpg"
TWO_PEOPLE = "libs/face_recognition/examples/two_people.jpg"


@pytest.fixture(scope="module")
def detector(tmp_path_factory):
    return YunetDetector.load(tmp_path_factory.mktemp("models"))


def _read(faces_dir, name):
    image = cv2.imread(str(faces_dir / name))
    assert image is not None, name
    return image


@pytest.mark.parametrize("name", PORTRAITS)
def test_lfw_portrait_has_one_centred_face_with_plausible_landmarks(detector, faces_dir, name):
    image = _read(faces_dir, name)
    (face,) = detector.detect(image)
    centre = (face.box[:2] + face.box[2:]) / 2
    assert np.all(np.abs(centre - 125) < 25)
    assert 60 < face.width < 160
    assert face.score > 0.8
    lm = face.landmarks
    assert np.all((lm >= face.box[:2]) & (lm <= face.box[2:]))
    left_eye, right_eye, nose, mouth_left, mouth_right = lm
    assert left_eye[0] < right_eye[0]
    assert mouth_left[0] < mouth_right[0]
    assert max(left_eye[1], right_eye[1]) < nose[1] < min(mouth_left[1], mouth_right[1])


def test_group_photo_has_several_faces_best_first(detector, faces_dir):
    faces = detector.detect(_read(faces_dir, GROUP))
    assert len(faces) >= 4
    scores = [face.score for face in faces]
    assert scores == sorted(scores, reverse=True)


@pytest.mark.parametrize("image", [np.zeros((480, 640, 3), np.uint8), np.full((300, 200, 3), 128, np.uint8)])
def test_blank_image_has_no_face(detector, image):
    assert detector.detect(image) == []


def test_matches_opencv_reference_decoder(detector, faces_dir):
    """OpenCV's FaceDetectorYN on the shipped file is the reference for decoding and NMS."""
    image = _read(faces_dir, GROUP)
    height, width = image.shape[:2]
    reference = cv2.FaceDetectorYN.create(str(model_file("yunet").resolve()), "", (width, height), 0.6, 0.3)
    _, rows = reference.detect(image)
    rows = sorted(rows, key=lambda row: -row[14])
    faces = detector.detect(image)
    assert len(faces) == len(rows)
    for face, row in zip(faces, rows, strict=True):
        np.testing.assert_allclose(face.box, [row[0], row[1], row[0] + row[2], row[1] + row[3]], atol=0.5)
        np.testing.assert_allclose(face.landmarks, row[4:14].reshape(5, 2), atol=0.5)
        assert face.score == pytest.approx(row[14], abs=1e-3)


def test_batch_of_mixed_sizes_equals_one_by_one(detector, faces_dir):
    images = [_read(faces_dir, name) for name in (*PORTRAITS[:2], TWO_PEOPLE, PORTRAITS[2])]
    batched = detector.detect_batch(images)
    assert [len(faces) for faces in batched] == [1, 1, 2, 1]
    for faces, image in zip(batched, images, strict=True):
        for got, want in zip(faces, detector.detect(image), strict=True):
            np.testing.assert_allclose(got.box, want.box, atol=1e-3)
            np.testing.assert_allclose(got.landmarks, want.landmarks, atol=1e-3)


def test_large_image_is_shrunk_and_mapped_back(detector, faces_dir):
    large = cv2.resize(_read(faces_dir, PORTRAITS[0]), (1280, 1280), interpolation=cv2.INTER_CUBIC)
    (face,) = detector.detect(large)
    (half,) = detector.detect(cv2.resize(large, (640, 640), interpolation=cv2.INTER_AREA))
    np.testing.assert_allclose(face.box, half.box * 2, atol=1e-3)
    np.testing.assert_allclose(face.landmarks, half.landmarks * 2, atol=1e-3)


def test_empty_batch(detector):
    assert detector.detect_batch([]) == []


def test_rejects_grey_images(detector):
    with pytest.raises(ValueError, match="BGR"):
        detector.detect(np.zeros((100, 100), np.uint8))


def test_profiles(tmp_path):
    assert isinstance(load_detector("fast", tmp_path), YunetDetector)
    with pytest.raises(ValueError, match="fast"):
        load_detector("fastest", tmp_path)
