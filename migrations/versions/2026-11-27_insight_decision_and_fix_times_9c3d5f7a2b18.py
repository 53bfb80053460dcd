"""insight: decision and fix times

Revision ID: 9c3d5f7a2b18
Revises: 8e2f4b6d1c90
Create Date: 2026-11-27

Adds when each issue was first decided, first fixed, and (while it is finished) when it was finished, so the
insight page can chart time to decision and fix and the open issues over time with GROUP BY queries. Issues
that already exist get the times from the audit trail (each status change is an `issue.updated` event with
the new status in `after`); an issue already finished with no recorded change gets its updated_at.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '9c3d5f7a2b18'
down_revision: str | None = '8e2f4b6d1c90'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The statuses as they were when this migration was written (a migration never imports the models).
DECISIONS = {'change-requested', 'fix-scheduled', 'wont-fix', 'guidance-issued', 'training-arranged'}
FIXED = 'fixed'
FINISHED = {'fixed', 'closed', 'wont-fix', 'guidance-issued', 'training-arranged'}


def upgrade() -> None:
    with op.batch_alter_table('issues', schema=None) as batch_op:
        batch_op.add_column(sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('fixed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True))
        # Time to decision and to fix are worked out a month at a time: each month is a range of these.
        batch_op.create_index('ix_issues_decided_at', ['decided_at'], unique=False)
        batch_op.create_index('ix_issues_fixed_at', ['fixed_at'], unique=False)
    with op.batch_alter_table('feedback', schema=None) as batch_op:
        # The first feedback of each issue (time from first feedback to decision and fix) in one index seek.
        batch_op.create_index('ix_feedback_issue_id_submitted_at', ['issue_id', 'submitted_at'], unique=False)
        # Covering indexes: the weekly, team and rising counts, and the triage times, read only these (whatever
        # the filters), never the feedback rows themselves (their text makes them large).
        batch_op.create_index(
            'ix_feedback_insight_submitted', ['submitted_at', 'module', 'kind', 'team_id', 'issue_id'], unique=False
        )
        batch_op.create_index(
            'ix_feedback_insight_triaged', ['triaged_at', 'submitted_at', 'module', 'kind', 'team_id'], unique=False
        )
    with op.batch_alter_table('me_toos', schema=None) as batch_op:
        batch_op.create_index('ix_me_toos_created_at', ['created_at'], unique=False)  # rising issues
    _backfill()


def _backfill() -> None:
    """Status times for issues that already exist, from the audit trail, oldest change first."""
    issues = sa.table(
        'issues', sa.column('id'), sa.column('ref'), sa.column('status'), sa.column('updated_at'),
        sa.column('decided_at'), sa.column('fixed_at'), sa.column('resolved_at'),
    )
    events = sa.table(
        'audit_events', sa.column('id'), sa.column('at'), sa.column('action'), sa.column('record_type'),
        sa.column('record_ref'), sa.column('after', sa.JSON),
    )
    connection = op.get_bind()
    times: dict[str, dict[str, object]] = {}
    rows = connection.execute(
        sa.select(events.c.record_ref, events.c.at, events.c.after)
        .where(events.c.record_type == 'issue', events.c.action == 'issue.updated')
        .order_by(events.c.at, events.c.id)
    )
    for ref, at, after in rows:
        status = (after or {}).get('status') if isinstance(after, dict) else None
        if not status:
            continue
        seen = times.setdefault(ref, {})
        if status in DECISIONS or status == FIXED:
            seen.setdefault('decided_at', at)
        if status == FIXED:
            seen.setdefault('fixed_at', at)
        if status in FINISHED:
            seen.setdefault('resolved_at', at)
        else:
            seen.pop('resolved_at', None)
    for issue_id, ref, status, updated_at in connection.execute(
        sa.select(issues.c.id, issues.c.ref, issues.c.status, issues.c.updated_at)
    ):
        seen = times.get(ref, {})
        values = {}
        if status in DECISIONS or status in FINISHED:
            values['decided_at'] = seen.get('decided_at') or updated_at
        if status == FIXED or 'fixed_at' in seen:
            values['fixed_at'] = seen.get('fixed_at') or updated_at
        if status in FINISHED:
            values['resolved_at'] = seen.get('resolved_at') or updated_at
        elif 'decided_at' in seen:
            values.setdefault('decided_at', seen['decided_at'])
        if values:
            connection.execute(sa.update(issues).where(issues.c.id == issue_id).values(**values))


def downgrade() -> None:
    with op.batch_alter_table('me_toos', schema=None) as batch_op:
        batch_op.drop_index('ix_me_toos_created_at')
    with op.batch_alter_table('feedback', schema=None) as batch_op:
        batch_op.drop_index('ix_feedback_insight_triaged')
        batch_op.drop_index('ix_feedback_insight_submitted')
        batch_op.drop_index('ix_feedback_issue_id_submitted_at')
    with op.batch_alter_table('issues', schema=None) as batch_op:
        batch_op.drop_index('ix_issues_fixed_at')
        batch_op.drop_index('ix_issues_decided_at')
        batch_op.drop_column('resolved_at')
        batch_op.drop_column('fixed_at')
        batch_op.drop_column('decided_at')
