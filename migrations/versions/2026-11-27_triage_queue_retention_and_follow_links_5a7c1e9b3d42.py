"""triage queue, retention and follow links

Revision ID: 5a7c1e9b3d42
Revises: ccf37535e169
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '5a7c1e9b3d42'
down_revision: str | None = 'ccf37535e169'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
