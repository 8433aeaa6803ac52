"""The audit trail on real PostgreSQL: one hash chain under concurrency, tampering found, students
pseudonymised, each school's admins reading only their own events."""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
import uuid

import pytest
from sqlalchemy import text
from sqlmodel import col, select

from app.db.session import transaction
from app.db.tables import AuditEvent
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


def all_events(engine) -> list[AuditEvent]:
    with transaction(engine) as session:
        return list(session.exec(select(AuditEvent).order_by(col(AuditEvent.seq))))


def test_the_chain_verifies_and_links_every_event(auth_services, trail) -> None:
    events = all_events(auth_services.auth.engine)
    assert events[0].prev_hash == audit.GENESIS_HASH
    assert all(later.prev_hash == earlier.hash for earlier, later in itertools.pairwise(events))
    with transaction(auth_services.auth.engine) as session:
        report = audit.verify_chain(session)
    assert report.ok and report.events == len(events) and report.head_hash == events[-1].hash


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
    victim = all_events(engine)[-3].seq
    with engine.begin() as connection:
        connection.execute(text(statement), {"seq": victim})
    with transaction(engine) as session:
        report = audit.verify_chain(session)
    assert not report.ok and problem in (report.problem or "")
    assert report.first_broken_seq == (victim if "UPDATE" in statement else victim + 1)


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
    with transaction(engine) as session:
        assert audit.verify_chain(session).first_broken_seq == victim.seq


def test_concurrent_appends_keep_one_chain(auth_services, auth_world) -> None:
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
    assert len({event.prev_hash for event in events}) == len(events)  # nobody forked the chain
    with transaction(engine) as session:
        assert audit.verify_chain(session).ok


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
        assert audit.verify_chain(session).ok
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
    assert status["ok"] is True and status["events"] >= 5
