"""province scale: sender claims on outbox rows, a fencing epoch on leases

Several engine processes share one PostgreSQL (issue 15): one leader ticks
(``leases`` row, renewed; ``epoch`` counts takeovers), any number of senders
claim outbox rows (``claimed_by``/``claimed_until``, see
``engine/reminders/claims.py``). The partial index keeps the claim query's
cost proportional to the rows still to send, not to the outbox's history.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claimed_by', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('claimed_until', sa.DateTime(), nullable=True))
    with op.batch_alter_table('leases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('epoch', sa.Integer(), nullable=False, server_default='0'))
    # Only rows still to deliver are indexed: the claim scans them, never the delivered history.
    op.create_index('ix_notifications_to_send', 'notifications', ['id'], unique=False,
                    sqlite_where=sa.text("status IN ('pending', 'retry')"),
                    postgresql_where=sa.text("status IN ('pending', 'retry')"))


def downgrade() -> None:
    op.drop_index('ix_notifications_to_send', table_name='notifications')
    with op.batch_alter_table('leases', schema=None) as batch_op:
        batch_op.drop_column('epoch')
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_column('claimed_until')
        batch_op.drop_column('claimed_by')
