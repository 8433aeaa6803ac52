"""``alembic upgrade heads`` from code (the local runner and the bootstrap command), against a given URL."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

ALEMBIC_INI = Path(__file__).resolve().parents[2] / "alembic.ini"


def upgrade_head(url: str) -> None:
    """Bring the schema at ``url`` to the newest revision (a no-op when it is there already)."""
    config = Config(str(ALEMBIC_INI))
    config.set_main_option("sqlalchemy.url", url)
    command.upgrade(config, "heads")
