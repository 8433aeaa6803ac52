"""Erasure and export through the running Serve application, over HTTP: the compaction request travels from
the Ingress through the Matcher deployment to the Milvus server, and the receipt says it completed. The
exported ZIP and then the erased student's absence are checked over the same API."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from app.db.session import make_engine
from app.db.tables import FaceTemplate
from models.embedder import SfaceEmbedder
from models.gallery import FaceGallery
from tests.integration.conftest import ServeApp
from tests.integration.school_setup import SchoolAdmin, add_students, consent_and_enroll, ok
from tests.school_faces import load_photos

pytestmark = pytest.mark.integration


@pytest.fixture
def office(serve_app: ServeApp) -> Iterator[httpx.Client]:
    school = SchoolAdmin(serve_app.settings, "Erasure Academy")
    try:
        with httpx.Client(base_url=serve_app.base_url, headers=school.headers(), timeout=120) as client:
            yield client
    finally:
        school.close()


def test_export_then_erase_over_serve(serve_app: ServeApp, office: httpx.Client, faces_dir: Path) -> None:
    photos = load_photos(faces_dir)
    student = add_students(office, "ERS", ["lopez"])["lopez"]
    enrolled = consent_and_enroll(office, student["id"], photos["lopez"][:3])
    gallery = FaceGallery(serve_app.milvus.uri, enrolled["model"], SfaceEmbedder.dim)
    assert gallery.delete(student["school_id"], "not-a-student") == 0  # connected; the collection exists

    exported = office.get(f"/v1/students/{student['id']}/export", params={"purpose": "access request"})
    assert exported.status_code == 200, exported.text
    with zipfile.ZipFile(io.BytesIO(exported.content)) as archive:
        document = json.loads(archive.read("student.json"))
    assert document["biometrics"]["templates_stored"] == 3

    receipt = ok(office.post(f"/v1/students/{student['id']}/erase"))
    assert receipt["removed"]["milvus"]["vectors"] == 3
    # The compaction finishes within erase_compaction_wait_s on a quiet machine; on a loaded one it may still
    # be pending, which the receipt says (the retention job finishes it): the vectors are deleted either way.
    outcome = (receipt["milvus_compaction"], receipt["state"])
    assert outcome in {("completed", "completed"), ("pending", "erased")}
    assert office.get(f"/v1/students/{student['id']}").status_code == 404
    assert gallery.delete(student["school_id"], student["id"]) == 0  # nothing of them left in the index
    gallery.close()
    engine = make_engine(serve_app.settings.database_url)
    try:
        with engine.connect() as connection:
            query = (
                select(func.count()).select_from(FaceTemplate).where(FaceTemplate.student_id == student["id"])
            )
            assert connection.execute(query).scalar_one() == 0
    finally:
        engine.dispose()
    log = ok(office.get("/v1/privacy/disclosures", params={"student_id": student["id"]}))
    assert [item["action"] for item in log["items"]] == ["export"]
    assert log["items"][0]["student_id"] is None  # pseudonymised by the erasure
