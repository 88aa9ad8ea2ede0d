"""Several engine processes on one database: one leader ticks, every process sends.

``duban run`` (:mod:`.scheduler`) is one process per database: a second one
refuses. For availability a province runs several (``duban run --cluster``),
on one or more hosts, against one PostgreSQL:

* **Leadership** is a row in ``leases`` (name ``leader``), taken and renewed
  with one compare-and-set ``UPDATE … WHERE holder = me OR expires_at <= now``
  — atomic on both backends, no lock held between statements. The holder
  renews it every ``ttl / 3`` from a background thread, even in the middle of
  a long tick. A killed leader stops renewing; at most one ``ttl`` later
  another process's next poll takes the lease over (``epoch`` + 1) and, seeing
  no finished tick for the day, runs it: the tick is idempotent per batch
  (unique stage records), so it finishes what the dead leader started and
  records nothing twice. Two leaders at once (a paused process waking after
  its lease expired) are therefore a waste, never a double send.
* **Sending** is shared: every process claims outbox rows
  (:mod:`..reminders.claims`, ``SKIP LOCKED`` on PostgreSQL) and delivers them.

Why a lease rather than a PostgreSQL advisory lock: it works on SQLite too
(the embedded default and the tests), it survives a connection pool that
recycles connections, and "replaced within one lease period" is a number an
operator can set and read in the table.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass

import pendulum
from sqlalchemy import case, insert, or_, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from ...store.models import Lease, TickRun, utcnow
from ..reminders.claims import RetryPolicy, SenderConfig, deliver_claimed
from .build import Runtime

LEADER = "leader"
Log = Callable[[str], None]


def node_id() -> str:
    """This process, as other processes see it in the lease and claim columns."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True, kw_only=True, slots=True)
class Leadership:
    """A held lease: who, which term (``epoch``), until when."""

    holder: str
    epoch: int
    expires_at: dt.datetime


class LeaderLease:
    """Take, renew and release the leader lease of one database."""

    def __init__(self, sessions: sessionmaker[Session], *, holder: str, ttl: dt.timedelta,
                 name: str = LEADER) -> None:
        self.sessions = sessions
        self.holder = holder
        self.ttl = ttl
        self.name = name

    def try_acquire(self, now: dt.datetime | None = None) -> Leadership | None:
        """Take or renew the lease if it is free, expired or ours; None when another process holds it."""
        now = now or utcnow()
        until = now + self.ttl
        t = Lease.__table__
        try:
            with self.sessions() as s, s.begin():
                # One statement decides: no read-then-write race between processes.
                taken = s.execute(
                    update(t).where(t.c.name == self.name, or_(t.c.holder == self.holder, t.c.expires_at <= now))
                    .values(epoch=case((t.c.holder == self.holder, t.c.epoch), else_=t.c.epoch + 1),
                            holder=self.holder, expires_at=until)).rowcount
                if not taken:
                    if s.get(Lease, self.name) is not None:
                        return None
                    s.execute(insert(t).values(name=self.name, holder=self.holder, expires_at=until, epoch=1))
                epoch = s.scalar(select(t.c.epoch).where(t.c.name == self.name))
        except DBAPIError:  # lost an insert race, or the store is briefly unreachable: not leading now
            return None
        return Leadership(holder=self.holder, epoch=int(epoch or 0), expires_at=until)

    def release(self) -> None:
        """Let the next process take over at once (a clean stop does not make it wait a whole ttl)."""
        t = Lease.__table__
        with self.sessions() as s, s.begin():
            s.execute(update(t).where(t.c.name == self.name, t.c.holder == self.holder).values(expires_at=utcnow()))

    def current(self) -> Leadership | None:
        """Who holds the lease now, for operators (``None``: nobody ever took it)."""
        with self.sessions() as s:
            lease = s.get(Lease, self.name)
            if lease is None:
                return None
            return Leadership(holder=lease.holder, epoch=lease.epoch, expires_at=lease.expires_at)


class _Renewer(threading.Thread):
    """Renews the lease every ``ttl / 3`` while this process leads, a long tick included."""

    def __init__(self, lease: LeaderLease, log: Log) -> None:
        super().__init__(name="leader-renewal", daemon=True)
        self.lease, self.log = lease, log
        self.leading = threading.Event()
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(self.lease.ttl.total_seconds() / 3):
            if self.leading.is_set() and self.lease.try_acquire() is None:
                self.leading.clear()
                self.log("lost the leader lease")


@dataclass(kw_only=True)
class NodeOptions:
    """How one cluster process behaves; the defaults suit production, tests shorten them."""

    lease_ttl: dt.timedelta = dt.timedelta(seconds=30)
    poll: float = 2.0
    claim_ttl: dt.timedelta = dt.timedelta(minutes=5)
    chunk: int = 100
    chunks_per_round: int = 10
    retry: RetryPolicy = RetryPolicy()
    #: Tick this day (once) instead of today: for drills, replays and tests.
    as_of: dt.date | None = None


def ticked(sessions: sessionmaker[Session], day: dt.date) -> bool:
    """Whether a tick for ``day`` finished (a killed tick wrote no TickRun row: it is run again)."""
    with sessions() as s:
        return s.execute(select(TickRun.id).where(TickRun.as_of == day).limit(1)).first() is not None


def run_node(rt: Runtime, *, stop: threading.Event, options: NodeOptions | None = None, log: Log = print,
             holder: str | None = None) -> None:
    """Lead when the lease is free (tick the day once), send always, until ``stop`` is set."""
    opts = options or NodeOptions()
    me = holder or node_id()
    lease = LeaderLease(rt.sessions, holder=me, ttl=opts.lease_ttl)
    renewer = _Renewer(lease, log)
    renewer.start()
    n = rt.settings.notifier
    cfg = SenderConfig(worker=me, sender=str(n["sender"]), message_id_domain=str(n["message_id_domain"]),
                       dashboard_url=rt.settings.web_base_url, claim_ttl=opts.claim_ttl, chunk=opts.chunk,
                       retry=opts.retry, renderer=rt.renderer)
    done_days: set[dt.date] = set()
    log(f"duban node {me}: lease ttl {opts.lease_ttl.total_seconds():.0f} s, claims of {opts.chunk}")
    try:
        while not stop.is_set():
            try:
                worked = _round(rt, opts, lease, renewer, cfg, done_days, log)
            except DBAPIError as exc:
                # The database went away or a concurrent leader won a batch: every
                # step is idempotent, so wait a poll and do the round again.
                log(f"{me}: database error, retrying: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
                worked = False
            if not worked:
                stop.wait(opts.poll)
    finally:
        renewer.stopped.set()
        if renewer.leading.is_set():
            lease.release()
        log(f"duban node {me}: stopped")


def _round(rt: Runtime, opts: NodeOptions, lease: LeaderLease, renewer: _Renewer, cfg: SenderConfig,
           done_days: set[dt.date], log: Log) -> bool:
    """One poll: lead if the lease is ours (tick), then claim and send; whether any work was done."""
    worked = False
    if lease.try_acquire() is not None:
        if not renewer.leading.is_set():
            log(f"{lease.holder} leads")
            renewer.leading.set()
        worked = _lead(rt, opts, done_days, log)
    else:
        renewer.leading.clear()
    notifier = rt.notifier_factory()
    try:
        # A bounded drain: the loop comes back to the lease check (and takeover) every few chunks.
        report = deliver_claimed(rt.sessions, notifier, cfg, max_chunks=opts.chunks_per_round)
    finally:
        notifier.close()
    if report.attempted:
        log(f"{lease.holder} delivered {report.to_json()}")
    return worked or bool(report.attempted)


def _lead(rt: Runtime, opts: NodeOptions, done_days: set[dt.date], log: Log) -> bool:
    """The leader's duty: the day's tick once its hour has come, unless a tick for it finished."""
    day = opts.as_of or pendulum.now(rt.settings.timezone).date()
    if day in done_days or (opts.as_of is None and utcnow() < rt.tick_time(day)):
        return False
    if ticked(rt.sessions, day):
        done_days.add(day)
        return False
    log(f"tick {day} started")
    result = rt.ticker.tick(day)
    done_days.add(day)
    log(f"tick {day} done: {result.sent} reminder(s) in {result.digests} digest(s), {result.skipped} skipped"
        + (" (rest day)" if result.rest_day else ""))
    return True


def serve_node(rt: Runtime, options: NodeOptions | None = None, *, log: Log = print) -> None:
    """``duban run --cluster``: :func:`run_node` until SIGTERM/SIGINT (the running round finishes first)."""
    import signal
    from typing import Any

    stop = threading.Event()

    def on_signal(signum: int, _frame: Any) -> None:
        log(f"received {signal.Signals(signum).name}: stopping after the running round")
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    run_node(rt, stop=stop, options=options, log=log)
