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
    with op.batch_alter_table('feedback', schema=None) as batch_op:
        batch_op.add_column(sa.Column('triaged_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('follow_token_hash', sa.String(length=64), nullable=True))
        batch_op.create_index('ix_feedback_triaged_at', ['triaged_at'], unique=False)
        batch_op.create_unique_constraint('uq_feedback_follow_token_hash', ['follow_token_hash'])
    op.create_table(
        'admin_settings',
        sa.Column('key', sa.String(length=40), nullable=False),
        sa.Column('value', sa.JSON(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name='fk_admin_settings_updated_by_id_users'),
        sa.PrimaryKeyConstraint('key', name='pk_admin_settings'),
    )


def downgrade() -> None:
    op.drop_table('admin_settings')
    with op.batch_alter_table('feedback', schema=None) as batch_op:
        batch_op.drop_constraint('uq_feedback_follow_token_hash', type_='unique')
        batch_op.drop_index('ix_feedback_triaged_at')
        batch_op.drop_column('follow_token_hash')
        batch_op.drop_column('triaged_at')
