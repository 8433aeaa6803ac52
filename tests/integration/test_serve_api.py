"""The HTTP API end to end on a real Serve app (Ray local on 127.0.0.1, Milvus server), with real faces.

Order matters only at the end of this file: the loopback check runs while everything is up, and the last
test stops the app's Milvus server to see the 503.
"""

from __future__ import annotations

import ipaddress
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import cv2
import httpx
import numpy as np
import psutil
import pytest

from deployments.serve_file import user_config
from tests.integration.conftest import TEST_MAX_UPLOAD_BYTES, ServeApp
from tests.integration.school_setup import jpeg
from tests.malformed_images import png_bomb

pytestmark = pytest.mark.integration

FR = Path("libs/face_recognition")
OBAMA = FR / "tests/test_images/obama.jpg"
OBAMA_2 = FR / "tests/test_images/obama2.jpg"
OBAMA_3 = FR / "tests/test_images/obama3.jpg"
BIDEN = FR / "tests/test_images/biden.jpg"
OBAMA_AND_BIDEN = FR / "examples/two_people.jpg"
GROUP = Path("libs/facenet-pytorch/data/multiface.jpg")


def configured(deployment: str) -> dict:
    """The user_config serve_config.yaml gives ``deployment`` (the tests follow the file, not a copy)."""
    return user_config(deployment)


@pytest.fixture(scope="module")
def client(serve_app: ServeApp) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=serve_app.base_url, timeout=60, headers=serve_app.headers) as http:
        yield http


@pytest.fixture(scope="module")
def photo(faces_dir: Path):
    def read(relative: Path) -> bytes:
        return (faces_dir / relative).read_bytes()

    return read


def png_bytes(image: np.ndarray) -> bytes:
    ok, encoded = cv2.imencode(".png", image)
    assert ok
    return encoded.tobytes()


def assert_error(response: httpx.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}, body
    assert body["error"]["code"] == code, body
    assert body["error"]["message"]
    assert "Traceback" not in response.text
    return body["error"]


def new_gallery() -> str:
    return f"school-{uuid.uuid4().hex[:8]}"


# ---------------------------------------------------------------------------------------------- happy paths


def test_health(client: httpx.Client, serve_app: ServeApp) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    response = client.get("/ready")
    assert response.status_code == 200, response.text
    checks = response.json()["checks"]
    for name in ("postgres", "redis", "detector", "embedder", "matcher", "milvus"):
        assert checks[name]["status"] == "ok", (name, checks)
    print(f"\nfirst request after serve.run: {serve_app.first_request_s:.2f} s")


def test_detect_one_face_with_landmarks_and_quality(client: httpx.Client, photo) -> None:
    response = client.post("/v1/faces/detect", files={"image": jpeg("obama.jpg", photo(OBAMA))})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["image"] == {"width": 910, "height": 1137}
    (face,) = body["faces"]
    box = face["box"]
    assert 0 <= box["x1"] < box["x2"] <= 910 and 0 <= box["y1"] < box["y2"] <= 1137
    assert len(face["landmarks"]) == 5
    assert face["score"] > 0.8
    measures = {"face_size", "blur", "brightness", "contrast", "yaw", "roll", "pitch", "score"}
    assert set(face["quality"]) == measures


def test_a_large_photo_crosses_the_replicas(client: httpx.Client, photo) -> None:
    """A 7 MP photo is 22 MB of pixels between the Ingress and the Detector: past gRPC's default 4 MiB
    message limit in Serve's throughput mode (cluster.local.ray_head.REPLICA_MESSAGE_BYTES)."""
    image = cv2.imdecode(np.frombuffer(photo(OBAMA), np.uint8), cv2.IMREAD_COLOR)
    large = cv2.resize(image, (2400, 3000), interpolation=cv2.INTER_CUBIC)
    ok, data = cv2.imencode(".jpg", large, [cv2.IMWRITE_JPEG_QUALITY, 85])
    assert ok
    response = client.post("/v1/faces/detect", files={"image": ("large.jpg", data.tobytes(), "image/jpeg")})
    assert response.status_code == 200, response.text
    assert response.json()["image"] == {"width": 2400, "height": 3000}
    assert len(response.json()["faces"]) == 1


def test_detect_group_photo(client: httpx.Client, photo) -> None:
    response = client.post("/v1/faces/detect", files={"image": jpeg("group.jpg", photo(GROUP))})
    assert response.status_code == 200, response.text
    assert len(response.json()["faces"]) >= 4


def test_detect_blank_image_finds_nothing(client: httpx.Client) -> None:
    blank = png_bytes(np.full((300, 300, 3), 255, np.uint8))
    response = client.post("/v1/faces/detect", files={"image": ("blank.png", blank, "image/png")})
    assert response.status_code == 200
    assert response.json()["faces"] == []


def test_verify_same_person(client: httpx.Client, photo) -> None:
    response = client.post(
        "/v1/faces/verify",
        files={"image_a": jpeg("a.jpg", photo(OBAMA)), "image_b": jpeg("b.jpg", photo(OBAMA_2))},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["same_person"] is True
    assert body["score"] >= body["threshold"] == pytest.approx(configured("Ingress")["verify_threshold"])


def test_verify_different_people(client: httpx.Client, photo) -> None:
    response = client.post(
        "/v1/faces/verify",
        files={"image_a": jpeg("a.jpg", photo(OBAMA)), "image_b": jpeg("b.jpg", photo(BIDEN))},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["same_person"] is False
    assert body["score"] < body["threshold"]


def test_enroll_identify_delete(client: httpx.Client, photo) -> None:
    gallery = new_gallery()
    enrolled = client.post(
        f"/v1/galleries/{gallery}/faces",
        files={"image": jpeg("o.jpg", photo(OBAMA))},
        data={"label": "obama"},
    )
    assert enrolled.status_code == 201, enrolled.text
    body = enrolled.json()
    assert body["gallery"] == gallery and body["label"] == "obama"
    assert len(body["face_ids"]) == 1 and body["face_ids"][0].isdigit()
    assert body["model"].startswith("sface")
    biden = client.post(
        f"/v1/galleries/{gallery}/faces",
        files={"image": jpeg("b.jpg", photo(BIDEN))},
        data={"label": "biden"},
    )
    assert biden.status_code == 201, biden.text

    # Read-your-writes: identified straight after enrolling, without waiting.
    identified = client.post(
        f"/v1/galleries/{gallery}/identify", files={"image": jpeg("o2.jpg", photo(OBAMA_2))}
    )
    assert identified.status_code == 200, identified.text
    (face,) = identified.json()["faces"]
    assert face["match"]["label"] == "obama" and face["match"]["known"] is True
    assert face["match"]["score"] >= configured("Matcher")["threshold"]

    # A group photo: every face answered, both people recognised.
    both = client.post(
        f"/v1/galleries/{gallery}/identify", files={"image": jpeg("two.jpg", photo(OBAMA_AND_BIDEN))}
    )
    assert both.status_code == 200, both.text
    faces = both.json()["faces"]
    assert len(faces) == 2
    assert {f["match"]["label"] for f in faces} == {"obama", "biden"}

    # Another gallery (another school) knows nobody.
    other = client.post(
        f"/v1/galleries/{new_gallery()}/identify", files={"image": jpeg("o.jpg", photo(OBAMA_2))}
    )
    assert other.status_code == 200
    assert other.json()["faces"][0]["match"] == {"label": None, "score": None, "known": False}

    deleted = client.delete(f"/v1/galleries/{gallery}/faces/obama")
    assert deleted.status_code == 200, deleted.text
    assert deleted.json() == {"gallery": gallery, "label": "obama", "deleted": 1}

    # Straight after the delete, the same photo is unknown (or at best Biden's weak score, never Obama).
    after = client.post(f"/v1/galleries/{gallery}/identify", files={"image": jpeg("o3.jpg", photo(OBAMA_3))})
    assert after.status_code == 200
    match = after.json()["faces"][0]["match"]
    assert match["label"] is None and match["known"] is False

    assert_error(client.delete(f"/v1/galleries/{gallery}/faces/obama"), 404, "label_not_found")


def test_steady_latency_is_well_under_a_second(client: httpx.Client, photo) -> None:
    gallery = new_gallery()
    client.post(
        f"/v1/galleries/{gallery}/faces", files={"image": jpeg("o.jpg", photo(OBAMA))}, data={"label": "o"}
    )
    probe = photo(OBAMA_2)
    timings = []
    for _ in range(8):
        started = time.perf_counter()
        response = client.post(f"/v1/galleries/{gallery}/identify", files={"image": jpeg("p.jpg", probe)})
        timings.append(time.perf_counter() - started)
        assert response.status_code == 200
    median = sorted(timings)[len(timings) // 2]
    print(f"\nidentify (626x1200 JPEG) median {median * 1000:.0f} ms, max {max(timings) * 1000:.0f} ms")
    assert median < 1.0


def test_user_config_changes_apply_live(client: httpx.Client, serve_app: ServeApp, photo) -> None:
    """Thresholds, detector profile and batch sizes change through user_config, without new replicas."""
    files = {"image_a": jpeg("a.jpg", photo(OBAMA)), "image_b": jpeg("b.jpg", photo(OBAMA_2))}
    detect = {"image": jpeg("o.jpg", photo(OBAMA))}
    fast_box = client.post("/v1/faces/detect", files=detect).json()["faces"][0]["box"]
    try:
        serve_app.redeploy(
            {
                "Ingress": {"user_config": {"verify_threshold": 0.99}},
                "Detector": {
                    "user_config": {
                        "profile": "accurate",
                        "max_batch_size": 4,
                        "batch_wait_timeout_s": 0.01,
                        "min_score": 0.9,
                    }
                },
            }
        )
        strict = client.post("/v1/faces/verify", files=files).json()
        assert strict["threshold"] == pytest.approx(0.99) and strict["same_person"] is False
        (accurate,) = client.post("/v1/faces/detect", files=detect).json()["faces"]
        assert accurate["box"] != fast_box  # MTCNN's box, not YuNet's
    finally:
        serve_app.redeploy({})
    restored = client.post("/v1/faces/verify", files=files).json()["threshold"]
    assert restored == pytest.approx(configured("Ingress")["verify_threshold"])
    assert client.post("/v1/faces/detect", files=detect).json()["faces"][0]["box"] == fast_box


# ---------------------------------------------------------------------------------------------- bad input


def test_text_part_is_unsupported_media(client: httpx.Client) -> None:
    response = client.post("/v1/faces/detect", files={"image": ("notes.txt", b"hello", "text/plain")})
    assert_error(response, 415, "unsupported_media_type")


def test_text_disguised_as_jpeg_is_not_an_image(client: httpx.Client) -> None:
    response = client.post("/v1/faces/detect", files={"image": ("x.jpg", b"just some text", "image/jpeg")})
    assert_error(response, 422, "not_an_image")


def test_truncated_jpeg_is_corrupt(client: httpx.Client, photo) -> None:
    data = photo(OBAMA)
    response = client.post("/v1/faces/detect", files={"image": jpeg("cut.jpg", data[: len(data) // 2])})
    assert_error(response, 422, "corrupt")


def test_png_decompression_bomb_is_refused(client: httpx.Client) -> None:
    response = client.post("/v1/faces/detect", files={"image": ("bomb.png", png_bomb(), "image/png")})
    assert_error(response, 413, "too_many_pixels")


def test_json_body_is_unsupported_media(client: httpx.Client) -> None:
    response = client.post("/v1/faces/detect", json={"image": "aGVsbG8="})
    assert_error(response, 415, "unsupported_media_type")
    response = client.post("/v1/galleries/g/identify", json={"image": "aGVsbG8="})
    assert_error(response, 415, "unsupported_media_type")


def test_oversize_image_is_refused(client: httpx.Client) -> None:
    big = b"\xff\xd8" + b"\0" * (TEST_MAX_UPLOAD_BYTES + 10)
    assert_error(client.post("/v1/faces/detect", files={"image": jpeg("big.jpg", big)}), 413, "too_large")


def test_oversize_body_is_refused_on_content_length(client: httpx.Client) -> None:
    """Far beyond the body limit: refused on the declared Content-Length, before the body is read."""
    huge = b"\0" * (3 * TEST_MAX_UPLOAD_BYTES)
    response = client.post(
        "/v1/faces/detect",
        content=huge,
        headers={"content-type": "multipart/form-data; boundary=x"},
    )
    assert_error(response, 413, "too_large")


def test_oversize_chunked_body_is_refused_while_reading(client: httpx.Client) -> None:
    """No Content-Length (chunked): the limit is enforced as the bytes of a valid multipart part arrive."""

    def body() -> Iterator[bytes]:
        yield (
            b'--x\r\nContent-Disposition: form-data; name="image"; filename="a.jpg"\r\n'
            b"Content-Type: image/jpeg\r\n\r\n"
        )
        for _ in range(3 * TEST_MAX_UPLOAD_BYTES // 65536 + 1):
            yield b"\0" * 65536

    response = client.post(
        "/v1/faces/detect", content=body(), headers={"content-type": "multipart/form-data; boundary=x"}
    )
    assert "content-length" not in response.request.headers
    assert_error(response, 413, "too_large")


def test_missing_image_field(client: httpx.Client) -> None:
    response = client.post("/v1/faces/detect", files={"photo": jpeg("x.jpg", b"\xff\xd8")})
    error = assert_error(response, 422, "invalid_request")
    assert "image" in error["message"]


def test_no_face_for_verify_and_enroll(client: httpx.Client, photo) -> None:
    blank = ("blank.png", png_bytes(np.full((300, 300, 3), 200, np.uint8)), "image/png")
    response = client.post(
        "/v1/faces/verify", files={"image_a": jpeg("a.jpg", photo(OBAMA)), "image_b": blank}
    )
    error = assert_error(response, 422, "no_face")
    assert error["details"]["field"] == "image_b"
    response = client.post(
        f"/v1/galleries/{new_gallery()}/faces", files={"image": blank}, data={"label": "x"}
    )
    assert_error(response, 422, "no_face")
    assert_error(
        client.post(f"/v1/galleries/{new_gallery()}/identify", files={"image": blank}), 422, "no_face"
    )


def test_two_faces_for_verify_and_enroll(client: httpx.Client, photo) -> None:
    two = jpeg("two.jpg", photo(OBAMA_AND_BIDEN))
    response = client.post("/v1/faces/verify", files={"image_a": two, "image_b": jpeg("o.jpg", photo(OBAMA))})
    error = assert_error(response, 422, "multiple_faces")
    assert error["details"] == {"field": "image_a", "faces": 2}
    gallery = new_gallery()
    response = client.post(f"/v1/galleries/{gallery}/faces", files={"image": two}, data={"label": "x"})
    assert_error(response, 422, "multiple_faces")


def test_invalid_gallery_and_label(client: httpx.Client, photo) -> None:
    image = {"image": jpeg("o.jpg", photo(OBAMA))}
    assert_error(client.post('/v1/galleries/a"b/identify', files=image), 422, "invalid_gallery")
    assert_error(
        client.post("/v1/galleries/a%20b/faces", files=image, data={"label": "x"}), 422, "invalid_gallery"
    )
    response = client.post("/v1/galleries/ok/faces", files=image, data={"label": 'x" or label != "'})
    assert_error(response, 422, "invalid_label")
    assert_error(client.delete("/v1/galleries/ok/faces/a%22b"), 422, "invalid_label")


def test_unknown_route_and_method_are_json(client: httpx.Client) -> None:
    assert_error(client.get("/v1/nothing-here"), 404, "not_found")
    assert_error(client.get("/v1/faces/detect"), 405, "method_not_allowed")


def test_openapi_documents_the_api(client: httpx.Client) -> None:
    spec = client.get("/openapi.json").json()
    for path in (
        "/v1/faces/detect",
        "/v1/faces/verify",
        "/v1/galleries/{gallery}/faces",
        "/v1/galleries/{gallery}/identify",
        "/v1/galleries/{gallery}/faces/{label}",
        "/health",
    ):
        assert path in spec["paths"], path
    detect = spec["paths"]["/v1/faces/detect"]["post"]
    assert {"200", "413", "415", "422", "503"} <= set(detect["responses"])
    assert "multipart/form-data" in detect["requestBody"]["content"]


# ---------------------------------------------------------------------------------------------- last: network


def _is_loopback(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


def test_no_connection_leaves_loopback(client: httpx.Client, serve_app: ServeApp) -> None:
    """Every TCP connection of this process tree (Ray, replicas, Milvus) stays on 127.0.0.0/8 or ::1."""
    client.get("/ready").raise_for_status()  # traffic through every component just now
    me = psutil.Process()
    tree = [me, *me.children(recursive=True)]
    names = {proc.pid: proc.name() for proc in tree}
    assert serve_app.milvus.pid in names, "the Milvus server should be part of this process tree"
    assert any("raylet" in name for name in names.values()), names
    outside = []
    listening_wide = []
    checked = 0
    for proc in tree:
        try:
            connections = proc.net_connections(kind="tcp")
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        for conn in connections:
            if not conn.raddr:  # a listening socket: no traffic of its own
                if conn.status == psutil.CONN_LISTEN and not _is_loopback(conn.laddr.ip):
                    listening_wide.append((names[proc.pid], conn.laddr))
                continue
            checked += 1
            if not (_is_loopback(conn.laddr.ip) and _is_loopback(conn.raddr.ip)):
                outside.append((names[proc.pid], conn.laddr, conn.raddr, conn.status))
    assert checked > 20, "expected Ray's and Milvus' connections to be visible"
    assert outside == []
    # Known, not configurable: Milvus 2.3.5's component ports and each Serve 2.60 replica's internal gRPC
    # server ("[::]:0", hard-coded) listen on all interfaces. Nothing else may (dashboard, proxy, GCS...).
    unexpected = [
        entry
        for entry in listening_wide
        if entry[0] != "milvus" and not entry[0].startswith("ray::ServeReplica")
    ]
    assert unexpected == []


def test_milvus_down_is_503_with_retry_after(client: httpx.Client, serve_app: ServeApp, photo) -> None:
    """Runs last in this file: stops the app's Milvus server (SIGTERM + wait), then asks the API."""
    serve_app.milvus.stop()
    response = client.post(
        f"/v1/galleries/{new_gallery()}/identify", files={"image": jpeg("o.jpg", photo(OBAMA))}
    )
    error = assert_error(response, 503, "gallery_unavailable")
    assert "127.0.0.1" not in error["message"]  # internal addresses stay in the logs
    assert int(response.headers["retry-after"]) > 0
    ready = client.get("/ready")
    assert ready.status_code == 503
    assert ready.json()["checks"]["milvus"]["status"] == "unavailable"
    assert ready.json()["checks"]["detector"]["status"] == "ok"
    assert "retry-after" in ready.headers
    assert client.get("/health").status_code == 200  # liveness: nothing to restart
    # Endpoints that need no gallery keep working.
    assert client.post("/v1/faces/detect", files={"image": jpeg("o.jpg", photo(OBAMA))}).status_code == 200
