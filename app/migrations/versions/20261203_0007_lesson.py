"""lesson: the class meeting is a lesson in the schema too (was ``class_session`` and ``session_id``)

One word per concept: "session" stays for the database's and nothing else (a sign-in is a refresh-token
family). Renames only (and the two stored names of the word: the ``session.closed`` event kind, now ``lesson.closed``,
and the contacts' ``session`` topic, now ``lesson``), so a downgrade restores the old names exactly.

Revision ID: 0007_lesson
Revises: 0006_face_crops
Create Date: 2026-12-03 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_lesson"
down_revision: str | None = "0006_face_crops"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: (table, old column, new column) for every column that named the lesson.
COLUMNS = (
    ("attendance", "session_id", "lesson_id"),
    ("checkin_code", "session_id", "lesson_id"),
    ("notification_event", "session_id", "lesson_id"),
    ("attendance_archive", "session_id", "lesson_id"),
    ("attendance_archive", "session_starts_at", "lesson_starts_at"),
    ("review_frame", "session_id", "lesson_id"),
)
#: (table, old constraint, new constraint), the names the naming convention gives after the renames.
CONSTRAINTS = (
    ("lesson", "pk_class_session", "pk_lesson"),
    ("lesson", "fk_class_session_class_id_school_class", "fk_lesson_class_id_school_class"),
    ("attendance", "fk_attendance_session_id_class_session", "fk_attendance_lesson_id_lesson"),
    ("attendance", "uq_attendance_session_student", "uq_attendance_lesson_student"),
    ("checkin_code", "fk_checkin_code_session_id_class_session", "fk_checkin_code_lesson_id_lesson"),
)
INDEXES = (
    ("ix_session_class_start", "ix_lesson_class_start"),
    ("ix_checkin_code_session_id", "ix_checkin_code_lesson_id"),
)


def _rename_word(old: str, new: str) -> None:
    """The event kind and the subscription topic that carried the old word (rows and JSON lists)."""
    op.execute(
        sa.text("UPDATE notification_event SET kind = :new WHERE kind = :old").bindparams(
            old=f"{old}.closed", new=f"{new}.closed"
        )
    )
    op.execute(
        sa.text(
            "UPDATE notification_contact SET topics = (SELECT json_agg(CASE WHEN t = :old THEN :new ELSE t END)"
            " FROM json_array_elements_text(topics) t) WHERE topics::jsonb ? :old"
        ).bindparams(old=old, new=new)
    )


def upgrade() -> None:
    op.rename_table("class_session", "lesson")
    for table, old, new in COLUMNS:
        op.alter_column(table, old, new_column_name=new)
    for table, old, new in CONSTRAINTS:
        op.execute(f'ALTER TABLE "{table}" RENAME CONSTRAINT "{old}" TO "{new}"')
    for old, new in INDEXES:
        op.execute(f'ALTER INDEX "{old}" RENAME TO "{new}"')
    _rename_word("session", "lesson")


def downgrade() -> None:
    _rename_word("lesson", "session")
    for old, new in INDEXES:
        op.execute(f'ALTER INDEX "{new}" RENAME TO "{old}"')
    for table, old, new in CONSTRAINTS:
        op.execute(f'ALTER TABLE "{table}" RENAME CONSTRAINT "{new}" TO "{old}"')
    for table, old, new in COLUMNS:
        op.alter_column(table, new, new_column_name=old)
    op.rename_table("lesson", "class_session")
