"""personal data found at intake, held and restricted feedback, and the original text kept after redaction

Revision ID: d7625157f1ee
Revises: 737663fc151c
Create Date: 2026-11-27 01:32:12.685221
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = 'd7625157f1ee'
down_revision: str | None = '737663fc151c'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('feedback', schema=None) as batch_op:
        batch_op.add_column(sa.Column('personal_data', sa.JSON(), server_default=sa.text("'[]'"), nullable=False))
        batch_op.add_column(sa.Column('held', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('restricted', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('original_title', sa.String(length=150), nullable=True))
        batch_op.add_column(sa.Column('original_body', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('original_purge_after', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_feedback_held'), ['held'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('feedback', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_feedback_held'))
        batch_op.drop_column('original_purge_after')
        batch_op.drop_column('original_body')
        batch_op.drop_column('original_title')
        batch_op.drop_column('restricted')
        batch_op.drop_column('held')
        batch_op.drop_column('personal_data')
