"""``duban run``: the daily tick on a schedule, one process per database.

APScheduler 3.x is used as an in-memory wake-up only (its persistent job
stores cannot be shared between processes and silently drop jobs that no
longer unpickle); all durable state lives in duban's own tables. Choices:

* one cron job at the configured hour, in the configured time zone; ``coalesce=True`` and
  ``max_instances=1`` so a slow tick never overlaps the next;
* an explicit misfire policy: a generous ``misfire_grace_time`` (default
  12 h — APScheduler's default of 1 s would skip a tick after a short stall),
  plus a catch-up at start-up: if today's tick time has passed and no tick
  ran today, run one now. The tick itself catches up on everything that fell
  due while the process was down;
* a **lease** row: a second ``duban run`` on the same database refuses to
  start while the first holds the lease (renewed every minute), so two
  processes never send twice; an expired lease (a crashed holder) is taken
  over;
* SIGTERM/SIGINT stop the scheduler after the running tick finishes (the
  scheduler runs in a background thread; the main thread waits for a stop
  request, so a signal at any moment is handled).
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import socket
import threading
from collections.abc import Callable
from typing import Any

import pendulum
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from ...store.models import Lease, TickRun, utcnow
from ...errors import DubanError
from .build import Runtime
from .proposals import scan_inbox

LEASE_NAME = "scheduler"


class LeaseHeld(DubanError, RuntimeError):
    """Another process runs the scheduler on this database."""


def holder_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def acquire_lease(sessions: sessionmaker[Session], *, holder: str, ttl: dt.timedelta,
                  now: dt.datetime | None = None) -> None:
    """Take the lease or raise :class:`LeaseHeld` naming the current holder."""
    now = now or utcnow()
    try:
        with sessions() as s, s.begin():
            lease = s.get(Lease, LEASE_NAME, with_for_update=True)
            if lease is None:
                s.add(Lease(name=LEASE_NAME, holder=holder, expires_at=now + ttl))
            elif lease.holder == holder or lease.expires_at <= now:
                lease.holder, lease.expires_at = holder, now + ttl
            else:
                raise LeaseHeld(f"another `duban run` ({lease.holder!r}) holds the scheduler lease on this "
                                f"database until {lease.expires_at.isoformat()}; refusing to start a second one")
    except IntegrityError:  # two starters raced to insert the row: the other one won
        raise LeaseHeld("another `duban run` took the scheduler lease at the same moment") from None


def renew_lease(sessions: sessionmaker[Session], *, holder: str, ttl: dt.timedelta) -> bool:
    with sessions() as s, s.begin():
        lease = s.get(Lease, LEASE_NAME, with_for_update=True)
        if lease is None or lease.holder != holder:
            return False
        lease.expires_at = utcnow() + ttl
        return True


def release_lease(sessions: sessionmaker[Session], *, holder: str) -> None:
    with sessions() as s, s.begin():
        lease = s.get(Lease, LEASE_NAME)
        if lease is not None and lease.holder == holder:
            lease.expires_at = utcnow()


def ticked_today(sessions: sessionmaker[Session], day: dt.date) -> bool:
    with sessions() as s:
        return s.execute(select(TickRun.id).where(TickRun.as_of == day).limit(1)).first() is not None


def run_scheduler(rt: Runtime, *, log: Callable[[str], None] = print,
                  ttl: dt.timedelta = dt.timedelta(minutes=3),
                  on_started: Callable[[BackgroundScheduler], Any] | None = None) -> None:
    """Block running the daily tick until SIGTERM/SIGINT."""
    holder = holder_id()
    acquire_lease(rt.sessions, holder=holder, ttl=ttl)
    tz = rt.settings.timezone
    sched_cfg = rt.settings.schedule
    scheduler = BackgroundScheduler(timezone=tz)
    stopping = threading.Event()

    def job() -> None:
        now = utcnow()
        as_of = pendulum.instance(now).in_timezone(tz).date()
        result, report = rt.run_tick(as_of, now=now)
        log(f"tick {as_of}: {result.sent} reminder(s) in {result.digests} digest(s), {result.skipped} skipped"
            + (f"; delivered {report.to_json()}" if report else "") + (" (rest day)" if result.rest_day else ""))

    def scan() -> None:
        """The inbox scan (收文), one transaction; a source that fails is logged, the tick still runs."""
        try:
            found = scan_inbox(rt.sessions)
        except DubanError as exc:
            log(f"inbox scan failed: {exc}")
            return
        if found is not None:
            log(f"inbox scan: {found.new} new document(s), {len(found.proposals)} proposal(s)")

    def renew() -> None:
        if not renew_lease(rt.sessions, holder=holder, ttl=ttl):
            log("lost the scheduler lease; stopping")
            stopping.set()

    scheduler.add_job(job, CronTrigger(hour=sched_cfg.hour, minute=sched_cfg.minute, timezone=tz), id="tick",
                      coalesce=True, max_instances=1, misfire_grace_time=sched_cfg.misfire_grace_seconds)
    # Scanned an hour before the tick, so today's digest lists what came in overnight.
    scheduler.add_job(scan, CronTrigger(hour=(sched_cfg.hour - 1) % 24, minute=sched_cfg.minute, timezone=tz),
                      id="inbox-scan", coalesce=True, max_instances=1,
                      misfire_grace_time=sched_cfg.misfire_grace_seconds)
    scheduler.add_job(renew, IntervalTrigger(seconds=max(5, int(ttl.total_seconds() / 3))), id="lease",
                      coalesce=True, max_instances=1)
    today = pendulum.now(tz).date()
    if utcnow() >= rt.tick_time(today) and not ticked_today(rt.sessions, today):
        scheduler.add_job(job, id="catch-up")  # runs once, right away
        log(f"today's tick time has passed and no tick ran on {today}: catching up now")

    def stop(signum: int, _frame: Any) -> None:
        log(f"received {signal.Signals(signum).name}: stopping after the running tick")
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        # The scheduler runs in its own thread; the main thread only waits for a
        # stop request, so a signal at any moment (even before start) is safe.
        scheduler.start()
        log(f"duban run: daily tick at {sched_cfg.hour:02d}:{sched_cfg.minute:02d} {tz}; lease held by {holder}")
        if on_started:
            on_started(scheduler)
        while not stopping.wait(timeout=1.0):
            pass
        scheduler.shutdown(wait=True)  # lets a running tick finish
    finally:
        release_lease(rt.sessions, holder=holder)
        log("duban run: stopped, lease released")
