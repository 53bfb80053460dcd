"""insight: decision and fix times

Revision ID: 9c3d5f7a2b18
Revises: 8e2f4b6d1c90
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '9c3d5f7a2b18'
down_revision: str | None = '8e2f4b6d1c90'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
