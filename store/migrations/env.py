"""Alembic environment: runs on the connection :func:`duban.store.db.upgrade` passes.

No alembic.ini: the database URL comes from duban's configuration, so there is
exactly one place to set it.
"""

from __future__ import annotations

from alembic import context

from duban.store.models import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - only when someone runs `alembic` by hand
    raise RuntimeError("run migrations through `duban db upgrade`")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
