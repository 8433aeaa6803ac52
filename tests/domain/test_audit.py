"""The audit trail on real PostgreSQL: one hash chain per school under concurrency, each verified alone and
never waiting for another school's writes, tampering found, events from before per-school chains still
verified, students pseudonymised, each school's admins reading only their own events."""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
import uuid

import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy import text
from sqlmodel import col, select

from app.db.session import transaction
from app.db.tables import AUDIT_CHAIN_GLOBAL, AuditEvent
from app.services.privacy import audit
from tests.domain.authkit import bearer


@pytest.fixture
def trail(auth_services, auth_world):
    """Three events of the world's admin (one about a student), after the world's own setup events."""
    admin = auth_world.principal(auth_world.admin)
    student_id = auth_world.student.id
    with transaction(auth_services.auth.engine) as session:
        audit.record(session, admin, "student.update", f"student:{student_id}", "ok", "req-a", field="name")
        audit.record(
            session, admin, "class.add_students", "class:7", "ok", "req-b",
            student_ids=[student_id, str(student_id)], nested={"by_student_id": student_id},
        )  # fmt: skip
        audit.record(session, "system", "retention.run", None, "ok", None, deleted=0)
    return student_id


def all_events(engine, school_id: uuid.UUID | str | None = "all") -> list[AuditEvent]:
    """Every event in order, or one school's (``None``: the events of no school)."""
    query = select(AuditEvent).order_by(col(AuditEvent.seq))
    if school_id is None:
        query = query.where(col(AuditEvent.school_id).is_(None))
    elif school_id != "all":
        query = query.where(col(AuditEvent.school_id) == school_id)
    with transaction(engine) as session:
        return list(session.exec(query))


def verify(engine, school_id: uuid.UUID | None) -> audit.ChainReport:
    with transaction(engine) as session:
        return audit.verify_chain(session, school_id)


def test_each_school_has_its_own_chain_and_it_verifies(auth_services, auth_world, trail) -> None:
    engine = auth_services.auth.engine
    other = auth_world.principal(auth_world.other_admin)
    with transaction(engine) as session:
        audit.record(session, other, "user.update", "user:x", "ok", None)
    for school_id in (auth_world.school.id, auth_world.other_school.id, None):
        events = all_events(engine, school_id)
        assert events[0].prev_hash == audit.GENESIS_HASH
        assert all(later.prev_hash == earlier.hash for earlier, later in itertools.pairwise(events))
        report = verify(engine, school_id)
        assert report.ok and report.events == len(events) and report.head_hash == events[-1].hash
    assert verify(engine, auth_world.school.id).events < len(all_events(engine))  # not the global count


def test_tampering_in_one_school_leaves_the_other_schools_chain_intact(
    auth_services, auth_world, trail
) -> None:
    engine = auth_services.auth.engine
    other = auth_world.principal(auth_world.other_admin)
    with transaction(engine) as session:
        audit.record(session, other, "user.update", "user:x", "ok", None)
        audit.record(session, other, "user.update", "user:y", "ok", None)
    victim = all_events(engine, auth_world.other_school.id)[-2]
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_event WHERE seq = :seq"), {"seq": victim.seq})
    broken = verify(engine, auth_world.other_school.id)
    assert not broken.ok and "link" in (broken.problem or "")
    assert verify(engine, auth_world.school.id).ok and verify(engine, None).ok


def test_a_school_appends_while_another_school_holds_its_chain(auth_services, auth_world) -> None:
    """The lock is the school's: an open transaction of one school never holds up another school's event,
    and does hold up its own school's next one (which would otherwise fork the chain)."""
    engine = auth_services.auth.engine
    admin, other = (auth_world.principal(user) for user in (auth_world.admin, auth_world.other_admin))
    with transaction(engine) as holding:
        audit.record(holding, admin, "hold.chain", None, "ok", None)  # holds its school's lock till commit
        with transaction(engine) as session:
            session.execute(text("SET LOCAL lock_timeout = '3s'"))
            audit.record(session, other, "other.school", None, "ok", None)
        with pytest.raises(sa_exc.OperationalError, match="lock timeout"), transaction(engine) as session:
            session.execute(text("SET LOCAL lock_timeout = '200ms'"))
            audit.record(session, admin, "same.school", None, "ok", None)
    assert verify(engine, auth_world.school.id).ok and verify(engine, auth_world.other_school.id).ok


def test_events_from_before_per_school_chains_still_verify(auth_services, auth_world, trail) -> None:
    """Events of the one global line (written before migration 0010) are checked against that line; a
    school's first per-school event links to its last such event."""
    engine = auth_services.auth.engine
    with engine.begin() as connection:  # what the migration leaves: everything so far on one line
        connection.execute(text("UPDATE audit_event SET chain = :chain"), {"chain": AUDIT_CHAIN_GLOBAL})
        rows = connection.execute(text("SELECT seq FROM audit_event ORDER BY seq")).scalars().all()
    keys = audit.keys_of(engine)
    previous = audit.GENESIS_HASH
    with transaction(engine) as session:
        for seq in rows:
            event = session.get(AuditEvent, seq)
            assert event is not None
            event.prev_hash = previous
            event.hash = audit.chain_hash(keys.chain, event)
            previous = event.hash
    legacy = all_events(engine, auth_world.school.id)
    with transaction(engine) as session:
        audit.record(session, auth_world.principal(auth_world.admin), "after.migration", None, "ok", None)
    assert all_events(engine, auth_world.school.id)[-1].prev_hash == legacy[-1].hash
    for school_id in (auth_world.school.id, auth_world.other_school.id, None):
        assert verify(engine, school_id).ok, school_id
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_event WHERE seq = :seq"), {"seq": legacy[-2].seq})
    assert verify(engine, auth_world.school.id).first_broken_seq == legacy[-1].seq


def test_student_ids_never_appear_in_clear(auth_services, auth_world, trail) -> None:
    student_id = trail
    expected = audit.pseudonym(auth_services.auth.engine, student_id)
    events = all_events(auth_services.auth.engine)
    assert str(student_id) not in json.dumps([event.model_dump(mode="json") for event in events])
    update, members = events[-3], events[-2]
    assert update.target == expected and update.school_id == auth_world.school.id
    assert members.details["student_ids"] == [expected, expected]
    assert members.details["nested"] == {"by_student_id": expected}
    # one student, one pseudonym
    assert audit.pseudonym(auth_services.auth.engine, str(student_id).upper()) == expected


@pytest.mark.parametrize(
    ("statement", "problem"),
    [
        ('UPDATE audit_event SET details = \'{"field": "grade"}\' WHERE seq = :seq', "content"),
        ("UPDATE audit_event SET result = 'denied' WHERE seq = :seq", "content"),
        ("UPDATE audit_event SET at = at - interval '1 day' WHERE seq = :seq", "content"),
        ("DELETE FROM audit_event WHERE seq = :seq", "link"),
    ],
)
def test_tampering_is_found_where_it_happened(auth_services, trail, statement: str, problem: str) -> None:
    engine = auth_services.auth.engine
    victim = all_events(engine)[-3]  # the school's student.update, followed by its class.add_students
    with engine.begin() as connection:
        connection.execute(text(statement), {"seq": victim.seq})
    report = verify(engine, victim.school_id)
    assert not report.ok and problem in (report.problem or "")
    assert report.first_broken_seq == (victim.seq if "UPDATE" in statement else victim.seq + 1)


def test_recomputing_a_plain_hash_does_not_hide_an_edit(auth_services, trail) -> None:
    """Someone with database access but without the key cannot forge a consistent link."""
    engine = auth_services.auth.engine
    victim = all_events(engine)[-1]
    forged = hashlib.sha256(f"{victim.prev_hash}\nforged".encode()).hexdigest()
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE audit_event SET result = 'error', hash = :hash WHERE seq = :seq"),
            {"hash": forged, "seq": victim.seq},
        )
    assert verify(engine, victim.school_id).first_broken_seq == victim.seq


def test_concurrent_appends_keep_one_chain_per_school(auth_services, auth_world) -> None:
    engine = auth_services.auth.engine
    admin = auth_world.principal(auth_world.admin)
    errors: list[BaseException] = []

    def append(worker: int) -> None:
        try:
            for n in range(8):
                with transaction(engine) as session:
                    audit.record(session, admin, "load.test", f"item:{worker}-{n}", "ok", None)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=append, args=(worker,)) for worker in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    events = all_events(engine)
    assert sum(event.action == "load.test" for event in events) == 32
    school = all_events(engine, auth_world.school.id)
    assert len({event.prev_hash for event in school}) == len(school)  # nobody forked the chain
    assert [event.school_seq for event in school] == list(range(1, len(school) + 1))  # one number each
    assert verify(engine, auth_world.school.id).ok


def test_a_rolled_back_command_leaves_no_event(auth_services, auth_world) -> None:
    engine = auth_services.auth.engine
    before = len(all_events(engine))
    with pytest.raises(RuntimeError), transaction(engine) as session:
        audit.record(session, auth_world.principal(auth_world.admin), "user.update", "user:x", "ok", None)
        raise RuntimeError("the command failed after auditing")
    assert len(all_events(engine)) == before
    audit_ok_after = all_events(engine)
    with transaction(engine) as session:
        audit.record(session, "system", "after.rollback", None, "ok", None)
        assert audit.verify_chain(session, None).ok
        assert audit.verify_chain(session, auth_world.school.id).ok
    assert len(all_events(engine)) == len(audit_ok_after) + 1


def test_admins_read_their_own_school_only(auth_client, auth_services, auth_world, trail) -> None:
    other_principal = auth_world.principal(auth_world.other_admin)
    with transaction(auth_services.auth.engine) as session:
        audit.record(session, other_principal, "user.update", f"user:{uuid.uuid4()}", "ok", None)
    response = auth_client.get("/v1/audit", headers=bearer(auth_services, auth_world.admin))
    assert response.status_code == 200
    items = response.json()["items"]
    assert items and {item["school_id"] for item in items} == {str(auth_world.school.id)}
    assert [item["seq"] for item in items] == sorted((item["seq"] for item in items), reverse=True)
    about = auth_client.get(
        "/v1/audit", params={"student_id": str(trail)}, headers=bearer(auth_services, auth_world.admin)
    )
    assert [item["action"] for item in about.json()["items"]] == ["student.update"]
    other = auth_client.get("/v1/audit", headers=bearer(auth_services, auth_world.other_admin)).json()[
        "items"
    ]
    assert [item["action"] for item in other] == ["user.update"]
    page = auth_client.get("/v1/audit", params={"limit": 2}, headers=bearer(auth_services, auth_world.admin))
    assert (
        len(page.json()["items"]) == 2 and page.json()["next_before_seq"] == page.json()["items"][-1]["seq"]
    )
    status = auth_client.get("/v1/audit/verify", headers=bearer(auth_services, auth_world.admin)).json()
    own = all_events(auth_services.auth.engine, auth_world.school.id)
    assert status["ok"] is True and status["events"] == len(own)  # its own count, not the installation's
    assert status["head_hash"] == own[-1].hash
