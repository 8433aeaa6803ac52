"""The stores and first admin a throwaway Rollcall needs: for integration tests and benchmarks alike.

One copy of this set-up, so a benchmark measures the same application the tests prove.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from app.core.config import Settings
from cluster.local.stores import EmbeddedPostgres, EmbeddedRedis


@dataclass(frozen=True)
class Stores:
    database_url: str
    redis_url: str
    #: The servers behind the URLs: fault tests stop and restart them under a running app.
    postgres: EmbeddedPostgres | None = None
    redis: EmbeddedRedis | None = None


@contextlib.contextmanager
def local_stores(root: Path) -> Iterator[Stores]:
    """PostgreSQL and Redis from their pip packages on 127.0.0.1 under ``root``, schema migrated."""
    from app.db.migrate import upgrade_head

    with EmbeddedPostgres(root / "pg") as postgres, EmbeddedRedis(root / "redis") as redis_server:
        upgrade_head(postgres.url)
        yield Stores(postgres.url, redis_server.url, postgres, redis_server)


def admin_headers(settings: Settings, school: str = "Integration School") -> dict[str, str]:
    """The first admin, created as ``python -m app.bootstrap`` does, with a session opened in-process.

    Their MFA enrolment is exercised in tests/domain; callers of this only need a valid admin token.
    """
    from app.container import build_container
    from app.db.session import transaction
    from app.services.identity.auth import NewSchool, bootstrap

    container = build_container(settings)  # the replicas' keys, so the trail they continue stays one chain
    assert container.engine is not None and container.security is not None, "needs PostgreSQL and Redis"
    try:
        with transaction(container.engine) as session:
            first = NewSchool(
                school, "UTC", "admin@integration.example.org", "Admin", secrets.token_urlsafe(16)
            )
            _, admin = bootstrap(session, settings.passwords, first)
        token = container.security.auth.issue_tokens(admin)
    finally:
        container.close()
    return {"Authorization": f"Bearer {token.access_token}"}
