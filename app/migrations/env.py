"""Alembic environment: migrations run against the URL in the settings, never a hard-coded one."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool
from sqlmodel import SQLModel

import app.db.tables  # noqa: F401 - registers every table on SQLModel.metadata
from app.core.config import get_settings

config = context.config
target_metadata = SQLModel.metadata


def database_url() -> str:
    """An explicit ``sqlalchemy.url`` (tests pass one) wins over the settings."""
    return config.get_main_option("sqlalchemy.url") or get_settings().database_url


def run_offline() -> None:
    context.configure(url=database_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    engine = create_engine(database_url(), poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata, compare_type=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
