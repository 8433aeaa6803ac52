import cv2
import numpy as np
import pytest

from models import embedder as embedder_module
from models.alignment import align_face
from models.build.onnx_fixups import build_sface
from models.detectors.yunet import YunetDetector
from models.embedder import SfaceEmbedder
from models.registry import model_file
from models.types import CROP_SIZE

# Two photos each of two people.
PHOTOS = [
    "lfw/Aaron_Peirsol/Aaron_Peirsol_0001.jpg",
    "lfw/Aaron_Peirsol/Aaron_Peirsol_0002.jpg",
    "lfw/George_W_Bush/George_W_Bush_0353.jpg",
    "lfw/George_W_Bush/George_W_Bush_0407.jpg",
]


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="module")
def embedder(cache_dir):
    return SfaceEmbedder.load(cache_dir)


@pytest.fixture(scope="module")
def crops(cache_dir, faces_dir):
    detector = YunetDetector.load(cache_dir)
    aligned = []
    for name in PHOTOS:
        image = cv2.imread(str(faces_dir / name))
        aligned.append(align_face(image, detector.detect(image)[0].landmarks))
    return np.stack(aligned)


def test_vectors_are_unit_length_float32(embedder, crops):
    vectors = embedder.embed(crops)
    assert vectors.shape == (len(PHOTOS), embedder.dim)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_same_person_is_closer_than_different_people(embedder, crops):
    vectors = embedder.embed(crops)
    similarity = vectors @ vectors.T
    same = [similarity[0, 1], similarity[2, 3]]
    different = [similarity[0, 2], similarity[0, 3], similarity[1, 2], similarity[1, 3]]
    assert min(same) > 0.5
    assert max(different) < 0.35


def test_batch_equals_one_by_one(embedder, crops):
    one_by_one = np.concatenate([embedder.embed(crop[None]) for crop in crops])
    np.testing.assert_allclose(embedder.embed(crops), one_by_one, atol=1e-5)


def test_large_calls_are_chunked_without_changing_results(embedder, crops, monkeypatch):
    whole = embedder.embed(crops)
    monkeypatch.setattr(embedder_module, "_CHUNK", 3)
    np.testing.assert_allclose(embedder.embed(crops), whole, atol=1e-5)


def test_matches_opencv_reference_preprocessing(embedder, crops, cache_dir):
    """OpenCV's FaceRecognizerSF swaps BGR to RGB itself: the same crop must give the same vector."""
    reference = cv2.FaceRecognizerSF.create(str(build_sface(cache_dir)), "")
    expected = reference.feature(crops[0]).ravel()
    assert float(embedder.embed(crops[:1])[0] @ (expected / np.linalg.norm(expected))) > 0.9999


def test_empty_batch(embedder):
    assert embedder.embed(np.empty((0, CROP_SIZE, CROP_SIZE, 3), np.uint8)).shape == (0, embedder.dim)


def test_rejects_unaligned_input(embedder):
    with pytest.raises(ValueError, match="112"):
        embedder.embed(np.zeros((1, 100, 100, 3), np.uint8))


def test_model_id_names_the_weights(embedder):
    assert embedder.model_id.startswith("sface-")
    assert model_file("sface").sha256[:8] in embedder.model_id
