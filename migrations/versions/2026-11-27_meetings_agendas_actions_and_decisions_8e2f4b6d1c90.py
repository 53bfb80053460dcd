"""meetings, agendas, actions and decisions

Revision ID: 8e2f4b6d1c90
Revises: 5a7c1e9b3d42
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '8e2f4b6d1c90'
down_revision: str | None = '5a7c1e9b3d42'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
