"""progress reports (进展情况) and outbox attachments

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('notification_attachments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('notification_key', sa.String(length=300), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('filename', sa.Text(), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('content_id', sa.String(length=200), nullable=True),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_attachments')),
    sa.UniqueConstraint('notification_key', 'position', name=op.f('uq_notification_attachments_notification_key'))
    )
    with op.batch_alter_table('notification_attachments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notification_attachments_notification_key'), ['notification_key'],
                              unique=False)

    op.create_table('progress_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('obligation_id', sa.Integer(), nullable=False),
    sa.Column('occurrence_id', sa.Integer(), nullable=True),
    sa.Column('reported_on', sa.Date(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('evidence', sa.Text(), nullable=True),
    sa.Column('actor', sa.Text(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['obligation_id'], ['obligations.id'],
                            name=op.f('fk_progress_reports_obligation_id_obligations')),
    sa.ForeignKeyConstraint(['occurrence_id'], ['occurrences.id'],
                            name=op.f('fk_progress_reports_occurrence_id_occurrences')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_progress_reports'))
    )
    with op.batch_alter_table('progress_reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_progress_reports_obligation_id'), ['obligation_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('progress_reports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_progress_reports_obligation_id'))
    op.drop_table('progress_reports')
    with op.batch_alter_table('notification_attachments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notification_attachments_notification_key'))
    op.drop_table('notification_attachments')
