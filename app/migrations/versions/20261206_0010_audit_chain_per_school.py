"""audit_chain_per_school: one audit hash chain per school (``audit_event.chain``, index on school and seq)

Each event now links to the previous event of its own school, under that school's advisory lock, so writes
in one school never wait for another's and each school verifies its chain alone
(``app/services/privacy/audit.py``). Events already written keep the one line through every school they were
linked in: they are marked ``global`` and verified as such. The composite index serves both the previous
hash look-up and a school's walk in order, and replaces the index on ``school_id`` alone. A downgrade
leaves events written meanwhile linked per school, which the one-chain verifier of that version reports as
broken links: downgrading past this revision is for a database without such events.

Revision ID: 0010_audit_chain_per_school
Revises: 0009_sign_in_throttle
Create Date: 2026-12-06 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_audit_chain_per_school"
down_revision: str | None = "0009_sign_in_throttle"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "audit_event",
        sa.Column("chain", sa.String(length=8), nullable=False, server_default=sa.text("'global'")),
    )
    op.alter_column("audit_event", "chain", server_default=None)
    op.create_index("ix_audit_event_school_seq", "audit_event", ["school_id", "seq"], unique=False)
    op.drop_index(op.f("ix_audit_event_school_id"), table_name="audit_event")


def downgrade() -> None:
    op.create_index(op.f("ix_audit_event_school_id"), "audit_event", ["school_id"], unique=False)
    op.drop_index("ix_audit_event_school_seq", table_name="audit_event")
    op.drop_column("audit_event", "chain")
