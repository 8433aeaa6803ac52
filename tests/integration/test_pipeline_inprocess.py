"""The real app over real models and Milvus Lite, in one process (InProcessPipeline): no Ray needed.

The quick loop for domain changes; the same use cases run through Serve in test_serve_api.py.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.api.main import create_app
from app.api.security import authenticate
from app.container import build_container
from app.core.config import Settings
from app.core.enums import Role
from app.services.identity.principal import Principal
from models.detectors import load_detector
from models.embedder import SfaceEmbedder
from models.gallery import FaceGallery
from tests.domain.authkit import TEST_SECRETS
from tests.serving import serving_face_service, serving_pipeline

pytestmark = pytest.mark.integration

IMAGES = Path("libs/face_recognition/tests/test_images")


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = Settings(**TEST_SECRETS, data_dir=tmp_path_factory.mktemp("inprocess"))
    embedder = SfaceEmbedder.load(settings.model_cache)
    gallery = FaceGallery(settings.milvus_uri, embedder.model_id, embedder.dim)
    pipeline = serving_pipeline(load_detector("fast", settings.model_cache), embedder, gallery)
    service = serving_face_service(pipeline, settings)
    app = create_app(build_container(settings, service))
    # No PostgreSQL/Redis here: the caller is a fixed admin (authentication is proven in tests/domain).
    admin = Principal(kind="user", id=uuid.uuid4(), school_id=uuid.uuid4(), role=Role.admin)
    app.dependency_overrides[authenticate] = lambda: admin
    with TestClient(app) as test_client:
        yield test_client
    gallery.close()


def image(faces_dir: Path, name: str) -> dict[str, tuple[str, bytes, str]]:
    return {"image": (name, (faces_dir / IMAGES / name).read_bytes(), "image/jpeg")}


def test_enroll_identify_forget(client: TestClient, faces_dir: Path) -> None:
    assert client.post(
        "/v1/galleries/c1/faces", files=image(faces_dir, "obama.jpg"), data={"label": "o"}
    ).is_success
    assert client.post(
        "/v1/galleries/c1/faces", files=image(faces_dir, "biden.jpg"), data={"label": "b"}
    ).is_success
    faces = client.post("/v1/galleries/c1/identify", files=image(faces_dir, "obama2.jpg")).json()["faces"]
    assert [face["match"]["label"] for face in faces] == ["o"]
    assert client.delete("/v1/galleries/c1/faces/o").json()["deleted"] == 1
    faces = client.post("/v1/galleries/c1/identify", files=image(faces_dir, "obama3.jpg")).json()["faces"]
    assert faces[0]["match"]["label"] is None
    assert client.get("/health").json()["status"] == "ok"


def test_verify(client: TestClient, faces_dir: Path) -> None:
    def verify(a: str, b: str) -> dict:
        files = {"image_a": image(faces_dir, a)["image"], "image_b": image(faces_dir, b)["image"]}
        return client.post("/v1/faces/verify", files=files).json()

    assert verify("obama.jpg", "obama3.jpg")["same_person"] is True
    assert verify("obama.jpg", "biden.jpg")["same_person"] is False
