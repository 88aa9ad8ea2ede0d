"""What every benchmark needs: stderr progress, peak memory, a scratch database on either backend.

Benchmarks run as scripts (``python bench/NAME.py``), so this folder is on
``sys.path`` and they ``import _common``.
"""

from __future__ import annotations

import resource
import sys
import uuid
from pathlib import Path

from sqlalchemy import create_engine

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def log(msg: str) -> None:
    """Progress goes to stderr; stdout carries only the final JSON line."""
    print(msg, file=sys.stderr, flush=True)


def rss_mb() -> float:
    """Peak resident memory of this process so far, in MB."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def database(backend: str, tmp: Path, stem: str = "bench") -> tuple[str, str | None]:
    """A fresh database URL; for PostgreSQL also the database's name (to drop it afterwards)."""
    if backend == "sqlite":
        return f"sqlite:///{tmp / f'{stem}-{uuid.uuid4().hex[:6]}.db'}", None
    name = f"duban_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:  # an identifier cannot be a bound parameter: quote it
        conn.exec_driver_sql(f"CREATE DATABASE {admin.dialect.identifier_preparer.quote(name)}")
    return PG_ADMIN.rsplit("/", 1)[0] + "/" + name, name


def drop(name: str | None) -> None:
    """Drop a PostgreSQL scratch database made by :func:`database` (no-op for SQLite)."""
    if name:
        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {admin.dialect.identifier_preparer.quote(name)} WITH (FORCE)")
