"""Migrations: up and down on an empty database, the models match the schema, and down/up keeps data safe."""

from __future__ import annotations

import uuid

from alembic import command
from sqlalchemy import create_engine, text

from cluster.local.stores import EmbeddedPostgres
from tests.domain.conftest import alembic_config


def test_upgrade_downgrade_upgrade_on_an_empty_database(tmp_path):
    with EmbeddedPostgres(tmp_path / "pg") as server:
        config = alembic_config(server.url)
        command.upgrade(config, "heads")
        command.check(config)  # the SQLModel tables and the migrated schema agree
        command.downgrade(config, "base")
        command.upgrade(config, "heads")


def test_upgrade_is_a_no_op_on_a_populated_database(pg_url, clean_db):
    school = uuid.uuid4()
    with clean_db.begin() as connection:
        connection.execute(
            text("INSERT INTO school (id, name, timezone, created_at) VALUES (:id, 'A', 'UTC', now())"),
            {"id": school},
        )
    command.upgrade(alembic_config(pg_url), "heads")
    with clean_db.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM school")).scalar_one() == 1


def test_the_lesson_rename_carries_rows_and_the_stored_names(tmp_path):
    """0007 renames the class meeting (``class_session`` -> ``lesson``): rows stay, and the event kind and the
    contacts' topic that held the old word follow; a downgrade gives the old names back."""
    school, klass, lesson, contact = (uuid.uuid4() for _ in range(4))
    with EmbeddedPostgres(tmp_path / "pg") as server:
        config = alembic_config(server.url)
        command.upgrade(config, "0006_face_crops")
        engine = create_engine(server.url)
        with engine.begin() as db:
            db.execute(
                text("INSERT INTO school (id, name, timezone, created_at) VALUES (:id, 'A', 'UTC', now())"),
                {"id": school},
            )
            db.execute(
                text(
                    "INSERT INTO school_class (id, school_id, code, name, created_at)"
                    " VALUES (:id, :school, 'C1', 'C', now())"
                ),
                {"id": klass, "school": school},
            )
            db.execute(
                text(
                    "INSERT INTO class_session (id, class_id, starts_at, ends_at, grace_minutes)"
                    " VALUES (:id, :klass, now(), now() + interval '1 hour', 5)"
                ),
                {"id": lesson, "klass": klass},
            )
            db.execute(
                text(
                    "INSERT INTO notification_contact (id, school_id, name, language, channels, topics,"
                    " created_at) VALUES (:id, :school, 'Office', 'en', '[\"webhook\"]',"
                    ' \'["session", "absence"]\', now())'
                ),
                {"id": contact, "school": school},
            )
            db.execute(
                text(
                    "INSERT INTO notification_event (id, school_id, kind, dedupe_key, session_id, payload,"
                    " created_at) VALUES (:id, :school, 'session.closed', 'closed:x', :lesson, '{}', now())"
                ),
                {"id": uuid.uuid4(), "school": school, "lesson": lesson},
            )
        command.upgrade(config, "heads")
        with engine.connect() as db:
            found = db.execute(text("SELECT count(*) FROM lesson WHERE id = :id"), {"id": lesson})
            assert found.scalar_one() == 1
            kind, lesson_id = db.execute(text("SELECT kind, lesson_id FROM notification_event")).one()
            assert (kind, lesson_id) == ("lesson.closed", lesson)
            topics = db.execute(text("SELECT topics FROM notification_contact")).scalar_one()
            assert topics == ["lesson", "absence"]
        command.downgrade(config, "0006_face_crops")
        with engine.connect() as db:
            assert db.execute(text("SELECT kind FROM notification_event")).scalar_one() == "session.closed"
            assert db.execute(text("SELECT topics FROM notification_contact")).scalar_one() == [
                "session",
                "absence",
            ]
        engine.dispose()


def test_summaries_queued_before_the_rename_name_their_lessons(tmp_path):
    """0008: a summary queued under 0007 (payload key ``sessions``) is rendered after the upgrade from
    ``lessons``; other events keep their payload; a downgrade gives the old key back."""
    school, summary, other = (uuid.uuid4() for _ in range(3))
    with EmbeddedPostgres(tmp_path / "pg") as server:
        config = alembic_config(server.url)
        command.upgrade(config, "0007_lesson")
        engine = create_engine(server.url)
        insert = text(
            "INSERT INTO notification_event (id, school_id, kind, dedupe_key, payload, created_at)"
            " VALUES (:id, :school, :kind, :key, CAST(:payload AS json), now())"
        )
        with engine.begin() as db:
            db.execute(
                text("INSERT INTO school (id, name, timezone, created_at) VALUES (:id, 'A', 'UTC', now())"),
                {"id": school},
            )
            db.execute(
                insert,
                {"id": summary, "school": school, "kind": "summary.daily", "key": "summary:1",
                 "payload": '{"period": "daily", "sessions": 3, "totals": {"present": 2}}'},
            )  # fmt: skip
            db.execute(
                insert,
                {"id": other, "school": school, "kind": "absence", "key": "absence:1",
                 "payload": '{"sessions": "not a summary: left alone"}'},
            )  # fmt: skip
        payload = text("SELECT payload FROM notification_event WHERE id = :id")
        command.upgrade(config, "heads")
        with engine.connect() as db:
            assert db.execute(payload, {"id": summary}).scalar_one() == {
                "period": "daily",
                "lessons": 3,
                "totals": {"present": 2},
            }
            assert db.execute(payload, {"id": other}).scalar_one() == {
                "sessions": "not a summary: left alone"
            }
        command.downgrade(config, "0007_lesson")
        with engine.connect() as db:
            assert db.execute(payload, {"id": summary}).scalar_one()["sessions"] == 3
        engine.dispose()


def test_existing_audit_events_are_numbered_per_school(tmp_path):
    """0012: each school's events from before it are numbered 1, 2, ... in their ``seq`` order, whatever other
    schools wrote in between; events of no school stay unnumbered; a downgrade drops the numbers."""
    north, south = uuid.uuid4(), uuid.uuid4()
    written = [north, south, None, north, south, north]  # interleaved, as the one global sequence had them
    with EmbeddedPostgres(tmp_path / "pg") as server:
        config = alembic_config(server.url)
        command.upgrade(config, "0011_school_lifecycle")
        engine = create_engine(server.url)
        with engine.begin() as db:
            for n, school in enumerate(written):
                db.execute(
                    text(
                        "INSERT INTO audit_event (at, school_id, actor, action, result, details, prev_hash,"
                        " hash, chain) VALUES (now(), :school, 'system', 'old', 'ok', '{}', :prev, :hash,"
                        " 'school')"
                    ),
                    {"school": school, "prev": "0" * 64, "hash": f"{n:064d}"},
                )
        command.upgrade(config, "heads")
        numbered = text("SELECT school_id, school_seq FROM audit_event ORDER BY seq")
        with engine.connect() as db:
            assert [tuple(row) for row in db.execute(numbered)] == [
                (north, 1), (south, 1), (None, None), (north, 2), (south, 2), (north, 3),
            ]  # fmt: skip
        command.downgrade(config, "0011_school_lifecycle")
        with engine.connect() as db:
            columns = db.execute(
                text("SELECT column_name FROM information_schema.columns WHERE table_name = 'audit_event'")
            ).scalars()
            assert "school_seq" not in set(columns)
        engine.dispose()
