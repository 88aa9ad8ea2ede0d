"""What every store-backed command needs: settings, the database, the calendar.

Built lazily, once per command, from the configuration (``config.yaml``,
``DUBAN_CONFIG``, ``DUBAN_*``). Commands call :func:`app` and never open
connections of their own, so tests point a whole command at a store with two
environment variables.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import click
import pendulum
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from ..engine.deadlines.calendar import WorkingCalendar, data_dirs
from ..engine.runtime.settings import ConfigError, Settings, load_settings
from ..errors import CalendarYearMissing, DubanError
from ..store.db import make_engine, session_factory, upgrade

F = TypeVar("F", bound=Callable[..., Any])

EXIT_INVALID = 1
EXIT_USAGE = 2
EXIT_CALENDAR = 3


@dataclass
class App:
    settings: Settings
    _engine: Engine | None = None
    _calendar: WorkingCalendar | None = None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = make_engine(self.settings.database_url)
            upgrade(self._engine)  # commands on a fresh database migrate it themselves
        return self._engine

    @property
    def sessions(self) -> sessionmaker[Session]:
        return session_factory(self.engine)

    @property
    def calendar(self) -> WorkingCalendar:
        if self._calendar is None:
            self._calendar = (WorkingCalendar.load(data_dirs(self.settings.calendar_dirs))
                              if self.settings.calendar_dirs else WorkingCalendar.default())
        return self._calendar

    def today(self) -> dt.date:
        """Today in the configured time zone (only the CLI asks for it; the engine takes as_of)."""
        return pendulum.now(self.settings.timezone).date()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with self.sessions() as session, session.begin():
            yield session


def app() -> App:
    ctx = click.get_current_context()
    root = ctx.find_root()
    if root.obj is None:
        try:
            root.obj = App(load_settings())
        except ConfigError as exc:
            click.echo(str(exc), err=True)
            ctx.exit(EXIT_INVALID)
    return root.obj


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
