"""sign_in_throttle: failed sign-ins no longer lock the account (``app_user.failed_logins``, ``locked_until`` go)

A lock any stranger could trigger, and that only existing accounts got, is replaced by a backoff per
(account, address) in Redis (``app/services/identity/throttle.py``). The columns that held the lock go; a
downgrade brings them back empty (no account locked, no failures counted).

Revision ID: 0009_sign_in_throttle
Revises: 0008_summary_lessons
Create Date: 2026-12-05 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_sign_in_throttle"
down_revision: str | None = "0008_summary_lessons"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_column("app_user", "locked_until")
    op.drop_column("app_user", "failed_logins")


def downgrade() -> None:
    op.add_column(
        "app_user", sa.Column("failed_logins", sa.Integer(), nullable=False, server_default=sa.text("0"))
    )
    op.alter_column("app_user", "failed_logins", server_default=None)
    op.add_column("app_user", sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True))
