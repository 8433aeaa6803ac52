"""The audit trail as a school sees it (issue 19): numbered in the school's own sequence (1, 2, ... without
gaps, paged and verified by it, never revealing the installation's count), with actors and targets named
within the school only: another school's ids stay ids, an erased student is only "erased student"."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlmodel import col, select

from app.db.session import transaction
from app.db.tables import AuditEvent, ErasureTombstone, Lesson, SchoolClass
from app.services.privacy import audit
from tests.domain.authkit import bearer


def numbers(engine, school_id: uuid.UUID | None) -> list[int | None]:
    query = select(AuditEvent.school_seq).order_by(col(AuditEvent.seq))
    query = query.where(
        col(AuditEvent.school_id).is_(None) if school_id is None else col(AuditEvent.school_id) == school_id
    )
    with transaction(engine) as session:
        return list(session.exec(query))


def test_each_school_numbers_its_own_events_without_gaps(auth_services, auth_world) -> None:
    engine = auth_services.auth.engine
    admin, other = (auth_world.principal(user) for user in (auth_world.admin, auth_world.other_admin))
    with transaction(engine) as session:
        audit.record(session, admin, "one", None)
        audit.record(session, other, "other.school", None)
        audit.record(session, "system", "no.school", None)
    with pytest.raises(RuntimeError), transaction(engine) as session:
        audit.record(session, admin, "rolled.back", None)
        raise RuntimeError("the command failed")
    with transaction(engine) as session:
        audit.record(session, admin, "two", None)
    for school in (auth_world.school, auth_world.other_school):
        own = numbers(engine, school.id)
        assert own == list(range(1, len(own) + 1))  # the rolled-back append gave its number back
    assert set(numbers(engine, None)) == {None}  # events of no school are shown to no school


def test_the_api_shows_pages_and_verifies_by_the_schools_numbers(
    auth_client, auth_services, auth_world
) -> None:
    engine = auth_services.auth.engine
    with transaction(engine) as session:  # many events elsewhere: none of them may show in North's numbers
        for n in range(5):
            audit.record(session, auth_world.principal(auth_world.other_admin), "busy.elsewhere", f"item:{n}")
        for n in range(3):
            audit.record(session, auth_world.principal(auth_world.admin), "page.me", f"item:{n}")
    admin = bearer(auth_services, auth_world.admin)
    everything = auth_client.get("/v1/audit", headers=admin, params={"limit": 500}).json()["items"]
    seqs = [item["seq"] for item in everything]
    assert seqs == list(range(len(everything), 0, -1))  # the school's own count, newest first
    first = auth_client.get("/v1/audit", headers=admin, params={"limit": 2}).json()
    assert first["next_before_seq"] == first["items"][-1]["seq"] == len(everything) - 1
    second = auth_client.get(
        "/v1/audit", headers=admin, params={"limit": 2, "before_seq": first["next_before_seq"]}
    ).json()
    assert [item["seq"] for item in first["items"] + second["items"]] == seqs[:4]
    status = auth_client.get("/v1/audit/verify", headers=admin).json()
    assert (status["ok"], status["events"]) == (True, len(everything))

    victim = everything[1]  # tampered with in the database: found, and named by North's number
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE audit_event SET result = 'denied' WHERE school_id = :school AND school_seq = :n"),
            {"school": auth_world.school.id, "n": victim["seq"]},
        )
    broken = auth_client.get("/v1/audit/verify", headers=admin).json()
    assert (broken["ok"], broken["first_broken_seq"]) == (False, victim["seq"])


def test_renumbering_is_found(auth_services, auth_world) -> None:
    """The hash does not cover the number, so the walk checks it: 1, 2, ... in chain order."""
    engine = auth_services.auth.engine
    with transaction(engine) as session:
        for n in range(3):
            audit.record(session, auth_world.principal(auth_world.admin), "renumber.me", f"item:{n}")
    with engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE audit_event SET school_seq = school_seq + 100 WHERE school_id = :school"
                " AND school_seq = (SELECT max(school_seq) FROM audit_event WHERE school_id = :school)"
            ),
            {"school": auth_world.school.id},
        )
    with transaction(engine) as session:
        report = audit.verify_chain(session, auth_world.school.id)
    assert not report.ok and "numbering" in (report.problem or "")
    assert report.first_broken_school_seq == report.events + 100


def test_actors_and_targets_are_named_within_the_school_only(auth_client, auth_services, auth_world) -> None:
    engine = auth_services.auth.engine
    admin = auth_world.principal(auth_world.admin)
    starts = datetime(2026, 11, 3, 4, 30, tzinfo=UTC)  # 23:30 on 2 November in New York
    with transaction(engine) as session:
        school = session.merge(auth_world.school)
        school.timezone = "America/New_York"
        klass = SchoolClass(school_id=school.id, code="7B", name="Maths", room="R101")
        session.add(klass)
        session.flush()
        lesson = Lesson(class_id=klass.id, starts_at=starts, ends_at=starts.replace(hour=5), room="R101")
        session.add(lesson)
        session.flush()
        erased = uuid.uuid4()
        session.add(
            ErasureTombstone(
                subject=audit.keys_of(session).ids.hash_id(erased),
                school_id=school.id,
                requested_by=admin.actor,
            )
        )
        session.flush()
        refs = {
            "student": f"student:{auth_world.student.id}",
            "erased": f"student:{erased}",
            "class": f"class:{klass.id}",
            "lesson": f"lesson:{lesson.id}",
            "kiosk": f"kiosk:{auth_world.kiosk.id}",
            "school": f"school:{school.id}",
            "teacher": f"user:{auth_world.teacher.id}",
            "foreign_user": f"user:{auth_world.other_admin.id}",
            "foreign_school": f"school:{auth_world.other_school.id}",
            "unknown": f"class:{uuid.uuid4()}",
            "not_an_id": "class:7",
        }
        for name, ref in refs.items():
            audit.record(session, admin, f"name.{name}", ref)
        audit.record(session, f"kiosk:{auth_world.kiosk.id}", "checkin.face", None, school_id=school.id)
    response = auth_client.get(
        "/v1/audit", headers=bearer(auth_services, auth_world.admin), params={"limit": 500}
    )
    shown = {item["action"]: item for item in response.json()["items"]}
    named = {name: shown[f"name.{name}"]["target_name"] for name in refs}
    assert named == {
        "student": "Ada",
        "erased": audit.ERASED_STUDENT,
        "class": "7B (Maths)",
        "lesson": "7B 2026-11-02 23:30",  # the school's local time, not UTC's 3 November
        "kiosk": "Door (R101)",
        "school": "North High",
        "teacher": "A teacher",
        "foreign_user": None,
        "foreign_school": None,
        "unknown": None,
        "not_an_id": None,
    }
    assert shown["name.student"]["target"].startswith("student:") and str(auth_world.student.id) not in str(
        shown
    )  # the name is shown; the id stays a pseudonym
    assert shown["name.school"]["actor_name"] == "A admin"
    assert shown["checkin.face"]["actor_name"] == "Door (R101)"
