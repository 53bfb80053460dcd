"""list filter indexes

Revision ID: ccf37535e169
Revises: d7625157f1ee
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = 'ccf37535e169'
down_revision: str | None = 'd7625157f1ee'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('feedback', schema=None) as batch_op:
        batch_op.create_index('ix_feedback_impact_submitted_at_id', ['impact', 'submitted_at', 'id'], unique=False)
        batch_op.create_index('ix_feedback_kind_submitted_at_id', ['kind', 'submitted_at', 'id'], unique=False)
        batch_op.create_index('ix_feedback_module_submitted_at_id', ['module', 'submitted_at', 'id'], unique=False)
        batch_op.create_index('ix_feedback_team_id_submitted_at_id', ['team_id', 'submitted_at', 'id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('feedback', schema=None) as batch_op:
        batch_op.drop_index('ix_feedback_team_id_submitted_at_id')
        batch_op.drop_index('ix_feedback_module_submitted_at_id')
        batch_op.drop_index('ix_feedback_kind_submitted_at_id')
        batch_op.drop_index('ix_feedback_impact_submitted_at_id')

