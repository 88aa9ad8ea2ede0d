"""The one factory: settings in, a wired runtime out (store, calendar, policy, ticker, notifier).

The CLI, the dashboard, the scheduler and the tests all get their parts from
:func:`build_runtime`, so a setting means the same thing everywhere: the
calendar a command counts on is the one the tick counts on, with the same
extra calendar years. Parts are built on first use and then kept, so a
command that only compiles a phrase never opens the database, and one that
does opens it once (and migrates a fresh one). Plugins are built explicitly
here — no entry points, no string lookups elsewhere — so a reader sees in
one page what the main job is made of.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pendulum
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from ...notifiers.abc import Notifier
from ...notifiers.factory import build_notifier
from ...notifiers.render import DigestRenderer
from ...store.db import make_engine, session_factory, upgrade
from ..deadlines.calendar import CHINA_TZ, WorkingCalendar, data_dirs
from ..deadlines.spec import Offset
from ..reminders.delivery import DeliveryReport, deliver_pending
from ..reminders.policy import ReminderPolicy, load_policy
from ..reminders.rules_durable import evaluate as evaluate_durable
from ..reminders.tick import Ticker, TickResult
from ..services.queries import co_units_by_requirement
from .proposals import proposal_notes
from .scores import directory_ranking
from ..services.events import Projection
from .settings import Settings


def load_calendar(settings: Settings) -> WorkingCalendar:
    """The working-day calendar of ``settings``: the shipped years plus every configured folder.

    The folders are resolved once, in :func:`~.settings.load_settings`
    (``calendar.extra_dirs``, then ``$DUBAN_CALENDAR_DIRS``, then
    ``--data-dir``), so every command counts on the same years. The calendar
    carries the configured ``timezone``: every "which day is it" question
    (an event's instant, an hour window) is answered in that zone.
    """
    tz = ZoneInfo(settings.timezone)
    if not settings.calendar_dirs and tz == CHINA_TZ:
        return WorkingCalendar.default()
    return WorkingCalendar.load(data_dirs(settings.calendar_dirs), tz=tz)


def notifier_settings(settings: Settings) -> dict[str, Any]:
    """The flat mapping :func:`~duban.notifiers.factory.build_notifier` takes for the configured kind.

    Unset optional values are left out, so the notifier applies its own
    documented behaviour (system CAs, this host's name, no rate limit).
    """
    n = settings.notifier
    kind = n["kind"]
    out: dict[str, Any] = {"kind": kind}
    if kind == "outbox":
        out.update(folder=n["outbox_dir"], retry_after=n["outbox"]["retry_after"])
        return out
    section = dict(n[kind])
    if kind == "smtp":
        if not section.get("username"):  # no login: no password variable either
            section.pop("username", None)
            section.pop("password_env", None)
        if not section.get("max_per_minute"):
            section.pop("max_per_minute", None)
    elif not section.get("url"):
        section.pop("url", None)
    out.update({key: value for key, value in section.items() if value is not None})
    return out


class Runtime:
    """Everything a command, the dashboard or the main job needs, built once per process.

    ``engine`` and ``calendar`` may be given (tests pass their store's
    engine); every other part comes from the settings. ``notifier_factory``
    is an attribute so a test can put a notifier of its own in its place.
    """

    def __init__(self, settings: Settings, *, engine: Engine | None = None,
                 calendar: WorkingCalendar | None = None) -> None:
        self.settings = settings
        if engine is not None:
            upgrade(engine)
            self.__dict__["engine"] = engine
        if calendar is not None:
            self.__dict__["calendar"] = calendar
        n_settings = notifier_settings(settings)
        self.notifier_factory: Callable[[], Notifier] = lambda: build_notifier(n_settings)

    @cached_property
    def engine(self) -> Engine:
        """The store, migrated on first use (a command on a fresh database sets it up itself)."""
        engine = make_engine(self.settings.database_url)
        upgrade(engine)
        return engine

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        return session_factory(self.engine)

    @cached_property
    def calendar(self) -> WorkingCalendar:
        return load_calendar(self.settings)

    @cached_property
    def policy(self) -> ReminderPolicy:
        return load_policy(self.settings.ruleset, overrides=self.settings.reminder_overrides or None)

    @cached_property
    def renderer(self) -> DigestRenderer | None:
        """The digest renderer: edited templates or a contact line if configured, checked now.

        Emails are dated in the configured time zone.
        """
        n = self.settings.notifier
        # Officials may edit the templates: those from outside the package render sandboxed.
        renderer = DigestRenderer(Path(n["templates_dir"]) if n.get("templates_dir") else None,
                                  **({"contact": n["contact"]} if n.get("contact") else {}),
                                  tz=ZoneInfo(self.settings.timezone))
        renderer.check()
        return renderer

    @property
    def due_soon_within(self) -> int:
        """"Due soon" (黄) for everyone — dashboard, CLI, report, emails: the policy's ``yellow_within``."""
        return self.policy.yellow_within

    @cached_property
    def ticker(self) -> Ticker:
        n = self.settings.notifier
        return Ticker(sessions=self.sessions, calendar=self.calendar, policy=self.policy, evaluate=evaluate_durable,
                      sender=str(n["sender"]), message_id_domain=str(n["message_id_domain"]),
                      dashboard_url=self.settings.web_base_url,
                      working_days_only=self.settings.schedule.working_days_only, renderer=self.renderer,
                      scores=directory_ranking(self.calendar, due_soon_within=self.due_soon_within), co_units=co_units_by_requirement,
                      proposals=proposal_notes)

    @property
    def projection(self) -> Projection:
        """Re-projection settings: the calendar, the default trigger window, the check-in days."""
        return Projection(calendar=self.calendar,
                          default_offset=Offset(unit="working_days",
                                                amount=self.settings.trigger_default_offset_working_days),
                          checkins=self.settings.ongoing_checkins)

    def today(self) -> dt.date:
        """Today in the configured zone: for the edges (CLI, dashboard); the engine itself takes ``as_of``."""
        return pendulum.now(self.settings.timezone).date()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on an error."""
        with self.sessions() as session, session.begin():
            yield session

    def tick_time(self, day: dt.date) -> dt.datetime:
        """The configured tick hour on ``day`` in the configured zone, as an aware UTC instant."""
        s = self.settings.schedule
        local = pendulum.datetime(day.year, day.month, day.day, s.hour, s.minute, tz=self.settings.timezone)
        return dt.datetime.fromtimestamp(local.timestamp(), tz=dt.timezone.utc)

    def run_tick(self, as_of: dt.date, *, dry_run: bool = False,
                 now: dt.datetime | None = None) -> tuple[TickResult, DeliveryReport | None]:
        """Decide, then deliver what is pending (delivery is skipped on a dry run)."""
        result = self.ticker.tick(as_of, dry_run=dry_run)
        if dry_run:
            return result, None
        notifier = self.notifier_factory()
        try:
            report = deliver_pending(self.sessions, notifier, now=now or self.tick_time(as_of),
                                     sender=str(self.settings.notifier["sender"]))
        finally:
            notifier.close()
        return result, report


def build_runtime(settings: Settings, *, engine: Engine | None = None,
                  calendar: WorkingCalendar | None = None) -> Runtime:
    """The runtime for ``settings`` (the CLI, the dashboard and the tests all start here)."""
    return Runtime(settings, engine=engine, calendar=calendar)
