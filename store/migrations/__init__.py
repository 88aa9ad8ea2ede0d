"""Alembic migrations for the duban store."""
