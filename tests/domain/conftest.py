"""Real PostgreSQL and Redis for domain and API tests: started once per session on 127.0.0.1.

The schema comes from the alembic migrations (as in production), not from ``create_all``. Each test starts
from empty tables and an empty Redis, so tests do not depend on each other's data.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, text
from sqlmodel import Session, SQLModel

import app.db.tables  # noqa: F401 - registers the tables whose names are truncated below
from app.db.session import make_engine
from app.services.privacy import audit
from app.services.privacy.audit import AuditKeys
from cluster.local.stores import EmbeddedPostgres, EmbeddedRedis
from tests.conftest import REPO_ROOT
from tests.domain.authkit import TEST_SECRETS


def alembic_config(url: str) -> Config:
    config = Config(str(REPO_ROOT / "alembic.ini"))
    config.set_main_option("sqlalchemy.url", url)
    return config


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedPostgres]:
    with EmbeddedPostgres(tmp_path_factory.mktemp("pg") / "data") as server:
        yield server


@pytest.fixture(scope="session")
def pg_url(postgres: EmbeddedPostgres) -> str:
    command.upgrade(alembic_config(postgres.url), "heads")
    return postgres.url


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedRedis]:
    with EmbeddedRedis(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture
def redis_url(redis_server: EmbeddedRedis) -> str:
    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    client.close()
    return redis_server.url


@pytest.fixture(scope="session")
def engine(pg_url: str) -> Iterator[Engine]:
    """With the audit keys of the test settings (``TEST_SECRETS``), as the container builds its engine."""
    engine = audit.with_keys(make_engine(pg_url), AuditKeys.from_id_key(TEST_SECRETS["id_hash_key"]))
    yield engine
    engine.dispose()


@pytest.fixture
def clean_db(engine: Engine) -> Engine:
    """Empty every table before the test (TRUNCATE ... CASCADE is one statement, fast)."""
    names = ", ".join(f'"{table.name}"' for table in SQLModel.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    return engine


@pytest.fixture
def db(clean_db: Engine) -> Iterator[Session]:
    with Session(clean_db, expire_on_commit=False) as session:
        yield session


# Auth fixtures (auth_settings, auth_app, auth_client, auth_services, auth_world): tests/domain/authkit.py.
from tests.domain.authkit import (  # noqa: E402, F401 - registered here for every domain test
    auth_app,
    auth_client,
    auth_services,
    auth_settings,
    auth_world,
)
