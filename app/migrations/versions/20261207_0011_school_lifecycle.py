"""school_lifecycle: schools can be suspended; liveness is a per-school switch; attendance says whether it ran

``school.suspended_at``: set by the installation's operator (``python -m app.tenants suspend``); a suspended
school's users cannot sign in and its kiosks are refused, its data kept. ``school.liveness``: the admin's
run-time switch for the kiosk's liveness checks (on for every existing school, as for new ones).
``attendance.liveness_checked``: whether a face check-in passed liveness (False when it was switched off;
NULL for codes and marks, which are not face decisions), so reports can show check-ins taken without it.

Revision ID: 0011_school_lifecycle
Revises: 0010_audit_chain_per_school
Create Date: 2026-12-07 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_school_lifecycle"
down_revision: str | None = "0010_audit_chain_per_school"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("school", sa.Column("suspended_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("school", sa.Column("liveness", sa.Boolean(), server_default=sa.true(), nullable=False))
    op.add_column("attendance", sa.Column("liveness_checked", sa.Boolean(), nullable=True))


def downgrade() -> None:
    op.drop_column("attendance", "liveness_checked")
    op.drop_column("school", "liveness")
    op.drop_column("school", "suspended_at")
