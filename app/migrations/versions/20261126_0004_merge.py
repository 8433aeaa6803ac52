"""Merge the notifications and privacy branches of the schema (both grew from 0001 in parallel).

Revision ID: 0004_merge
Revises: 0002_notifications, 0003_privacy
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0004_merge"
down_revision: str | Sequence[str] | None = ("0002_notifications", "0003_privacy")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Nothing to change: the two branches touch different tables."""


def downgrade() -> None:
    """Nothing to change: each branch's own downgrade undoes its tables."""
