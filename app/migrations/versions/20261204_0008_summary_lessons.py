"""summary_lessons: summaries queued before 0007 name their lesson count ``lessons`` too (was ``sessions``)

A daily or weekly summary is rendered when it is delivered, from the payload stored when it was queued. 0007
renamed the class meeting everywhere but in these stored payloads, so a summary queued before the upgrade and
sent after it would name a key the template no longer reads. Data only; a downgrade restores the old key.

Revision ID: 0008_summary_lessons
Revises: 0007_lesson
Create Date: 2026-12-04 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_summary_lessons"
down_revision: str | None = "0007_lesson"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _rename_key(old: str, new: str) -> None:
    op.execute(
        sa.text(
            "UPDATE notification_event SET payload = ((payload::jsonb - :old)"
            " || jsonb_build_object(CAST(:new AS text), payload::jsonb -> :old))::json"
            " WHERE kind LIKE 'summary.%' AND payload::jsonb ? :old"
        ).bindparams(old=old, new=new)
    )


def upgrade() -> None:
    _rename_key("sessions", "lessons")


def downgrade() -> None:
    _rename_key("lessons", "sessions")
