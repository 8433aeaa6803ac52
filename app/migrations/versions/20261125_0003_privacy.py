"""privacy: erasure tombstones, disclosure log, attendance archive, review frames

Revision ID: 0003_privacy
Revises: 0001
Create Date: 2026-11-25 23:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0003_privacy"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "erasure_tombstone",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("subject", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("school_id", sa.Uuid(), nullable=False),
        sa.Column("requested_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "state",
            sa.Enum("erased", "completed", name="erasurestate", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("receipt", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_erasure_tombstone")),
        sa.UniqueConstraint("subject", name=op.f("uq_erasure_tombstone_subject")),
    )
    op.create_index(op.f("ix_erasure_tombstone_school_id"), "erasure_tombstone", ["school_id"], unique=False)
    op.create_table(
        "disclosure_log",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("school_id", sa.Uuid(), nullable=False),
        sa.Column("student_id", sa.Uuid(), nullable=True),
        sa.Column("subject", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("actor_role", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("scope", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("purpose", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("request_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disclosure_log")),
    )
    op.create_index(op.f("ix_disclosure_log_student_id"), "disclosure_log", ["student_id"], unique=False)
    op.create_index(op.f("ix_disclosure_log_subject"), "disclosure_log", ["subject"], unique=False)
    op.create_index("ix_disclosure_school_at", "disclosure_log", ["school_id", "at"], unique=False)
    op.create_table(
        "attendance_archive",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("school_id", sa.Uuid(), nullable=False),
        sa.Column("student_id", sa.Uuid(), nullable=False),
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("class_id", sa.Uuid(), nullable=False),
        sa.Column("session_starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "present", "late", "absent", "excused", name="attendancestatus", native_enum=False, length=32
            ),
            nullable=False,
        ),
        sa.Column(
            "method",
            sa.Enum(
                "face", "face_verify", "code", "manual", name="checkinmethod", native_enum=False, length=32
            ),
            nullable=False,
        ),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["school_id"], ["school.id"], name=op.f("fk_attendance_archive_school_id_school")
        ),
        sa.ForeignKeyConstraint(
            ["student_id"],
            ["student.id"],
            name=op.f("fk_attendance_archive_student_id_student"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attendance_archive")),
    )
    op.create_index(
        "ix_attendance_archive_school_time", "attendance_archive", ["school_id", "recorded_at"], unique=False
    )
    op.create_index(
        op.f("ix_attendance_archive_student_id"), "attendance_archive", ["student_id"], unique=False
    )
    op.create_table(
        "review_frame",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("school_id", sa.Uuid(), nullable=False),
        sa.Column("kiosk_id", sa.Uuid(), nullable=False),
        sa.Column("session_id", sa.Uuid(), nullable=True),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("media_type", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("key_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("captured_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["school_id"], ["school.id"], name=op.f("fk_review_frame_school_id_school")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_frame")),
    )
    op.create_index(op.f("ix_review_frame_expires_at"), "review_frame", ["expires_at"], unique=False)
    op.create_index(op.f("ix_review_frame_school_id"), "review_frame", ["school_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_review_frame_school_id"), table_name="review_frame")
    op.drop_index(op.f("ix_review_frame_expires_at"), table_name="review_frame")
    op.drop_table("review_frame")
    op.drop_index(op.f("ix_attendance_archive_student_id"), table_name="attendance_archive")
    op.drop_index("ix_attendance_archive_school_time", table_name="attendance_archive")
    op.drop_table("attendance_archive")
    op.drop_index("ix_disclosure_school_at", table_name="disclosure_log")
    op.drop_index(op.f("ix_disclosure_log_subject"), table_name="disclosure_log")
    op.drop_index(op.f("ix_disclosure_log_student_id"), table_name="disclosure_log")
    op.drop_table("disclosure_log")
    op.drop_index(op.f("ix_erasure_tombstone_school_id"), table_name="erasure_tombstone")
    op.drop_table("erasure_tombstone")
