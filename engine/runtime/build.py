"""The one factory: settings in, a wired engine out (ticker, notifier, sessions).

Plugins are built explicitly here — no entry points, no string lookups
elsewhere — so a reader sees in one page what the main job is made of.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pendulum
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from ...notifiers.abc import Notifier
from ...notifiers.factory import build_notifier
from ...notifiers.render import DigestRenderer
from ...store.db import make_engine, session_factory, upgrade
from ..deadlines.calendar import WorkingCalendar, data_dirs
from .settings import Settings
from ..deadlines.spec import Offset
from ..reminders.delivery import DeliveryReport, deliver_pending
from ..services.events import Projection
from ..reminders.policy import ReminderPolicy, load_policy
from ..reminders.rules_durable import evaluate as evaluate_durable
from ..reminders.tick import Ticker, TickResult


@dataclass
class Runtime:
    """Everything the main job needs, built once per process."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    calendar: WorkingCalendar
    policy: ReminderPolicy
    ticker: Ticker
    notifier_factory: Callable[[], Notifier]

    @property
    def projection(self) -> Projection:
        return Projection(calendar=self.calendar,
                          default_offset=Offset(unit="working_days",
                                                amount=self.settings.trigger_default_offset_working_days),
                          checkins=self.settings.ongoing_checkins)

    def tick_time(self, day: dt.date) -> dt.datetime:
        """The configured tick hour on ``day`` in the configured zone, as an aware UTC instant."""
        s = self.settings.schedule
        local = pendulum.datetime(day.year, day.month, day.day, s.hour, s.minute, tz=self.settings.timezone)
        return dt.datetime.fromtimestamp(local.timestamp(), tz=dt.timezone.utc)

    def run_tick(self, as_of: dt.date, *, dry_run: bool = False, now: dt.datetime | None = None) -> tuple[TickResult, DeliveryReport | None]:
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


def notifier_settings(settings: Settings) -> dict[str, Any]:
    """The flat mapping :func:`build_notifier` takes (it reads the password variable itself)."""
    n = dict(settings.notifier)
    kind = n["kind"]
    out: dict[str, Any] = {"kind": kind}
    if kind == "outbox":
        out["folder"] = n["outbox_dir"]
    elif kind == "smtp":
        smtp = dict(n.get("smtp", {}))
        if not smtp.get("username"):  # no login: no password variable either
            smtp.pop("username", None)
            smtp.pop("password_env", None)
        if not smtp.get("max_per_minute"):
            smtp.pop("max_per_minute", None)
        out.update(smtp)
    else:
        out.update(n.get("webhook", {}))
    return out


def build_runtime(settings: Settings, *, engine: Engine | None = None,
                  calendar: WorkingCalendar | None = None) -> Runtime:
    engine = engine or make_engine(settings.database_url)
    upgrade(engine)
    sessions = session_factory(engine)
    calendar = calendar or (WorkingCalendar.load(data_dirs(settings.calendar_dirs)) if settings.calendar_dirs
                            else WorkingCalendar.default())
    policy = load_policy(settings.ruleset, overrides=settings.reminder_overrides or None)
    n = settings.notifier
    renderer = None
    if n.get("templates_dir") or n.get("contact"):
        # Officials may edit the templates: those from outside the package render sandboxed.
        renderer = DigestRenderer(Path(n["templates_dir"]) if n.get("templates_dir") else None,
                                  **({"contact": n["contact"]} if n.get("contact") else {}))
        renderer.check()
    ticker = Ticker(sessions=sessions, calendar=calendar, policy=policy, evaluate=evaluate_durable,
                    sender=str(settings.notifier["sender"]),
                    message_id_domain=str(settings.notifier["message_id_domain"]),
                    dashboard_url=settings.web_base_url, working_days_only=settings.schedule.working_days_only,
                    renderer=renderer)
    n_settings = notifier_settings(settings)
    return Runtime(settings=settings, engine=engine, sessions=sessions, calendar=calendar, policy=policy,
                   ticker=ticker, notifier_factory=lambda: build_notifier(n_settings))
