"""Helpers shared by the test modules (importable: pyproject sets pythonpath = tests)."""

from __future__ import annotations

import functools
from pathlib import Path

from click.testing import CliRunner
from duban.cli.main import cli
from duban.engine.deadlines.calendar import WorkingCalendar
from duban.engine.deadlines.spec import Offset
from duban.engine.plans.importer import import_result
from duban.engine.plans.planfile import LoadResult, load_plans
from duban.engine.reminders.policy import load_policy

REPO = Path(__file__).resolve().parent.parent
CAL = WorkingCalendar.default()
DEFAULT_OFFSET = Offset(unit="working_days", amount=10)
CHECKINS = ((6, 30), (9, 30))
YELLOW = load_policy().yellow_within
"""The shipped policy's "due soon" threshold (黄): what the runtime passes to every status query."""


def run(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    """Invoke the ``duban`` command in-process: (exit code, stdout, stderr)."""
    result = CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@functools.cache
def seed_plans() -> LoadResult:
    """The two seed plans, loaded and validated once per test run."""
    return load_plans([REPO / "rules" / "plans"], units_dirs=[REPO / "rules" / "units"], calendar=CAL)


def import_seed(store) -> None:  # type: ignore[no-untyped-def]
    """Import the seed plans into a test store, as `duban plan import` does."""
    with store.sessions() as s, s.begin():
        import_result(s, seed_plans(), calendar=CAL, actor="test", default_offset=DEFAULT_OFFSET, checkins=CHECKINS)


def create_database(admin, *, prefix: str, template: str | None = None) -> str:  # type: ignore[no-untyped-def]
    """CREATE DATABASE on the PostgreSQL server (optionally from a template); returns its name.

    Identifiers cannot be bound parameters: the generated name is quoted by the
    dialect's own identifier preparer.
    """
    import uuid

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    quote = admin.dialect.identifier_preparer.quote
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {quote(name)}" + (f" TEMPLATE {quote(template)}" if template else ""))
    return name


def drop_database(admin, name: str) -> None:  # type: ignore[no-untyped-def]
    """DROP DATABASE … WITH (FORCE): also ends connections a failed test left open."""
    with admin.connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {admin.dialect.identifier_preparer.quote(name)} WITH (FORCE)")


def database_url(admin, name: str) -> str:  # type: ignore[no-untyped-def]
    return admin.url.set(database=name).render_as_string(hide_password=False)


def scratch_runtime(folder: Path, plan_dirs: list[Path]):  # type: ignore[no-untyped-def]
    """A migrated SQLite store in ``folder`` with ``plan_dirs`` imported: (settings, runtime).

    The browser tests serve this store to Chromium; each adds its own accounts after.
    """
    from duban.engine.runtime.build import build_runtime
    from duban.engine.runtime.settings import load_settings
    from duban.store.db import make_engine, upgrade

    url = f"sqlite:///{folder / 'duban.db'}"
    settings = load_settings(environ={"DUBAN_DATABASE_URL": url, "DUBAN_OUTBOX_DIR": str(folder / "outbox")})
    engine = make_engine(url)
    upgrade(engine)
    rt = build_runtime(settings, engine=engine)
    result = load_plans(plan_dirs, units_dirs=list(settings.units_dirs), calendar=rt.calendar)
    assert not result.errors, [e.format() for e in result.errors]
    with rt.sessions() as s, s.begin():
        import_result(s, result, calendar=rt.calendar, actor="test", source="cli",
                      default_offset=Offset(unit="working_days", amount=settings.trigger_default_offset_working_days),
                      checkins=settings.ongoing_checkins)
    return settings, rt


def dated_url(base: str, path: str, as_of: object) -> str:
    """``base + path`` seen as of a day (``?as_of=`` or ``&as_of=``): how the browser tests open a page."""
    sep = "&" if "?" in path else "?"
    return f"{base}{path}{sep}as_of={as_of}"
