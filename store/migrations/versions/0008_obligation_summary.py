"""obligation summary: live obligations counted by plan, task, unit and next due dates

The dashboard's "all plans" overview aggregated every due instance per call
(p95 2–4 s at 1,000,000 obligations, issue 15). ``obligation_summary`` keeps
those counts by what a status on any day depends on (``duban.store.summary``
says how and keeps it right); the overview sums a few thousand rows instead.
The backfill below computes it for an existing store with the same aggregate,
frozen here as SQL so this revision does not change with the code.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

# Per live obligation: next open due, next open non-check-in due, live instances; then the settled
# status (NULL when the day decides it), the dates kept only when it is NULL, counted per key.
BACKFILL = """
INSERT INTO obligation_summary (plan_id, task_id, unit_id, settled, next_due, next_deadline, n)
SELECT plan_id, task_id, unit_id, settled,
       CASE WHEN settled IS NULL THEN next_due END,
       CASE WHEN settled IS NULL THEN next_deadline END,
       count(*)
FROM (
    SELECT plan_id, task_id, unit_id, next_due, next_deadline,
           CASE WHEN state IN ('done', 'waived') THEN state
                WHEN next_due IS NULL THEN
                     CASE WHEN n_any > 0 THEN 'done' WHEN kind = 'triggered' THEN 'dormant' ELSE 'open' END
           END AS settled
    FROM (
        SELECT o.id, o.plan_id, r.task_id, o.unit_id, o.state, o.kind,
               min(CASE WHEN c.state = 'open' THEN c.due END) AS next_due,
               min(CASE WHEN c.state = 'open' AND NOT c.checkin THEN c.due END) AS next_deadline,
               count(c.id) AS n_any
        FROM obligations o
        JOIN requirements r ON r.id = o.requirement_id
        LEFT JOIN occurrences c ON c.obligation_id = o.id AND c.state <> 'cancelled'
        WHERE o.state <> 'retired'
        GROUP BY o.id, r.task_id
    ) ob
) keyed
GROUP BY plan_id, task_id, unit_id, settled, 5, 6
"""


def upgrade() -> None:
    op.create_table(
        'obligation_summary',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('plan_id', sa.String(length=100), nullable=False),
        sa.Column('task_id', sa.Integer(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('settled', sa.String(length=20), nullable=True),
        sa.Column('next_due', sa.Date(), nullable=True),
        sa.Column('next_deadline', sa.Date(), nullable=True),
        sa.Column('n', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_obligation_summary')),
    )
    op.create_index('ix_obligation_summary_plan_id', 'obligation_summary', ['plan_id'], unique=False)
    op.create_index('ix_obligation_summary_unit_id_task_id', 'obligation_summary', ['unit_id', 'task_id'],
                    unique=False)
    op.execute(BACKFILL)


def downgrade() -> None:
    op.drop_index('ix_obligation_summary_unit_id_task_id', table_name='obligation_summary')
    op.drop_index('ix_obligation_summary_plan_id', table_name='obligation_summary')
    op.drop_table('obligation_summary')
