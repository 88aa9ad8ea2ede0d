"""The SQL store: typed SQLAlchemy models, sessions and migrations."""
