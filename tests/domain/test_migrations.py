"""Migrations: up and down on an empty database, the models match the schema, and down/up keeps data safe."""

from __future__ import annotations

import uuid

from alembic import command
from sqlalchemy import text

from deployments.local_services import EmbeddedPostgres
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
