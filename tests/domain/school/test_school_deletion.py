"""The operator deletes a school: every student erased as a GDPR erasure erases one (tombstone each), every
other row of the school gone, its Redis keys and kiosk keys gone, its faces no longer found; a second
school untouched; the receipt counts it and the audit chain keeps it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import redis
from sqlalchemy import Engine, func, select

from app.core.config import Settings
from app.core.enums import ErasureState
from app.core.redis import make_redis
from app.db.session import transaction
from app.db.tables import AuditEvent, ErasureTombstone, KioskKey, School, Student
from app.schemas.kiosks import KioskKeyCreate
from app.services.biometrics.stores import BiometricStores, gallery_of
from app.services.identity.kiosks import KioskService
from app.services.operations import tenancy
from tests.domain.school.conftest import World, make_student
from tests.domain.school.privacy_support import make_subject, pg_mentions, redis_mentions

pytestmark = pytest.mark.anyio


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    made = make_redis(redis_url)
    yield made
    made.close()


async def test_deleting_a_school_erases_it_everywhere_and_leaves_the_others(
    world: World,
    settings: Settings,
    stores: BiometricStores,
    photos: dict[str, list[bytes]],
    client: redis.Redis,
    engine: Engine,
) -> None:
    subject = await make_subject(world, settings, stores, photos["lopez"][:3], client)
    kiosks = KioskService(settings.passwords, 60, engine, client)
    with transaction(engine) as session:
        issued = kiosks.issue(session, world.admin, KioskKeyCreate(room="R1", name="Door"), None)
    kiosks.authenticate(issued.api_key)  # cached in Redis under its prefix
    with transaction(engine) as session:
        other = School(name=f"Other {uuid.uuid4().hex[:6]}")
        session.add(other)
        session.flush()
        other_id = other.id
    neighbour = make_student(world.db, world.db.get(School, other_id), "neighbour")
    school_id, name = world.school.id, world.school.name
    students = world.db.scalar(select(func.count()).where(Student.school_id == school_id))
    assert (await stores.face_service.identify(gallery_of(school_id), photos["lopez"][3]))[0].match.label
    world.db.expire_all()

    receipt = await tenancy.delete_school(stores, client, kiosks, name, confirm=name, compaction_wait_s=0)

    assert receipt["students_erased"] == students and len(receipt["erasure_receipts"]) == students
    removed = receipt["removed"]["postgresql"]
    assert removed["school"] == 1 and removed["school_class"] == 2 and removed["kiosk_key"] == 1
    assert removed["app_user"] >= 3  # admin and teachers (the student accounts went with their students)
    assert removed["lesson"] >= 1
    # Nothing of the school's people is left anywhere: PostgreSQL, Redis, the index.
    assert pg_mentions(engine, subject.needles) == []
    assert redis_mentions(client, [*subject.needles, str(school_id), issued.prefix]) == []
    (found,) = await stores.face_service.identify(gallery_of(school_id), photos["lopez"][3])
    assert found.match.label is None
    with transaction(engine) as session:
        assert session.get(School, school_id) is None
        for table in (Student, KioskKey):
            assert session.scalar(select(func.count()).where(table.school_id == school_id)) == 0
        tombstones = session.scalars(select(ErasureTombstone).where(ErasureTombstone.school_id == school_id))
        assert {t.state for t in tombstones} <= {ErasureState.erased, ErasureState.completed}
        assert session.scalar(select(func.count()).where(ErasureTombstone.school_id == school_id)) == students
        event = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "school.delete", AuditEvent.school_id == school_id)
        ).one()
        # The other school and its student are untouched.
        assert session.get(School, other_id) is not None and session.get(Student, neighbour.id) is not None
    assert event.actor == "operator" and event.details["students_erased"] == students
    with pytest.raises(Exception) as caught:
        kiosks.authenticate(issued.api_key)
    assert getattr(caught.value, "code", "") == "invalid_api_key"
