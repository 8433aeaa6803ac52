"""The lesson cache on real PostgreSQL and Redis: a room's lessons and rosters are read once, and every
committed change to them (a member removed, a lesson closed) is seen by the very next check-in."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from sqlalchemy import Engine, delete, event

from app.core.config import Settings
from app.core.errors import Conflict
from app.core.redis import make_redis
from app.db.session import transaction
from app.db.tables import ClassMember, Lesson
from app.services.biometrics.stores import BiometricStores
from app.services.checkin import lesson_cache
from app.services.checkin.challenges import ChallengeLedger
from app.services.checkin.service import CheckinRequest, CheckinService
from app.services.enrollment.service import EnrollmentService
from tests.domain.school.conftest import World, grant
from tests.school_faces import PEOPLE

pytestmark = [pytest.mark.anyio]


@pytest.fixture
def tracked(stores: BiometricStores, redis_url: str) -> Iterator[BiometricStores]:
    """The stores on an engine that raises the cache's version on changes, as the container builds it."""
    client = make_redis(redis_url)
    yield replace(stores, engine=lesson_cache.track_changes(stores.engine, client))
    client.close()


def lesson_queries(engine: Engine) -> list[str]:
    """Every statement that reads the lesson table from now on (appended as they run)."""
    seen: list[str] = []

    def note(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if "FROM lesson" in statement:
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    return seen


async def test_lessons_are_read_once_and_changes_are_seen_at_once(
    world: World,
    tracked: BiometricStores,
    settings: Settings,
    photos: dict[str, list[bytes]],
) -> None:
    service = EnrollmentService(tracked, tracked.face_service, settings.enrollment)
    for student, key in zip(world.students, PEOPLE, strict=True):
        grant(world, settings, student)
        await service.enroll(world.admin, student.id, photos[key][:3], None)
    lesson = world.lesson()
    single_frame = settings.model_copy(update={"liveness_mode": "off"}).checkin
    ledger = ChallengeLedger(tracked.cache._client, 30)
    checkin = CheckinService(
        tracked, tracked.face_service, single_frame, ledger, lessons=lesson_cache.LessonCache(60)
    )
    queries = lesson_queries(tracked.engine)
    names = list(PEOPLE)

    first = await checkin.check_in(world.kiosk, CheckinRequest(photos[names[0]][3]), None)
    again = await checkin.check_in(world.kiosk, CheckinRequest(photos[names[0]][3]), None)
    assert [face.outcome for face in first.faces + again.faces] == ["recorded", "already_recorded"]
    assert len([q for q in queries if "class_member" not in q]) == 1  # the second check-in read nothing

    with transaction(tracked.engine) as session:  # a teacher takes the second student off the class
        session.execute(delete(ClassMember).where(ClassMember.student_id == world.students[1].id))
    moved = await checkin.check_in(world.kiosk, CheckinRequest(photos[names[1]][3]), None)
    assert [face.outcome for face in moved.faces] == ["not_in_lesson"]

    with transaction(tracked.engine) as session:  # the lesson is closed early
        row = session.get(Lesson, lesson.id)
        assert row is not None
        row.closed_at = row.starts_at
    with pytest.raises(Conflict) as closed:
        await checkin.check_in(world.kiosk, CheckinRequest(photos[names[2]][3]), None)
    assert closed.value.code == "no_open_lesson"
