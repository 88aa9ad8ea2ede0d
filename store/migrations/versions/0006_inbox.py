"""the document inbox (received documents, trigger proposals)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('inbox_documents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('doc_number', sa.Text(), nullable=True),
    sa.Column('issuer', sa.Text(), nullable=True),
    sa.Column('issued_on', sa.Date(), nullable=True),
    sa.Column('received_on', sa.Date(), nullable=True),
    sa.Column('link', sa.Text(), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('sources', sa.JSON(), nullable=False),
    sa.Column('first_seen_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inbox_documents')),
    sa.UniqueConstraint('key', name=op.f('uq_inbox_documents_key'))
    )
    op.create_table('inbox_proposals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.String(length=100), nullable=False),
    sa.Column('trigger_key', sa.String(length=100), nullable=False),
    sa.Column('score_milli', sa.Integer(), nullable=False),
    sa.Column('rank', sa.Integer(), nullable=False),
    sa.Column('reasons', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('decided_by', sa.Text(), nullable=True),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.Column('decision_reason', sa.Text(), nullable=True),
    sa.Column('event_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['document_id'], ['inbox_documents.id'],
                            name=op.f('fk_inbox_proposals_document_id_inbox_documents')),
    sa.ForeignKeyConstraint(['plan_id'], ['plans.id'], name=op.f('fk_inbox_proposals_plan_id_plans')),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_inbox_proposals_event_id_events')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inbox_proposals')),
    sa.UniqueConstraint('document_id', 'plan_id', 'trigger_key', name=op.f('uq_inbox_proposals_document_id'))
    )
    with op.batch_alter_table('inbox_proposals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inbox_proposals_document_id'), ['document_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('inbox_proposals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inbox_proposals_document_id'))
    op.drop_table('inbox_proposals')
    op.drop_table('inbox_documents')
