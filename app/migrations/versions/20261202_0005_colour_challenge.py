"""colour challenge: a per-school switch for the kiosk screen's colour-reflection liveness layer

Revision ID: 0005_colour_challenge
Revises: 0004_merge
Create Date: 2026-12-02 00:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_colour_challenge"
down_revision: str | None = "0004_merge"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # On for every existing school, as for new ones: the layer is part of liveness unless an admin opts out.
    op.add_column(
        "school", sa.Column("colour_challenge", sa.Boolean(), server_default=sa.true(), nullable=False)
    )


def downgrade() -> None:
    op.drop_column("school", "colour_challenge")
