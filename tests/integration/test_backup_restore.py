"""Backup and restore, end to end with real stores: embedded PostgreSQL, a Milvus server, real faces and
models in process, and the jobs as operators run them (``python -m app.jobs`` in a subprocess).

enroll three students -> identify them -> backup -> erase one (Milvus compacted: the vectors are physically
gone from its segments) -> backup again -> wipe PostgreSQL and Milvus -> restore the first backup with the
second's ledger -> rebuild the index -> the two remaining students are recognised as before, and the one
erased after the first backup stays erased.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from sqlalchemy import Engine, select
from sqlmodel import Session

from app.core.config import Settings
from app.core.crypto import Keyring
from app.core.redis import make_redis
from app.db.migrate import upgrade_head
from app.db.session import make_engine
from app.db.tables import ClassMember, ErasureTombstone, Role, School, SchoolClass, Student, User
from app.schemas.consent import ConsentCreate
from app.services import audit, consent, erasure
from app.services.backup import wipe
from app.services.biometrics import BiometricStores, TemplateCipher, gallery_of
from app.services.checkin_cache import CheckinCache
from app.services.enrollment import EnrollmentService
from app.services.faces import FaceService, ImageLimits
from app.services.local import InProcessPipeline
from app.services.principal import Principal
from deployments.local_services import EmbeddedPostgres, EmbeddedRedis
from models.detectors import load_detector
from models.embedder import SfaceEmbedder
from models.gallery import FaceGallery
from tests.conftest import REPO_ROOT
from tests.domain.authkit import FAST_HASHING, TEST_SECRETS
from tests.integration.milvus_server import LoopbackMilvus
from tests.school_faces import PEOPLE, load_photos

pytestmark = [pytest.mark.integration, pytest.mark.anyio]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@dataclass
class Site:
    settings: Settings
    engine: Engine
    client: redis.Redis
    gallery: FaceGallery
    stores: BiometricStores


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, milvus_server: LoopbackMilvus) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("backup-site")
    with EmbeddedPostgres(root / "pg") as postgres, EmbeddedRedis(root / "redis") as redis_server:
        upgrade_head(postgres.url)
        settings = Settings(
            data_dir=root / "data",
            database_url=postgres.url,
            redis_url=redis_server.url,
            milvus_uri=milvus_server.uri,
            **FAST_HASHING,
            **TEST_SECRETS,
        )
        audit.configure(settings)
        embedder = SfaceEmbedder.load(settings.model_cache)
        gallery = FaceGallery(milvus_server.uri, embedder.model_id, embedder.dim)
        gallery.drop()  # a collection of this test's own (the server is shared with other modules)
        pipeline = InProcessPipeline(
            load_detector("fast", settings.model_cache), embedder, gallery, min_score=0.6
        )
        engine, client = make_engine(settings.database_url), make_redis(settings.redis_url)
        keyring = Keyring.from_text(settings.template_key.get_secret_value())
        stores = BiometricStores(
            engine,
            FaceService(pipeline, ImageLimits(settings.max_upload_bytes, settings.max_pixels)),
            TemplateCipher(keyring),
            CheckinCache(client, settings.idempotency_ttl_s),
        )
        try:
            yield Site(settings, engine, client, gallery, stores)
        finally:
            gallery.close()
            client.close()
            engine.dispose()


def job(site: Site, *args: str) -> dict:
    """``python -m app.jobs <args> --json`` as an operator runs it, configured by environment only."""
    settings = site.settings
    env = {
        **os.environ,
        "ROLLCALL_DATA_DIR": str(settings.data_dir),
        "ROLLCALL_DATABASE_URL": settings.database_url,
        "ROLLCALL_REDIS_URL": settings.redis_url,
        "ROLLCALL_MILVUS_URI": settings.milvus_uri,
        "ROLLCALL_SECRET_KEY": TEST_SECRETS["secret_key"],
        "ROLLCALL_TEMPLATE_KEY": TEST_SECRETS["template_key"],
        "ROLLCALL_ID_HASH_KEY": TEST_SECRETS["id_hash_key"],
    }
    done = subprocess.run(
        [sys.executable, "-m", "app.jobs", *args, "--json"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


async def identify(site: Site, school_id: uuid.UUID, photo: bytes) -> str | None:
    (found,) = await site.stores.faces.identify(gallery_of(school_id), photo)
    return found.match.label


async def test_backup_wipe_restore_rebuild_recognises_the_same_students(
    site: Site, faces_dir: Path, tmp_path: Path
) -> None:
    photos = load_photos(faces_dir)
    with Session(site.engine, expire_on_commit=False) as db:
        school = School(name="Restore High")
        db.add(school)
        db.flush()
        user = User(school_id=school.id, email="a@restore.example.org", full_name="A", role=Role.admin,
                    password_hash="x")  # fmt: skip
        klass = SchoolClass(school_id=school.id, code="9C", name="9C")
        db.add_all([user, klass])
        db.flush()
        students = {}
        for key in PEOPLE:
            student = Student(school_id=school.id, student_number=key, first_name=key, last_name="R",
                              display_name=key)  # fmt: skip
            db.add(student)
            db.flush()
            db.add(ClassMember(class_id=klass.id, student_id=student.id))
            students[key] = student.id
        db.commit()
    admin = Principal("user", user.id, school.id, Role.admin)
    enrollment = EnrollmentService(site.stores, site.settings)
    for key, student_id in students.items():
        with Session(site.engine) as db:
            consent.grant_consent(
                db, admin, student_id, ConsentCreate(granted_by_name="G", relation="guardian"),
                current_version=site.settings.consent_version, age_of_majority=18, request_id=None,
            )  # fmt: skip
            db.commit()
        await enrollment.enroll(admin, student_id, photos[key][:3], None)
    for key, student_id in students.items():
        assert await identify(site, school.id, photos[key][3]) == str(student_id)

    first = job(site, "backup", "--out", str(tmp_path / "rollcall-1.dump"))
    assert first["bytes"] > 0 and first["entries"] > 10 and first["erasures"] == 0
    assert (tmp_path / "rollcall-1.dump.sha256").read_text().startswith(first["sha256"])

    # Erased after the first backup. On a Milvus server the compaction is real: the segments that remain
    # hold only the other students' 6 vectors.
    receipt = await erasure.erase_student(
        site.stores, site.client, admin, students["lopez"], None, compaction_wait_s=60
    )
    assert (receipt.milvus_compaction, receipt.state.value) == ("completed", "completed")
    client = site.gallery._connect()
    def persisted_rows() -> int:
        return sum(segment.num_rows for segment in client.list_persistent_segments(site.gallery.collection))

    for _ in range(60):  # the segment list catches up with a finished compaction shortly after
        if persisted_rows() == 6:
            break
        await asyncio.sleep(0.5)
    assert persisted_rows() == 6
    second = job(site, "backup", "--out", str(tmp_path / "rollcall-2.dump"))
    assert second["erasures"] == 1

    # Disaster: both stores lost.
    wipe(site.engine)
    site.gallery.drop()
    ledger = tmp_path / "rollcall-2.dump.ledger.json"
    restored = job(site, "restore", str(tmp_path / "rollcall-1.dump"), "--yes", "--ledger", str(ledger))
    assert restored["sha256_verified"] and restored["erasures_reapplied"] == 1
    rebuilt = job(site, "rebuild-index")
    assert (
        rebuilt["consistent"] and rebuilt["models"] == {site.gallery.model_id: 6} and rebuilt["students"] == 2
    )

    site.gallery.close()  # reconnect: the collection was re-created by the job
    for key in ("lagos", "wolfowitz"):
        assert await identify(site, school.id, photos[key][3]) == str(students[key])
    assert await identify(site, school.id, photos["lopez"][3]) is None
    with Session(site.engine) as db:
        assert db.get(Student, students["lopez"]) is None
        tombstone = db.scalars(select(ErasureTombstone)).one()
        assert tombstone.id == receipt.receipt_id
