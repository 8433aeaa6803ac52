"""The school's liveness switch (an admin's setting at run time, audited, on by default): off, the kiosk is
told so by the challenge route and a single frame checks a student in, the answer and the record saying
liveness did not run; on again, the burst and its nonce are required again. No restart in between, and the
replica's lesson cache (which carries the switch) sees each change at once."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from sqlalchemy import Engine, select

from app.core.config import Settings
from app.core.errors import BadRequest, Conflict, Forbidden
from app.core.redis import make_redis
from app.db.session import transaction
from app.db.tables import Attendance, AuditEvent
from app.schemas.schools import SchoolUpdate
from app.services.biometrics.stores import BiometricStores
from app.services.checkin import lesson_cache
from app.services.checkin.service import CheckinRequest
from app.services.enrollment.service import EnrollmentService
from app.services.school import reports, schools
from tests.domain.school.conftest import World, grant, live_checkin

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("redis_url")]


@pytest.fixture
def tracked(stores: BiometricStores, redis_url: str) -> Iterator[BiometricStores]:
    """The stores on an engine that raises the lesson cache's version on changes, as the container's."""
    client = make_redis(redis_url)
    yield replace(stores, engine=lesson_cache.track_changes(stores.engine, client))
    client.close()


def _switch(world: World, engine: Engine, on: bool) -> None:
    with transaction(engine) as session:
        schools.update_school(session, world.admin, world.school.id, SchoolUpdate(liveness=on), "req-switch")


async def test_switching_liveness_off_and_on_at_run_time(
    world: World, settings: Settings, tracked: BiometricStores, photos: dict[str, list[bytes]]
) -> None:
    stores = tracked
    student = world.students[0]
    grant(world, settings, student)
    await EnrollmentService(stores, stores.face_service, settings.enrollment).enroll(
        world.admin, student.id, photos["lagos"][:3], None
    )
    world.lesson()
    # One service throughout, with a lesson cache: nothing is rebuilt or restarted.
    service = live_checkin(stores, settings, lessons=lesson_cache.LessonCache(60))
    assert world.school.liveness  # on by default
    assert (await service.challenge(world.kiosk, None)).nonce
    with pytest.raises(BadRequest) as caught:  # on: one frame without a challenge is refused
        await service.check_in(world.kiosk, CheckinRequest(photos["lagos"][3]), None)
    assert caught.value.code == "challenge_required"
    with pytest.raises(Forbidden):
        schools.update_school(world.db, world.teacher, world.school.id, SchoolUpdate(liveness=False), None)

    _switch(world, stores.engine, on=False)
    with pytest.raises(Conflict) as off:
        await service.challenge(world.kiosk, None)
    assert off.value.code == "liveness_off"  # what tells the kiosk to send one frame and show it is off
    answer = await service.check_in(world.kiosk, CheckinRequest(photos["lagos"][3]), None)
    assert (answer.recorded, answer.liveness.checked) == (1, False)
    world.db.expire_all()
    (record,) = world.db.scalars(select(Attendance))
    assert record.student_id == student.id and record.liveness_checked is False
    shown = {
        row.student_id: row for row in reports.lesson_report(world.db, world.teacher, record.lesson_id).rows
    }
    assert shown[student.id].liveness_checked is False  # what the lesson's report (and its export) says
    (event,) = world.db.scalars(select(AuditEvent).where(AuditEvent.action == "school.update"))
    assert (event.actor, event.details["fields"], event.details["liveness"]) == (
        world.admin.actor, ["liveness"], False,
    )  # fmt: skip
    checkin = world.db.scalars(select(AuditEvent).where(AuditEvent.action == "checkin.identify")).one()
    assert checkin.details["liveness"] is False

    _switch(world, stores.engine, on=True)
    assert (await service.challenge(world.kiosk, None)).nonce
    with pytest.raises(BadRequest):
        await service.check_in(world.kiosk, CheckinRequest(photos["lagos"][3]), None)
