"""The HTTP layer without Ray or models: a fake pipeline behind the real app; every error path's JSON."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.api.main import create_app
from app.api.security import authenticate
from app.container import build_container
from app.core.config import Settings
from app.core.enums import Role
from app.services.biometrics.ports import Embeddings, ModelInfo
from app.services.identity.principal import Principal
from models.detection import FoundFaces, measured
from models.gallery import GalleryUnavailableError, Match
from models.types import Face
from tests.domain.authkit import TEST_SECRETS
from tests.serving import serving_face_service

MAX_UPLOAD = 200_000


class FakePipeline:
    """Detects ``width - 100`` faces in an image; embeds by mean colour; keeps the gallery in a dict."""

    def __init__(self) -> None:
        self.gallery: dict[tuple[str, str], list[np.ndarray]] = {}
        self.down = False
        self.explode = False

    async def detect(self, images: list[np.ndarray]) -> list[FoundFaces]:
        if self.explode:
            raise RuntimeError("secret internal detail")
        landmarks = np.array([[38, 52], [74, 52], [56, 72], [42, 92], [70, 92]], dtype=np.float32)
        found = []
        for image in images:
            count = max(image.shape[1] - 100, 0)
            faces = [
                Face(box=np.array([0, 0, 112, 112], np.float32), landmarks=landmarks, score=0.9)
                for _ in range(count)
            ]
            found.append(measured(image, faces))
        return found

    async def embed(self, crops: np.ndarray) -> Embeddings:
        means = crops.reshape(len(crops), -1, 3).mean(axis=1)
        vectors = np.hstack([means, np.ones((len(crops), 1))]).astype(np.float32)
        return Embeddings(
            vectors / np.linalg.norm(vectors, axis=1, keepdims=True), ModelInfo("fake-model", 4)
        )

    def _check(self) -> None:
        if self.down:
            raise GalleryUnavailableError("Milvus request failed: 127.0.0.1:19530 refused")

    async def search(
        self, gallery: str, embeddings: Embeddings, roster: frozenset[str] | None = None
    ) -> list[Match]:
        self._check()
        matches = []
        for vector in embeddings.vectors:
            scored = [
                (label, float(v @ vector))
                for (g, label), vs in self.gallery.items()
                if g == gallery and (roster is None or label in roster)
                for v in vs
            ]
            best = max(scored, key=lambda item: item[1], default=None)
            matches.append(Match(best[0], best[1], 1) if best and best[1] >= 0.9 else Match(None, None))
        return matches

    async def add(self, gallery: str, label: str, embeddings: Embeddings) -> list[int]:
        self._check()
        self.gallery.setdefault((gallery, label), []).extend(embeddings.vectors)
        return list(range(len(embeddings.vectors)))

    async def delete(self, gallery: str, label: str) -> int:
        self._check()
        return len(self.gallery.pop((gallery, label), []))

    async def check(self) -> dict[str, str]:
        return {"detector": "ok", "gallery": "unavailable: down" if self.down else "ok"}


@pytest.fixture
def pipeline() -> FakePipeline:
    return FakePipeline()


@pytest.fixture
def client(pipeline: FakePipeline) -> Iterator[TestClient]:
    settings = Settings(**TEST_SECRETS, max_upload_bytes=MAX_UPLOAD, max_pixels=1_000_000, retry_after_s=7)
    service = serving_face_service(pipeline, settings)  # type: ignore[arg-type]
    app = create_app(build_container(settings, service))
    # Who may call what is proven in tests/domain/test_rbac_matrix.py; here every call comes from an admin.
    admin = Principal(kind="user", id=uuid.uuid4(), school_id=uuid.uuid4(), role=Role.admin)
    app.dependency_overrides[authenticate] = lambda: admin
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def png(faces: int, colour: int = 128, height: int = 120) -> tuple[str, bytes, str]:
    ok, data = cv2.imencode(".png", np.full((height, 100 + faces, 3), colour, np.uint8))
    assert ok
    return ("face.png", data.tobytes(), "image/png")


def error_of(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert list(body) == ["error"] and body["error"]["code"] == code, body
    assert "Traceback" not in response.text
    return body["error"]


def test_detect_lists_faces(client: TestClient) -> None:
    response = client.post("/v1/faces/detect", files={"image": png(2)})
    assert response.status_code == 200
    body = response.json()
    assert body["image"] == {"width": 102, "height": 120} and len(body["faces"]) == 2
    assert len(body["faces"][0]["landmarks"]) == 5


def test_verify_and_threshold(client: TestClient) -> None:
    files = {"image_a": png(1, 100), "image_b": png(1, 100)}
    body = client.post("/v1/faces/verify", files=files).json()
    assert body["same_person"] is True and body["score"] == pytest.approx(1.0, abs=1e-5)
    client.app.state.container.face_service.verify_threshold = 1.01
    assert client.post("/v1/faces/verify", files=files).json()["same_person"] is False


def test_enroll_identify_forget(client: TestClient) -> None:
    enrolled = client.post("/v1/galleries/g1/faces", files={"image": png(1, 90)}, data={"label": "ann"})
    assert enrolled.status_code == 201
    assert enrolled.json()["face_ids"] == ["0"] and enrolled.json()["model"] == "fake-model"
    faces = client.post("/v1/galleries/g1/identify", files={"image": png(2, 90)}).json()["faces"]
    assert [f["match"]["label"] for f in faces] == ["ann", "ann"]
    assert client.delete("/v1/galleries/g1/faces/ann").json()["deleted"] == 1
    error_of(client.delete("/v1/galleries/g1/faces/ann"), 404, "label_not_found")


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        ({"json": {"image": "x"}}, 415, "unsupported_media_type"),
        ({"content": b"image", "headers": {"content-type": "image/png"}}, 415, "unsupported_media_type"),
        ({"files": {"image": ("a.txt", b"hi", "text/plain")}}, 415, "unsupported_media_type"),
        ({"files": {"image": ("a.jpg", b"hi", "image/jpeg")}}, 422, "not_an_image"),
        ({"files": {"image": ("a.jpg", b"", "image/jpeg")}}, 422, "empty"),
        ({"files": {"other": ("a.jpg", b"hi", "image/jpeg")}}, 422, "invalid_request"),
        ({"files": {"image": ("a.jpg", b"\xff" * (MAX_UPLOAD + 1), "image/jpeg")}}, 413, "too_large"),
    ],
)
def test_bad_uploads(client: TestClient, kwargs: dict, status: int, code: str) -> None:
    error_of(client.post("/v1/faces/detect", **kwargs), status, code)


def test_truncated_and_bomb(client: TestClient) -> None:
    _, data, _ = png(1)
    error_of(
        client.post("/v1/faces/detect", files={"image": ("t.png", data[:60], "image/png")}), 422, "corrupt"
    )
    big = png(1, height=20_000)  # 2 M pixels > the 1 M limit, yet a small file
    error = error_of(client.post("/v1/faces/detect", files={"image": big}), 413, "too_many_pixels")
    assert error["details"]["max_pixels"] == 1_000_000


def test_body_limit_on_content_length_and_stream(client: TestClient) -> None:
    limit = client.app.state.container.settings.max_request_bytes
    headers = {"content-type": "multipart/form-data; boundary=x"}
    error_of(client.post("/v1/faces/detect", content=b"\0" * (limit + 1), headers=headers), 413, "too_large")

    def chunks() -> Iterator[bytes]:
        yield b'--x\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\n\r\n'
        for _ in range(limit // 8192 + 2):
            yield b"\0" * 8192

    error_of(client.post("/v1/faces/detect", content=chunks(), headers=headers), 413, "too_large")


def test_face_count_rules(client: TestClient) -> None:
    error = error_of(
        client.post("/v1/faces/verify", files={"image_a": png(1), "image_b": png(0)}), 422, "no_face"
    )
    assert error["details"] == {"field": "image_b"}
    error = error_of(
        client.post("/v1/galleries/g/faces", files={"image": png(3)}, data={"label": "x"}),
        422,
        "multiple_faces",
    )
    assert error["details"] == {"field": "image", "faces": 3}
    error_of(client.post("/v1/galleries/g/identify", files={"image": png(0)}), 422, "no_face")


@pytest.mark.parametrize(
    ("method", "path", "data", "code"),
    [
        ("post", "/v1/galleries/a%22b/identify", None, "invalid_gallery"),
        ("post", "/v1/galleries/" + "x" * 129 + "/faces", {"label": "ok"}, "invalid_gallery"),
        ("post", "/v1/galleries/ok/faces", {"label": "a b"}, "invalid_label"),
        ("delete", "/v1/galleries/ok/faces/a'b", None, "invalid_label"),
    ],
)
def test_invalid_names(client: TestClient, method: str, path: str, data: dict | None, code: str) -> None:
    if method == "delete":
        response = client.delete(path)
    else:
        response = client.post(path, files={"image": png(1)}, data=data)
    error_of(response, 422, code)


def test_gallery_down_is_503_with_retry_after(client: TestClient, pipeline: FakePipeline) -> None:
    pipeline.down = True
    response = client.post("/v1/galleries/g/identify", files={"image": png(1)})
    error = error_of(response, 503, "gallery_unavailable")
    assert response.headers["retry-after"] == "7"
    assert "19530" not in str(error)  # internal addresses stay in the logs
    ready = client.get("/ready")
    assert ready.status_code == 503 and ready.json()["status"] == "not_ready"
    assert ready.headers["retry-after"] == "7"
    assert client.get("/health").status_code == 200  # liveness: the process itself is fine


def test_unexpected_errors_carry_no_trace(client: TestClient, pipeline: FakePipeline) -> None:
    pipeline.explode = True
    response = client.post("/v1/faces/detect", files={"image": png(1)})
    error = error_of(response, 500, "internal_error")
    assert "secret" not in response.text and error["details"] == {}


def test_http_errors_are_json(client: TestClient) -> None:
    error_of(client.get("/v1/nope"), 404, "not_found")  # outside /v1, unknown paths are the web app's
    error_of(client.put("/v1/faces/detect"), 405, "method_not_allowed")
    assert client.get("/health").json() == {"status": "ok"}
    checks = client.get("/ready").json()["checks"]
    assert checks["detector"]["status"] == "ok" and checks["milvus"]["status"] == "ok"
