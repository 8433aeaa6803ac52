"""GDPR erasure: one operation removes the student from PostgreSQL, Redis and Milvus, keeps a tombstone with
no personal data, answers a receipt; the stores are searched afterwards for anything that names the student.
A store that is down erases nothing (503) and the retry finishes; repeating an erasure replays its receipt.
On Milvus Lite, where compaction does nothing, the retention job's rebuild makes the vectors physically gone.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import redis
from sqlalchemy import Engine, func, select

from app.core.config import Settings
from app.core.enums import ErasureState, Role
from app.core.errors import Forbidden, NotFound, Unavailable
from app.core.redis import make_redis
from app.db.tables import AuditEvent, DisclosureRecord, ErasureTombstone, FaceTemplate, Student
from app.services.biometrics.face_index import FaceIndex
from app.services.biometrics.in_process import InProcessPipeline
from app.services.biometrics.job_index import IndexPipeline, rebuild_index
from app.services.biometrics.stores import BiometricStores, TemplateCipher, gallery_of
from app.services.checkin.cache import CheckinCache
from app.services.identity.principal import Principal
from app.services.privacy import erasure, retention
from models.detectors import load_detector
from models.embedder import SfaceEmbedder
from models.gallery import FaceGallery, GalleryUnavailableError
from tests.domain.school.conftest import World
from tests.domain.school.privacy_support import (
    Subject,
    lite_labels,
    make_subject,
    pg_mentions,
    redis_mentions,
)
from tests.serving import StoresWithFaces, serving_face_service, serving_pipeline

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def models(settings: Settings) -> tuple[object, SfaceEmbedder]:
    return load_detector("fast", settings.model_cache), SfaceEmbedder.load(settings.model_cache)


@pytest.fixture
def lite(tmp_path: Path, models: tuple[object, SfaceEmbedder]) -> Iterator[FaceGallery]:
    """A Milvus Lite file of this test's own: its files are inspected, and a rebuild drops it."""
    embedder = models[1]
    gallery = FaceGallery(str(tmp_path / "faces.db"), embedder.model_id, embedder.dim)
    yield gallery
    gallery.close()


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    made = make_redis(redis_url)
    yield made
    made.close()


@pytest.fixture
def own_pipeline(lite: FaceGallery, models: tuple[object, SfaceEmbedder]) -> InProcessPipeline:
    detector, embedder = models
    return serving_pipeline(detector, embedder, lite)  # type: ignore[arg-type]


@pytest.fixture
def own_stores(
    engine: Engine, settings: Settings, own_pipeline: InProcessPipeline, client: redis.Redis
) -> StoresWithFaces:
    faces = serving_face_service(own_pipeline, settings)
    keyring = settings.keyring()
    cache = CheckinCache(client, settings.idempotency_ttl_s)
    return StoresWithFaces(engine, faces.index, TemplateCipher(keyring), cache, faces)


@pytest.fixture
async def subject(
    world: World,
    settings: Settings,
    own_stores: BiometricStores,
    photos: dict[str, list[bytes]],
    client: redis.Redis,
) -> Subject:
    # Another student enrolled too: an erasure must leave them recognisable.
    await _enroll_other(world, settings, own_stores, photos)
    return await make_subject(world, settings, own_stores, photos["lopez"][:3], client)


async def _enroll_other(
    world: World, settings: Settings, stores: BiometricStores, photos: dict[str, list[bytes]]
):
    from app.schemas.consent import ConsentCreate
    from app.services.enrollment.service import EnrollmentService
    from app.services.privacy import consent

    other = world.students[0]  # "lagos"
    consent.grant_consent(
        world.db, world.admin, other.id, ConsentCreate(granted_by_name="G", relation="guardian"),
        current_version=settings.consent_version, age_of_majority=settings.age_of_majority, request_id=None,
    )  # fmt: skip
    world.db.commit()
    await EnrollmentService(stores, stores.face_service, settings.enrollment).enroll(
        world.admin, other.id, photos["lagos"][:3], None
    )


async def _identify(stores: BiometricStores, world: World, photo: bytes) -> str | None:
    (found,) = await stores.face_service.identify(gallery_of(world.school.id), photo)
    return found.match.label


async def test_erasure_leaves_nothing_of_the_student_in_any_store(
    world: World,
    subject: Subject,
    own_stores: BiometricStores,
    client: redis.Redis,
    lite: FaceGallery,
    photos: dict[str, list[bytes]],
    settings: Settings,
    engine: Engine,
) -> None:
    # Before: the searches find the student everywhere (they would not pass vacuously).
    assert pg_mentions(engine, subject.needles)
    assert redis_mentions(client, subject.needles)
    assert await _identify(own_stores, world, photos["lopez"][3]) == str(subject.id)
    lite.compact(0)  # flush: the vectors are now in Lite's data files, which its compaction will not rewrite
    assert str(subject.id) in lite_labels(lite.uri)

    receipt = await erasure.erase_student(
        own_stores, client, world.admin, subject.id, "req-erase", compaction_wait_s=1
    )

    removed = receipt.removed
    assert removed["postgresql"]["student"] == 1
    assert removed["postgresql"]["face_template"] == 3
    assert removed["postgresql"]["attendance"] == 1
    assert removed["postgresql"]["attendance_change"] == 1
    assert removed["postgresql"]["attendance_archive"] == 1
    assert removed["postgresql"]["checkin_code"] == 1
    assert removed["postgresql"]["class_member"] == 1
    assert removed["postgresql"]["consent"] == 1
    assert removed["postgresql"]["notification_contact"] == 1
    assert removed["postgresql"]["app_user"] == 1
    assert removed["postgresql"]["disclosure_log (pseudonymised)"] == 1
    assert removed["redis"]["checkin_answers"] == 1
    assert removed["redis"]["sign_in_token_families"] == 1
    assert removed["milvus"]["vectors"] == 3
    assert receipt.subject.startswith("student:") and subject.needles[0] not in receipt.model_dump_json()

    # Nothing left that names the student, in any table, any Redis key or value, or the Milvus index.
    assert pg_mentions(engine, subject.needles) == []
    assert redis_mentions(client, subject.needles) == []
    assert erasure.student_rows(world.db, subject.id) == {}
    assert await _identify(own_stores, world, photos["lopez"][3]) is None
    assert lite.delete(gallery_of(world.school.id), str(subject.id)) == 0
    # The proof that remains: a tombstone (pseudonym, school, actor, time), the pseudonymised log, the audit.
    tombstone = world.db.get(ErasureTombstone, receipt.receipt_id)
    assert tombstone is not None and tombstone.subject == receipt.subject.removeprefix("student:")
    (entry,) = world.db.scalars(select(DisclosureRecord))
    assert entry.student_id is None and entry.subject == tombstone.subject
    event = world.db.scalars(select(AuditEvent).where(AuditEvent.action == "student.erase")).one()
    assert event.target == receipt.subject and event.details["vectors_deleted"] == 3
    # The other student is untouched.
    assert await _identify(own_stores, world, photos["lagos"][3]) == str(world.students[0].id)

    # Milvus Lite: logically gone, physically still in a data file until the index is rebuilt.
    assert (receipt.state, receipt.milvus_compaction) == (ErasureState.erased, "needs_rebuild")
    assert str(subject.id) in lite_labels(lite.uri)
    index = IndexPipeline(lite.uri, {lite.model_id: lite.dim})

    class Rebuild(retention.IndexMaintenance):
        async def rebuild(self) -> None:
            lite.close()  # one client per Lite file in this process: the job's takes over
            await rebuild_index(engine, index, own_stores.cipher)

    report = await retention.run(engine, settings.retention, stores=own_stores, index=Rebuild())
    index.close()
    assert (report.erasures_compacted, report.milvus, report.errors) == (1, "completed", [])
    assert str(subject.id) not in lite_labels(lite.uri)
    assert str(world.students[0].id) in lite_labels(lite.uri)
    world.db.expire_all()
    assert world.db.get(ErasureTombstone, receipt.receipt_id).state is ErasureState.completed
    assert await _identify(own_stores, world, photos["lagos"][3]) == str(world.students[0].id)


async def test_erasing_again_replays_the_receipt(
    world: World, subject: Subject, own_stores: BiometricStores, client: redis.Redis
) -> None:
    first = await erasure.erase_student(
        own_stores, client, world.admin, subject.id, None, compaction_wait_s=0
    )
    again = await erasure.erase_student(
        own_stores, client, world.admin, subject.id, None, compaction_wait_s=0
    )
    assert again.replayed and not first.replayed
    assert again.receipt_id == first.receipt_id and again.removed == first.removed
    assert world.db.scalar(select(func.count()).select_from(ErasureTombstone)) == 1
    # another school's admin learns nothing: not found, as for any id
    other_admin = Principal("user", uuid.uuid4(), uuid.uuid4(), Role.admin)
    with pytest.raises(NotFound):
        await erasure.erase_student(own_stores, client, other_admin, subject.id, None, compaction_wait_s=0)


async def test_only_admins_erase(
    world: World, subject: Subject, own_stores: BiometricStores, client: redis.Redis
):
    with pytest.raises(Forbidden):
        await erasure.erase_student(own_stores, client, world.teacher, subject.id, None, compaction_wait_s=0)


class _MilvusDown:
    """The real index, except that it is down for deletes (and so for compensation)."""

    def __init__(self, inner: object) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)

    async def delete(self, gallery: str, label: str) -> int:
        raise GalleryUnavailableError("Milvus is down (test)")


def _still_there(world: World, subject: Subject) -> None:
    world.db.expire_all()
    assert world.db.get(Student, subject.id) is not None
    count = select(func.count()).select_from(FaceTemplate).where(FaceTemplate.student_id == subject.id)
    assert world.db.scalar(count) == 3
    assert world.db.scalar(select(func.count()).select_from(ErasureTombstone)) == 0


async def test_a_store_down_erases_nothing_and_the_retry_finishes(
    world: World,
    subject: Subject,
    own_stores: StoresWithFaces,
    own_pipeline: InProcessPipeline,
    client: redis.Redis,
    settings: Settings,
    photos: dict[str, list[bytes]],
) -> None:
    milvus_down = replace(own_stores, index=FaceIndex(_MilvusDown(own_pipeline)))  # type: ignore[arg-type]
    with pytest.raises(Unavailable):
        await erasure.erase_student(milvus_down, client, world.admin, subject.id, None, compaction_wait_s=0)
    _still_there(world, subject)
    assert await _identify(own_stores, world, photos["lopez"][3]) == str(subject.id)

    dead = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2, decode_responses=True)
    redis_down = replace(own_stores, cache=CheckinCache(dead, settings.idempotency_ttl_s))
    with pytest.raises(redis.ConnectionError):  # answered 503 by the app's error handlers
        await erasure.erase_student(redis_down, dead, world.admin, subject.id, None, compaction_wait_s=0)
    _still_there(world, subject)
    assert await _identify(own_stores, world, photos["lopez"][3]) == str(subject.id)

    receipt = await erasure.erase_student(
        own_stores, client, world.admin, subject.id, None, compaction_wait_s=0
    )
    assert receipt.removed["milvus"]["vectors"] == 3
    assert world.db.scalar(select(func.count()).select_from(Student).where(Student.id == subject.id)) == 0
    assert await _identify(own_stores, world, photos["lopez"][3]) is None


def test_erase_over_http(auth_client, auth_services, auth_world) -> None:
    from tests.domain.authkit import bearer

    student = auth_world.student
    as_teacher = auth_client.post(
        f"/v1/students/{student.id}/erase", headers=bearer(auth_services, auth_world.teacher)
    )
    assert as_teacher.status_code == 403
    headers = bearer(auth_services, auth_world.admin)
    erased = auth_client.post(f"/v1/students/{student.id}/erase", headers=headers)
    assert erased.status_code == 200, erased.text
    receipt = erased.json()
    assert receipt["removed"]["postgresql"]["student"] == 1
    assert receipt["removed"]["postgresql"]["app_user"] == 1  # the student's own sign-in account
    assert receipt["state"] == "completed"  # no vector store behind this app: nothing to compact
    assert auth_client.get(f"/v1/students/{student.id}", headers=headers).status_code == 404
    again = auth_client.post(f"/v1/students/{student.id}/erase", headers=headers).json()
    assert again["replayed"] and again["receipt_id"] == receipt["receipt_id"]
    listed = auth_client.get("/v1/privacy/erasures", headers=headers).json()
    assert [item["receipt_id"] for item in listed] == [receipt["receipt_id"]]
    one = auth_client.get(f"/v1/privacy/erasures/{receipt['receipt_id']}", headers=headers)
    assert one.json()["subject"] == receipt["subject"]
    other = bearer(auth_services, auth_world.other_admin)
    assert auth_client.get(f"/v1/privacy/erasures/{receipt['receipt_id']}", headers=other).status_code == 404
