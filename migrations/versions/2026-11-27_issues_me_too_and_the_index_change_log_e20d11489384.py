"""issues, me too and the index change log

Revision ID: e20d11489384
Revises: 4f3bf9288dcf
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = 'e20d11489384'
down_revision: str | None = '4f3bf9288dcf'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('index_changes',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('record_type', sa.String(length=20), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_index_changes')),
    sqlite_autoincrement=True,
    )
    op.create_table('issues',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ref', sa.String(length=20), nullable=True),
    sa.Column('title', sa.String(length=150), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('module', sa.String(length=60), nullable=True),
    sa.Column('severity', sa.Integer(), nullable=True),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=30), nullable=False),
    sa.Column('status_reason', sa.Text(), nullable=True),
    sa.Column('supplier_ref', sa.String(length=60), nullable=True),
    sa.Column('target_release', sa.String(length=60), nullable=True),
    sa.Column('public_response', sa.Text(), nullable=True),
    sa.Column('merged_into_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['merged_into_id'], ['issues.id'], name=op.f('fk_issues_merged_into_id_issues')),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_issues_owner_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_issues')),
    sa.UniqueConstraint('ref', name=op.f('uq_issues_ref'))
    )
    with op.batch_alter_table('issues', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_issues_merged_into_id'), ['merged_into_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_issues_module'), ['module'], unique=False)
        batch_op.create_index(batch_op.f('ix_issues_owner_id'), ['owner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_issues_status'), ['status'], unique=False)

    op.create_table('saved_searches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('query_string', sa.String(length=2000), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_saved_searches_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_saved_searches'))
    )
    with op.batch_alter_table('saved_searches', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_saved_searches_user_id'), ['user_id'], unique=False)

    op.create_table('synonym_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('line', sa.String(length=500), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_synonym_lines_created_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_synonym_lines'))
    )
    op.create_table('issue_merges',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source_issue_id', sa.Integer(), nullable=False),
    sa.Column('target_issue_id', sa.Integer(), nullable=False),
    sa.Column('moved_feedback_ids', sa.JSON(), nullable=False),
    sa.Column('moved_me_too_ids', sa.JSON(), nullable=False),
    sa.Column('merged_by_id', sa.Integer(), nullable=True),
    sa.Column('merged_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('undone_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['merged_by_id'], ['users.id'], name=op.f('fk_issue_merges_merged_by_id_users')),
    sa.ForeignKeyConstraint(['source_issue_id'], ['issues.id'], name=op.f('fk_issue_merges_source_issue_id_issues')),
    sa.ForeignKeyConstraint(['target_issue_id'], ['issues.id'], name=op.f('fk_issue_merges_target_issue_id_issues')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_issue_merges'))
    )
    with op.batch_alter_table('issue_merges', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_issue_merges_source_issue_id'), ['source_issue_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_issue_merges_target_issue_id'), ['target_issue_id'], unique=False)

    op.create_table('me_toos',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('feedback_id', sa.Integer(), nullable=True),
    sa.Column('issue_id', sa.Integer(), nullable=True),
    sa.Column('impact', sa.String(length=60), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['feedback_id'], ['feedback.id'], name=op.f('fk_me_toos_feedback_id_feedback'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['issue_id'], ['issues.id'], name=op.f('fk_me_toos_issue_id_issues')),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_me_toos_team_id_teams')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_me_toos_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_me_toos')),
    sa.UniqueConstraint('user_id', 'feedback_id', name='uq_me_toos_user_feedback'),
    sa.UniqueConstraint('user_id', 'issue_id', name='uq_me_toos_user_issue')
    )
    with op.batch_alter_table('me_toos', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_me_toos_feedback_id'), ['feedback_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_me_toos_issue_id'), ['issue_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_me_toos_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('issue_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_comments_issue_id'), ['issue_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_comments_issue_id_issues'), 'issues', ['issue_id'], ['id'], ondelete='CASCADE')

    with op.batch_alter_table('feedback', schema=None) as batch_op:
        batch_op.add_column(sa.Column('issue_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('closed_reason', sa.Text(), nullable=True))
        batch_op.create_index(batch_op.f('ix_feedback_issue_id'), ['issue_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_feedback_issue_id_issues'), 'issues', ['issue_id'], ['id'])



def downgrade() -> None:
    with op.batch_alter_table('feedback', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_feedback_issue_id_issues'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_feedback_issue_id'))
        batch_op.drop_column('closed_reason')
        batch_op.drop_column('issue_id')

    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_comments_issue_id_issues'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_comments_issue_id'))
        batch_op.drop_column('issue_id')

    with op.batch_alter_table('me_toos', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_me_toos_user_id'))
        batch_op.drop_index(batch_op.f('ix_me_toos_issue_id'))
        batch_op.drop_index(batch_op.f('ix_me_toos_feedback_id'))

    op.drop_table('me_toos')
    with op.batch_alter_table('issue_merges', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_issue_merges_target_issue_id'))
        batch_op.drop_index(batch_op.f('ix_issue_merges_source_issue_id'))

    op.drop_table('issue_merges')
    op.drop_table('synonym_lines')
    with op.batch_alter_table('saved_searches', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_saved_searches_user_id'))

    op.drop_table('saved_searches')
    with op.batch_alter_table('issues', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_issues_status'))
        batch_op.drop_index(batch_op.f('ix_issues_owner_id'))
        batch_op.drop_index(batch_op.f('ix_issues_module'))
        batch_op.drop_index(batch_op.f('ix_issues_merged_into_id'))

    op.drop_table('issues')
    op.drop_table('index_changes')
