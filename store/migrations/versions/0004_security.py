"""security hardening: the audit log's MAC column

Each audit record gets ``mac``: an HMAC-SHA256 of its hash under the key in
``$DUBAN_AUDIT_KEY`` (never stored in the database), so a row appended with a
recomputed hash is detected by ``duban audit verify``. Records written before
this migration (or without a key) keep an empty MAC. Accounts already have
``active`` (``duban user disable``) and ``session_epoch``; the session's
absolute lifetime lives in the signed cookie; login throttling uses the
existing ``login_attempts`` indexes. Adding a nullable column is allowed on
the append-only table (its triggers refuse UPDATE and DELETE of rows only).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('audit_log', sa.Column('mac', sa.String(length=64), nullable=True))


def downgrade() -> None:
    # SQLite cannot drop a column of a table with triggers through batch mode without
    # recreating them; the column is nullable and unused by older code, so it stays.
    if op.get_bind().dialect.name != 'sqlite':
        op.drop_column('audit_log', 'mac')
