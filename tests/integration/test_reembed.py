"""A model change re-embeds, end to end with real stores (embedded PostgreSQL, a Milvus server), real faces
and the job as an operator runs it (``python -m app.jobs re-embed``).

Three students are enrolled under a "legacy" model (the installed SFace fed mirrored crops: another vector
space, with a model id of its own); one of them has no crops kept (enrolled before crops were kept). The
job re-embeds the other two into the installed SFace's collection from their sealed crops and flags the
third ``needs_reenrollment``, leaving the legacy model whole (the old version still serves); the new model
recognises the two and nobody else. After the rollout, ``--retire-old`` deletes the two's legacy templates
and vectors (the flagged student keeps theirs), and running it again changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select, update
from sqlmodel import Session

from app.core.enums import EnrollmentStatus
from app.db.tables import AuditEvent, FaceTemplate, Student
from app.services.biometrics.stores import gallery_of
from models.detectors import load_detector
from models.embedder import SfaceEmbedder
from models.gallery import FaceGallery
from tests.integration.job_site import Site, enrolled_school, job, open_site
from tests.integration.milvus_server import LoopbackMilvus
from tests.school_faces import load_photos
from tests.serving import serving_face_service, serving_pipeline

pytestmark = [pytest.mark.integration, pytest.mark.anyio]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class LegacyEmbedder:
    """The model a school enrolled with before the upgrade: real vectors, in a space of their own."""

    model_id = "legacy-sface-mirrored"

    def __init__(self, current: SfaceEmbedder) -> None:
        self._current = current
        self.dim = current.dim

    def embed(self, crops: np.ndarray) -> np.ndarray:
        return self._current.embed(np.ascontiguousarray(crops[:, :, ::-1]))


@pytest.fixture(scope="module")
def current() -> SfaceEmbedder:
    return SfaceEmbedder.load()


@pytest.fixture(scope="module")
def site(
    tmp_path_factory: pytest.TempPathFactory, milvus_server: LoopbackMilvus, current: SfaceEmbedder
) -> Iterator[Site]:
    legacy = LegacyEmbedder(current)
    with open_site(tmp_path_factory.mktemp("reembed-site"), milvus_server.uri, legacy) as opened:
        yield opened


async def test_a_model_change_re_embeds_from_the_sealed_crops(
    site: Site, current: SfaceEmbedder, faces_dir: Path
) -> None:
    photos = load_photos(faces_dir)
    school_id, _, students = await enrolled_school(site, "Upgrade Academy", photos)
    with Session(site.engine) as db:  # enrolled before crops were kept
        db.execute(
            update(FaceTemplate)
            .where(FaceTemplate.student_id == students["wolfowitz"])
            .values(crop_sealed=None)
        )
        db.commit()
    new_gallery = FaceGallery(site.settings.milvus_uri, current.model_id, current.dim)
    new_gallery.drop()  # the server is shared: the new model's collection starts empty here
    recognise = serving_face_service(
        serving_pipeline(load_detector("fast", site.settings.model_cache), current, new_gallery),
        site.settings,
    )

    planned = job(site, "re-embed", "--dry-run")
    assert (planned["students"], planned["reembedded"], planned["needs_reenrollment"]) == (3, 2, 1)
    assert (planned["templates"], planned["complete"]) == (6, True)
    assert new_gallery.count(gallery_of(school_id)) == 0  # the dry run changed nothing

    done = job(site, "re-embed")
    assert (done["model"], done["reembedded"], done["templates"], done["needs_reenrollment"]) == (
        current.model_id,
        2,
        6,
        1,
    )
    assert done["complete"] and done["retired"] == {}
    assert site.gallery.count(gallery_of(school_id)) == 9  # the old model still serves everyone

    new_gallery.close()  # the job created the collection: reconnect to load it
    for key in ("lagos", "lopez"):
        (found,) = await recognise.identify(gallery_of(school_id), photos[key][3])
        assert found.match.label == str(students[key])
    (unknown,) = await recognise.identify(gallery_of(school_id), photos["wolfowitz"][3])
    assert unknown.match.label is None
    with Session(site.engine) as db:
        flagged = db.get(Student, students["wolfowitz"])
        assert flagged is not None and flagged.enrollment_status == EnrollmentStatus.needs_reenrollment
        events = db.scalars(
            select(AuditEvent).where(AuditEvent.action == "enrollment.needs_reenrollment")
        ).all()
        assert len(events) == 1

    retired = job(site, "re-embed", "--retire-old")
    assert (retired["already"], retired["reembedded"], retired["needs_reenrollment"]) == (2, 0, 1)
    assert retired["retired"] == {LegacyEmbedder.model_id: 6}
    assert site.gallery.count(gallery_of(school_id)) == 3  # only the flagged student's legacy vectors
    with Session(site.engine) as db:
        query = select(FaceTemplate.model_id, func.count()).group_by(FaceTemplate.model_id)
        assert dict(db.execute(query).all()) == {current.model_id: 6, LegacyEmbedder.model_id: 3}
    again = job(site, "re-embed", "--retire-old")
    assert (again["reembedded"], again["templates"], again["retired"]) == (0, 0, {})
    new_gallery.close()
