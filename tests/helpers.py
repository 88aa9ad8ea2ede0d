"""Helpers shared by the test modules (importable: pyproject sets pythonpath = tests)."""

from __future__ import annotations

import functools
from pathlib import Path

from click.testing import CliRunner
from duban.cli.main import cli
from duban.engine.calendar import WorkingCalendar
from duban.engine.deadlines import Offset
from duban.engine.importer import import_result
from duban.engine.planfile import LoadResult, load_plans

REPO = Path(__file__).resolve().parent.parent
CAL = WorkingCalendar.default()
DEFAULT_OFFSET = Offset(unit="working_days", amount=10)
CHECKINS = ((6, 30), (9, 30))


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
