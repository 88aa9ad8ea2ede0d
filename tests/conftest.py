"""Shared fixtures: real stores (a SQLite file and PostgreSQL), fresh per test.

PostgreSQL is a real server (127.0.0.1:5432, trust auth). It is required: an
unreachable server fails the run instead of skipping, so a green run always
means both backends were exercised. Each test gets its own database cloned
from a migrated template, which costs ~0.1 s instead of re-running migrations.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from duban.store.db import make_engine, session_factory, upgrade
from helpers import create_database, database_url, drop_database
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker

PG_ADMIN_URL = os.environ.get("DUBAN_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def pg_admin() -> Iterator[Engine]:
    """An autocommit connection to the server, for CREATE/DROP DATABASE."""
    engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # pragma: no cover - environment problem, reported loudly
        pytest.fail(f"PostgreSQL is required for the store tests and is not reachable at {PG_ADMIN_URL}: {exc}")
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def pg_template(pg_admin: Engine) -> Iterator[str]:
    """A migrated template database, cloned for each test."""
    name = create_database(pg_admin, prefix=f"duban_tpl_{os.getpid()}")
    engine = make_engine(database_url(pg_admin, name))
    upgrade(engine)
    engine.dispose()
    yield name
    drop_database(pg_admin, name)


@dataclass
class Store:
    """A migrated database for one test: its URL, engine and session factory."""

    backend: str
    url: str
    engine: Engine
    sessions: sessionmaker[Session]


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A fresh, migrated store on each backend: the store suite runs on both."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'duban.db'}"
        engine = make_engine(url)
        upgrade(engine)
        yield Store("sqlite", url, engine, session_factory(engine))
        engine.dispose()
        return
    pg_admin: Engine = request.getfixturevalue("pg_admin")
    template: str = request.getfixturevalue("pg_template")
    name = create_database(pg_admin, prefix="duban_t", template=template)
    url = database_url(pg_admin, name)
    engine = make_engine(url)
    yield Store("postgresql", url, engine, session_factory(engine))
    engine.dispose()
    drop_database(pg_admin, name)


@pytest.fixture
def env_for(tmp_path: Path):
    """Environment variables that point a CLI run at a store and a private outbox."""

    def make(store: Store) -> dict[str, str]:
        return {
            "DUBAN_DATABASE_URL": store.url,
            "DUBAN_OUTBOX_DIR": str(tmp_path / "outbox"),
        }

    return make


@pytest.fixture
def seeded(store: Store) -> Store:
    """A store with the two seed plans imported."""
    from helpers import import_seed

    import_seed(store)
    return store
