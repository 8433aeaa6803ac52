"""face crops: each template keeps its enrolled photo's aligned crop, sealed, so a new model can re-embed it

Revision ID: 0006_face_crops
Revises: 0005_colour_challenge
Create Date: 2026-12-02 03:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_face_crops"
down_revision: str | None = "0005_colour_challenge"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable: templates enrolled before have no crop; `python -m app.jobs re-embed` flags those students.
    op.add_column("face_template", sa.Column("crop_sealed", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    op.drop_column("face_template", "crop_sealed")
