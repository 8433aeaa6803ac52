"""Backup and restore, end to end with real stores: embedded PostgreSQL, a Milvus server, real faces and
models in process, and the jobs as operators run them (``python -m app.jobs`` in a subprocess).

enroll three students -> identify them -> backup -> erase one (Milvus compacted: the vectors are physically
gone from its segments) -> backup again -> wipe PostgreSQL and Milvus -> restore the first backup with the
second's ledger -> rebuild the index -> the two remaining students are recognised as before, and the one
erased after the first backup stays erased.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlmodel import Session

from app.db.tables import ErasureTombstone, Student
from app.services.operations.backup import wipe
from app.services.privacy import erasure
from tests.integration.job_site import Site, enrolled_school, identify, job, open_site
from tests.integration.milvus_server import LoopbackMilvus
from tests.school_faces import load_photos

pytestmark = [pytest.mark.integration, pytest.mark.anyio]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, milvus_server: LoopbackMilvus) -> Iterator[Site]:
    with open_site(tmp_path_factory.mktemp("backup-site"), milvus_server.uri) as opened:
        yield opened


async def test_backup_wipe_restore_rebuild_recognises_the_same_students(
    site: Site, faces_dir: Path, tmp_path: Path
) -> None:
    photos = load_photos(faces_dir)
    school_id, admin, students = await enrolled_school(site, "Restore High", photos)
    for key, student_id in students.items():
        assert await identify(site, school_id, photos[key][3]) == str(student_id)

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
        assert await identify(site, school_id, photos[key][3]) == str(students[key])
    assert await identify(site, school_id, photos["lopez"][3]) is None
    with Session(site.engine) as db:
        assert db.get(Student, students["lopez"]) is None
        tombstone = db.scalars(select(ErasureTombstone)).one()
        assert tombstone.id == receipt.receipt_id
