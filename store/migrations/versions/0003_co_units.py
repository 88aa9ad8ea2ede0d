"""co-responsible units (配合单位) on requirements and assignments

A requirement keeps its 配合单位 cell as written (``co_units_as_written``,
beside ``units_as_written``); each co-unit gets an ``assignments`` row with
``role = 'co'``. Co-units owe no obligation of their own: the tick copies them
on the lead unit's reminders and the dashboard lists their 配合事项, both of
which look assignments up by unit and role, hence the index. The column is
nullable so rows written before this migration (and plans without co-units)
need no backfill.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # batch mode: SQLite recreates the table, PostgreSQL alters it in place.
    with op.batch_alter_table('requirements', schema=None) as batch_op:
        batch_op.add_column(sa.Column('co_units_as_written', sa.Text(), nullable=True))
    with op.batch_alter_table('assignments', schema=None) as batch_op:
        batch_op.create_index('ix_assignments_unit_id_role', ['unit_id', 'role'], unique=False)


def downgrade() -> None:
    # Co-unit assignments would read as lead units to code that predates this revision.
    op.execute(sa.text("DELETE FROM assignments WHERE role = 'co'"))
    with op.batch_alter_table('assignments', schema=None) as batch_op:
        batch_op.drop_index('ix_assignments_unit_id_role')
    with op.batch_alter_table('requirements', schema=None) as batch_op:
        batch_op.drop_column('co_units_as_written')
