"""The `accurate` profile: MTCNN's ONNX export, and its numpy port of facenet-pytorch's cascade.

facenet-pytorch's own detection code imports torchvision, which is deliberately not installed; the reference
here imports that code with stand-ins for the two torchvision names it uses, and a greedy NMS with
torchvision's semantics, confined to these tests.
"""

from __future__ import annotations

import hashlib
import importlib
import sys
import types
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from models.build.mtcnn_export import NETS, build_mtcnn, torch_net
from models.detectors.mtcnn import FACTOR, MIN_FACE_SIZE, THRESHOLDS, MtcnnDetector
from models.errors import ModelFileError
from models.runtime import RuntimeOptions, create_session

# Single-face portraits; the parity set adds LFW images with extra faces cut by the border, and a group.
PORTRAITS = [
    f"lfw/{name}/{name}_0001.jpg" for name in ("AJ_Cook", "AJ_Lamas", "Aaron_Guiel", "Aaron_Peirsol")
]
PARITY_SET = [
    "lfw/AJ_Cook/AJ_Cook_0001.jpg",
    "lfw/Ahmet_Demir/Ahmet_Demir_0001.jpg",
    "lfw/Akmal_Taher/Akmal_Taher_0001.jpg",
    "libs/deepface/unlabelled_multi_face/selfie-many-people.jpg",
]
GROUP = "libs/facenet-pytorch/data/multiface.jpg"  # six people, all facing the camera

Detection = tuple[np.ndarray, np.ndarray]  # (n, 5) boxes with score, (n, 5, 2) landmarks


def _read(faces_dir: Path, name: str) -> np.ndarray:
    image = cv2.imread(str(faces_dir / name))
    assert image is not None, name
    return image


def _digests(paths: dict[str, Path]) -> dict[str, str]:
    return {net: hashlib.sha256(path.read_bytes()).hexdigest() for net, path in paths.items()}


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("mtcnn-cache")
    build_mtcnn(path)
    return path


@pytest.fixture(scope="module")
def detector(cache_dir: Path) -> MtcnnDetector:
    return MtcnnDetector.load(cache_dir, RuntimeOptions(intra_op_threads=2))


@pytest.fixture(scope="module")
def torch_nets() -> Iterator[dict[str, torch.nn.Module]]:
    # One thread: on a busy 2-core machine torch's extra threads spin, measured 30x slower with two.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield {net: torch_net(net) for net in NETS}
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def facenet() -> types.SimpleNamespace:
    """facenet-pytorch's MTCNN module and detect_face, imported against stand-in torchvision modules."""
    names = ("torchvision", "torchvision.transforms", "torchvision.transforms.functional", "torchvision.ops")
    stubs = {name: types.ModuleType(name) for name in names}
    stubs["torchvision.ops.boxes"] = types.SimpleNamespace(batched_nms=_torchvision_batched_nms)
    with pytest.MonkeyPatch.context() as patch:
        for name, module in stubs.items():
            patch.setitem(sys.modules, name, module)
        mtcnn = importlib.import_module("facenet_pytorch.models.mtcnn")
        detect_face = importlib.import_module("facenet_pytorch.models.utils.detect_face")
    # Forget the stub-bound package too; its real dependencies (requests, PIL...) stay imported as normal.
    for name in [name for name in sys.modules if name.partition(".")[0] == "facenet_pytorch"]:
        del sys.modules[name]
    nets = {"pnet": mtcnn.PNet, "rnet": mtcnn.RNet, "onet": mtcnn.ONet}
    return types.SimpleNamespace(nets=nets, detect_face=detect_face.detect_face)


def _torchvision_batched_nms(
    boxes: torch.Tensor, scores: torch.Tensor, idxs: torch.Tensor, iou_threshold: float
) -> torch.Tensor:
    """torchvision.ops.batched_nms: per index, greedy by score, drop IoU > threshold (areas without +1)."""
    sizes = (boxes[:, 2:] - boxes[:, :2]).clamp(min=0)
    areas = sizes[:, 0] * sizes[:, 1]
    low = torch.maximum(boxes[:, None, :2], boxes[None, :, :2])
    high = torch.minimum(boxes[:, None, 2:], boxes[None, :, 2:])
    inter = (high - low).clamp(min=0).prod(dim=2)
    clash = (inter / (areas[:, None] + areas[None, :] - inter) > iou_threshold) & (
        idxs[:, None] == idxs[None]
    )
    suppressed = torch.zeros(len(boxes), dtype=torch.bool)
    keep = []
    for i in torch.argsort(scores, descending=True, stable=True).tolist():
        if not suppressed[i]:
            keep.append(i)
            suppressed |= clash[i]
    return torch.tensor(keep, dtype=torch.int64)


def _torch_runner(module: torch.nn.Module) -> Callable[[np.ndarray], list[np.ndarray]]:
    def run(batch: np.ndarray) -> list[np.ndarray]:
        with torch.no_grad():
            return [output.numpy() for output in module(torch.from_numpy(batch))]

    return run


def _real_inputs(faces_dir: Path) -> dict[str, np.ndarray]:
    """Normalised NCHW batches from a real face: P's first pyramid level, R's and O's face crops."""
    rgb = _read(faces_dir, PORTRAITS[0])[..., ::-1]
    crops = [rgb, rgb[60:200, 60:190], rgb[100:180, 90:170]]

    def batch(images: list[np.ndarray], side: int) -> np.ndarray:
        resized = [cv2.resize(image, (side, side), interpolation=cv2.INTER_AREA) for image in images]
        return ((np.stack(resized).astype(np.float32) - 127.5) * 0.0078125).transpose(0, 3, 1, 2).copy()

    return {"pnet": batch([rgb], 151), "rnet": batch(crops, 24), "onet": batch(crops, 48)}


def _as_arrays(faces: list) -> Detection:
    boxes = np.array([[*face.box, face.score] for face in faces], dtype=np.float32).reshape(-1, 5)
    points = np.array([face.landmarks for face in faces], dtype=np.float32).reshape(-1, 5, 2)
    return boxes, points


def _by_position(detection: Detection) -> Detection:
    order = np.argsort(detection[0][:, 0], kind="stable")
    return detection[0][order], detection[1][order]


def test_export_is_byte_for_byte_deterministic(cache_dir: Path, tmp_path: Path) -> None:
    assert _digests(build_mtcnn(tmp_path)) == _digests(build_mtcnn(cache_dir))


def test_built_graphs_serve_without_torch(
    cache_dir: Path, faces_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # any `import torch` now raises ImportError
    assert len(MtcnnDetector.load(cache_dir).detect(_read(faces_dir, PORTRAITS[0]))) == 1


def test_missing_graphs_without_torch_say_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(ModelFileError, match="'export' dependency group") as error:
        MtcnnDetector.load(tmp_path)
    assert str(tmp_path) in str(error.value)


def test_declared_nets_equal_facenet_pytorch_classes(
    facenet: types.SimpleNamespace, torch_nets: dict, faces_dir: Path
) -> None:
    for net, batch in _real_inputs(faces_dir).items():
        theirs = _torch_runner(facenet.nets[net]().eval())(batch)  # loads its bundled weights itself
        for ours, reference in zip(_torch_runner(torch_nets[net])(batch), theirs, strict=True):
            np.testing.assert_array_equal(ours, reference, err_msg=net)


def test_onnx_graphs_match_torch(cache_dir: Path, torch_nets: dict, faces_dir: Path) -> None:
    paths = build_mtcnn(cache_dir)
    for net, batch in _real_inputs(faces_dir).items():
        session = create_session(paths[net], RuntimeOptions(intra_op_threads=2))
        onnx_outputs = session.run(None, {"image": batch})
        for got, expected in zip(onnx_outputs, _torch_runner(torch_nets[net])(batch), strict=True):
            assert got.shape == expected.shape
            assert np.abs(got - expected).max() < 1e-4, net


@pytest.fixture(scope="module")
def facenet_reference(facenet: types.SimpleNamespace, torch_nets: dict) -> Callable[[np.ndarray], Detection]:
    def detect(image: np.ndarray) -> Detection:
        with torch.no_grad():
            boxes, points = facenet.detect_face(
                image[..., ::-1].copy(), MIN_FACE_SIZE, *torch_nets.values(), list(THRESHOLDS), FACTOR, "cpu"
            )
        return np.asarray(boxes[0], np.float32).reshape(-1, 5), np.asarray(points[0], np.float32).reshape(
            -1, 5, 2
        )

    return detect


@pytest.fixture(scope="module")
def torch_pipeline(torch_nets: dict) -> Callable[[np.ndarray], Detection]:
    detector = MtcnnDetector(*(_torch_runner(torch_nets[net]) for net in NETS))
    return lambda image: _as_arrays(detector.detect(image))


@pytest.mark.parametrize("reference", ["facenet_reference", "torch_pipeline"])
def test_detections_match_reference(
    reference: str, detector: MtcnnDetector, faces_dir: Path, request: pytest.FixtureRequest
) -> None:
    """ONNX through the port vs facenet-pytorch's detect_face, and vs the torch nets through the port."""
    expected_detect = request.getfixturevalue(reference)
    images = [_read(faces_dir, name) for name in PARITY_SET]
    for name, image, faces in zip(PARITY_SET, images, detector.detect_batch(images), strict=True):
        boxes, points = _by_position(_as_arrays(faces))
        expected_boxes, expected_points = _by_position(expected_detect(image))
        assert len(boxes) == len(expected_boxes) > 0, name
        np.testing.assert_allclose(boxes[:, :4], expected_boxes[:, :4], atol=0.01, err_msg=name)
        np.testing.assert_allclose(boxes[:, 4], expected_boxes[:, 4], atol=1e-4, err_msg=name)
        np.testing.assert_allclose(points, expected_points, atol=0.01, err_msg=name)


def test_finds_the_centred_face_on_each_portrait(detector: MtcnnDetector, faces_dir: Path) -> None:
    images = [_read(faces_dir, name) for name in PORTRAITS]
    for name, faces in zip(PORTRAITS, detector.detect_batch(images), strict=True):
        assert len(faces) == 1, name
        face = faces[0]
        assert face.box.dtype == face.landmarks.dtype == np.float32
        assert face.box.shape == (4,) and face.landmarks.shape == (5, 2)
        assert face.score > 0.99
        assert np.abs((face.box[:2] + face.box[2:]) / 2 - 125).max() < 25, name  # LFW centres the subject
        left_eye, right_eye, nose, mouth_left, mouth_right = face.landmarks
        assert ((face.landmarks >= face.box[:2]) & (face.landmarks <= face.box[2:])).all(), name
        assert left_eye[0] < nose[0] < right_eye[0] and mouth_left[0] < mouth_right[0], name
        assert max(left_eye[1], right_eye[1]) < nose[1] < min(mouth_left[1], mouth_right[1]), name


def test_finds_every_face_in_a_group_photo_best_first(detector: MtcnnDetector, faces_dir: Path) -> None:
    faces = detector.detect(_read(faces_dir, GROUP))
    assert len(faces) == 6
    scores = [face.score for face in faces]
    assert scores == sorted(scores, reverse=True)


def test_batches_of_mixed_sizes_give_the_same_faces_as_single_images(
    detector: MtcnnDetector, faces_dir: Path
) -> None:
    images = [_read(faces_dir, PARITY_SET[1]), np.zeros((120, 90, 3), np.uint8), _read(faces_dir, GROUP)]
    for image, faces in zip(images, detector.detect_batch(images), strict=True):
        for batched, alone in zip(_as_arrays(faces), _as_arrays(detector.detect(image)), strict=True):
            np.testing.assert_array_equal(batched, alone)


def test_finds_nothing_where_there_is_no_face(detector: MtcnnDetector) -> None:
    blank, grey, tiny = (
        np.zeros((250, 250, 3), np.uint8),
        np.full((200, 320, 3), 128, np.uint8),
        np.ones((8, 8, 3), np.uint8),
    )
    assert detector.detect_batch([blank, grey, tiny]) == [[], [], []]
    assert detector.detect_batch([]) == []


def test_rejects_images_that_are_not_uint8_bgr(detector: MtcnnDetector) -> None:
    with pytest.raises(ValueError, match="uint8 BGR"):
        detector.detect(np.zeros((64, 64, 3), np.float32))
