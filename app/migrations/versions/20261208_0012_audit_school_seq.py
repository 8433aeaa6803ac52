"""audit_school_seq: each school numbers its own audit events (``audit_event.school_seq``)

``seq`` is one sequence for the whole installation, so the numbers a school saw jumped by the events of every
other school. ``school_seq`` counts the school's events alone (1, 2, ...), assigned by
``app/services/privacy/audit.py`` under the school's chain lock; the API shows and pages by it. Existing events
are numbered here in ``seq`` order per school (the order their chain links them in). Events of no school
(system events without a school, shown to no school) keep NULL: they are read by the operator only, by
``seq``. The unique index makes a double number impossible and serves a school's newest-first pages.

Revision ID: 0012_audit_school_seq
Revises: 0011_school_lifecycle
Create Date: 2026-12-08 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_audit_school_seq"
down_revision: str | None = "0011_school_lifecycle"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("audit_event", sa.Column("school_seq", sa.Integer(), nullable=True))
    op.execute(
        """
        UPDATE audit_event AS event SET school_seq = numbered.n
        FROM (
            SELECT seq, row_number() OVER (PARTITION BY school_id ORDER BY seq) AS n
            FROM audit_event WHERE school_id IS NOT NULL
        ) AS numbered
        WHERE event.seq = numbered.seq
        """
    )
    op.create_index(
        "ux_audit_event_school_school_seq", "audit_event", ["school_id", "school_seq"], unique=True
    )


def downgrade() -> None:
    op.drop_index("ux_audit_event_school_school_seq", table_name="audit_event")
    op.drop_column("audit_event", "school_seq")
