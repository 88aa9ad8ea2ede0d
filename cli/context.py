"""What every command needs: the runtime built from the configuration, once per command.

Built lazily from the configuration (``config.yaml``, ``DUBAN_CONFIG``,
``DUBAN_*``, ``--data-dir``) by the one settings → runtime factory,
:func:`duban.engine.runtime.build.build_runtime`, the same the dashboard and
the tests use. Commands call :func:`app` and never open connections or load
calendars of their own, so tests point a whole command at a store with two
environment variables, and a calendar year added through any of the three
documented ways is seen by every command.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from ..engine.runtime.build import Runtime, build_runtime
from ..engine.runtime.settings import CALENDAR_DIRS_ENV, ConfigError, load_settings
from ..errors import CalendarYearMissing, DubanError

F = TypeVar("F", bound=Callable[..., Any])

EXIT_INVALID = 1
EXIT_USAGE = 2
EXIT_CALENDAR = 3

#: What a command works with: the runtime (settings, engine, sessions, calendar, today(), transaction()).
App = Runtime

_DATA_DIRS = "duban.calendar.data_dirs"


def _remember_data_dirs(ctx: click.Context, _param: click.Parameter, value: tuple[Path, ...]) -> tuple[Path, ...]:
    ctx.meta.setdefault(_DATA_DIRS, []).extend(value)
    return value


#: ``--data-dir DIR`` (repeatable), accepted by ``duban`` itself and by ``duban calendar``:
#: an extra folder of calendar years, read after ``calendar.extra_dirs`` and ``$DUBAN_CALENDAR_DIRS``.
data_dir_option = click.option(
    "--data-dir", "data_dirs", multiple=True, expose_value=False, is_eager=True, callback=_remember_data_dirs,
    type=click.Path(file_okay=False, path_type=Path),
    help=f"An extra folder of YYYY.yaml working-day calendar files, read after the shipped years, the config's "
         f"calendar.extra_dirs and ${CALENDAR_DIRS_ENV} (repeatable; a year found again replaces the earlier one).")


def app() -> Runtime:
    """This command's runtime, built on first use; a bad configuration exits 1 listing every problem."""
    ctx = click.get_current_context()
    root = ctx.find_root()
    if root.obj is None:
        try:
            settings = load_settings(calendar_dirs=tuple(ctx.meta.get(_DATA_DIRS, ())))
        except ConfigError as exc:
            click.echo(str(exc), err=True)
            ctx.exit(EXIT_INVALID)
        root.obj = build_runtime(settings)
    obj: Runtime = root.obj
    return obj


def handle_errors(fn: F) -> F:
    """Turn duban's errors into a clear message and the contract's exit code."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except CalendarYearMissing as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(EXIT_CALENDAR)
        except (DubanError, LookupError) as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(EXIT_INVALID)

    return wrapper  # type: ignore[return-value]


def parse_day(value: str | None, param: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a real date YYYY-MM-DD", param_hint=param) from None


def echo_json(value: Any) -> None:
    click.echo(json.dumps(value, ensure_ascii=False, indent=2, default=str))
