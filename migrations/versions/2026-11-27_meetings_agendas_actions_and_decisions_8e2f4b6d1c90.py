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
    op.create_table('meeting_series',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=150), nullable=False),
    sa.Column('cadence', sa.String(length=20), nullable=False),
    sa.Column('usual_minutes', sa.Integer(), nullable=False),
    sa.Column('standing_items', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meeting_series'))
    )
    op.create_table('meeting_series_attendees',
    sa.Column('series_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['series_id'], ['meeting_series.id'], name=op.f('fk_meeting_series_attendees_series_id_meeting_series'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_meeting_series_attendees_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('series_id', 'user_id', name=op.f('pk_meeting_series_attendees'))
    )
    op.create_table('meetings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('series_id', sa.Integer(), nullable=True),
    sa.Column('title', sa.String(length=150), nullable=False),
    sa.Column('scheduled_for', sa.DateTime(timezone=True), nullable=False),
    sa.Column('duration_minutes', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=30), nullable=False),
    sa.Column('chair_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('agenda_changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('agenda_published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('minutes_published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('minutes_published_by_id', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['chair_id'], ['users.id'], name=op.f('fk_meetings_chair_id_users')),
    sa.ForeignKeyConstraint(['minutes_published_by_id'], ['users.id'], name=op.f('fk_meetings_minutes_published_by_id_users')),
    sa.ForeignKeyConstraint(['series_id'], ['meeting_series.id'], name=op.f('fk_meetings_series_id_meeting_series')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meetings'))
    )
    with op.batch_alter_table('meetings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meetings_scheduled_for'), ['scheduled_for'], unique=False)
        batch_op.create_index(batch_op.f('ix_meetings_series_id'), ['series_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_meetings_state'), ['state'], unique=False)

    op.create_table('agenda_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('title', sa.String(length=150), nullable=False),
    sa.Column('issue_id', sa.Integer(), nullable=True),
    sa.Column('minutes', sa.Integer(), nullable=False),
    sa.Column('presenter_id', sa.Integer(), nullable=True),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('outcome', sa.String(length=30), nullable=True),
    sa.Column('outcome_reason', sa.Text(), nullable=True),
    sa.Column('decision_notes', sa.Text(), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('carried_over_from_id', sa.Integer(), nullable=True),
    sa.Column('carry_over_count', sa.Integer(), nullable=False),
    sa.Column('score', sa.Double(), nullable=True),
    sa.Column('evidence', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['carried_over_from_id'], ['agenda_items.id'], name=op.f('fk_agenda_items_carried_over_from_id_agenda_items')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_agenda_items_decided_by_id_users')),
    sa.ForeignKeyConstraint(['issue_id'], ['issues.id'], name=op.f('fk_agenda_items_issue_id_issues')),
    sa.ForeignKeyConstraint(['meeting_id'], ['meetings.id'], name=op.f('fk_agenda_items_meeting_id_meetings'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['presenter_id'], ['users.id'], name=op.f('fk_agenda_items_presenter_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agenda_items'))
    )
    with op.batch_alter_table('agenda_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agenda_items_issue_id'), ['issue_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_agenda_items_meeting_id'), ['meeting_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_agenda_items_outcome'), ['outcome'], unique=False)

    op.create_table('meeting_actions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('agenda_item_id', sa.Integer(), nullable=True),
    sa.Column('issue_id', sa.Integer(), nullable=True),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('done_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['agenda_item_id'], ['agenda_items.id'], name=op.f('fk_meeting_actions_agenda_item_id_agenda_items'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_meeting_actions_created_by_id_users')),
    sa.ForeignKeyConstraint(['done_by_id'], ['users.id'], name=op.f('fk_meeting_actions_done_by_id_users')),
    sa.ForeignKeyConstraint(['issue_id'], ['issues.id'], name=op.f('fk_meeting_actions_issue_id_issues')),
    sa.ForeignKeyConstraint(['meeting_id'], ['meetings.id'], name=op.f('fk_meeting_actions_meeting_id_meetings'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_meeting_actions_owner_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meeting_actions'))
    )
    with op.batch_alter_table('meeting_actions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meeting_actions_agenda_item_id'), ['agenda_item_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_meeting_actions_due_on'), ['due_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_meeting_actions_issue_id'), ['issue_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_meeting_actions_meeting_id'), ['meeting_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_meeting_actions_owner_id'), ['owner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_meeting_actions_status'), ['status'], unique=False)

    op.create_table('minutes_amendments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('agenda_item_id', sa.Integer(), nullable=True),
    sa.Column('field', sa.String(length=40), nullable=False),
    sa.Column('before', sa.Text(), nullable=False),
    sa.Column('after', sa.Text(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('amended_by_id', sa.Integer(), nullable=True),
    sa.Column('amended_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agenda_item_id'], ['agenda_items.id'], name=op.f('fk_minutes_amendments_agenda_item_id_agenda_items'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['amended_by_id'], ['users.id'], name=op.f('fk_minutes_amendments_amended_by_id_users')),
    sa.ForeignKeyConstraint(['meeting_id'], ['meetings.id'], name=op.f('fk_minutes_amendments_meeting_id_meetings'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_minutes_amendments'))
    )
    with op.batch_alter_table('minutes_amendments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_minutes_amendments_meeting_id'), ['meeting_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('minutes_amendments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_minutes_amendments_meeting_id'))

    op.drop_table('minutes_amendments')
    with op.batch_alter_table('meeting_actions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meeting_actions_status'))
        batch_op.drop_index(batch_op.f('ix_meeting_actions_owner_id'))
        batch_op.drop_index(batch_op.f('ix_meeting_actions_meeting_id'))
        batch_op.drop_index(batch_op.f('ix_meeting_actions_issue_id'))
        batch_op.drop_index(batch_op.f('ix_meeting_actions_due_on'))
        batch_op.drop_index(batch_op.f('ix_meeting_actions_agenda_item_id'))

    op.drop_table('meeting_actions')
    with op.batch_alter_table('agenda_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_agenda_items_outcome'))
        batch_op.drop_index(batch_op.f('ix_agenda_items_meeting_id'))
        batch_op.drop_index(batch_op.f('ix_agenda_items_issue_id'))

    op.drop_table('agenda_items')
    with op.batch_alter_table('meetings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meetings_state'))
        batch_op.drop_index(batch_op.f('ix_meetings_series_id'))
        batch_op.drop_index(batch_op.f('ix_meetings_scheduled_for'))

    op.drop_table('meetings')
    op.drop_table('meeting_series_attendees')
    op.drop_table('meeting_series')
