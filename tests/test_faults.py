"""Injected faults, invariants asserted: nothing lost, nothing doubled, everything accounted for.

Each test drives the real tick and the claiming sender
(:mod:`duban.engine.reminders.claims`) over a generated store (one digest per
unit clerk, see ``scale_store.py``) on both backends, with an explicit clock
(``now`` steps forward; nothing sleeps), and injects one kind of fault:

* database errors on connect and on commit, 20 % each (SQLAlchemy event hooks;
  half of the commit faults happen *after* the commit, a lost acknowledgement);
* SMTP 451 for six hours (a real aiosmtpd server);
* every PostgreSQL connection cut mid-tick (a small TCP proxy: a restart as clients see it);
* the relay down past the configured lifetime (a bound, non-listening port);
* disk full on the outbox folder (``fsync`` fails with ENOSPC);
* and determinism: the same store, scenario and clock give byte-identical
  outbox and audit dumps.
"""

from __future__ import annotations

import datetime as dt
import contextlib
import errno
import io
import json
import random
import socket
import threading
from collections import defaultdict
from pathlib import Path

import pytest
from scale_store import DAY, CountingHandler, generate, smtp_server
from sqlalchemy import Engine, create_engine, event, func, select
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.pool import NullPool

from duban.engine.reminders.claims import EXPIRED_REPORT_STAGE, RetryPolicy, SenderConfig, deliver_claimed
from duban.engine.runtime.build import Runtime
from duban.engine.runtime.leader import ticked
from duban.engine.runtime.settings import load_settings
from duban.notifiers.outbox import OutboxNotifier, outbox_file_name
from duban.notifiers.smtp import SmtpNotifier
from duban.store import audit
from duban.store.db import session_factory
from duban.store.models import AuditRecord, Notification, StageRecord

UNITS, REQUIREMENTS = 20, 5  # 100 reminders, 20 digests
#: The tests' clock starts now: the tick stamps outbox rows with the real time, and a lifetime counts from it.
T0 = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


def runtime_for(url: str, tmp_path: Path, engine: Engine | None = None) -> Runtime:
    settings = load_settings(environ={"DUBAN_DATABASE_URL": url, "DUBAN_OUTBOX_DIR": str(tmp_path / "outbox")})
    return Runtime(settings, engine=engine or create_engine(url))


def sender_config(rt: Runtime, retry: RetryPolicy, chunk: int = 100) -> SenderConfig:
    n = rt.settings.notifier
    return SenderConfig(worker="test-sender", sender=str(n["sender"]), message_id_domain=str(n["message_id_domain"]),
                        dashboard_url=rt.settings.web_base_url, claim_ttl=dt.timedelta(minutes=5), chunk=chunk,
                        retry=retry)


@pytest.fixture
def scale(store):  # type: ignore[no-untyped-def]
    """The test's store with the generated plan: (store, expected reminders)."""
    return store, generate(store.url, units=UNITS, requirements=REQUIREMENTS)


def rows(url: str) -> list[Notification]:
    engine = create_engine(url)
    with session_factory(engine)() as s:
        out = list(s.scalars(select(Notification).order_by(Notification.id)))
    engine.dispose()
    return out


def audit_by_key(url: str) -> dict[str, list[AuditRecord]]:
    engine = create_engine(url)
    out: dict[str, list[AuditRecord]] = defaultdict(list)
    with session_factory(engine)() as s:
        for rec in s.scalars(select(AuditRecord).where(AuditRecord.object_type == "notification")
                             .order_by(AuditRecord.seq)):
            out[rec.object_id].append(rec)
    engine.dispose()
    return out


# --------------------------------------------------------------------------- database faults


class DatabaseFaults:
    """Connect and commit fail at ``rate`` (seeded): half of the commit faults after the commit landed."""

    def __init__(self, engine: Engine, rate: float, seed: int) -> None:
        self.rng = random.Random(seed)
        self.rate = rate
        self.on = False
        self.injected = {"connect": 0, "commit": 0, "lost_ack": 0}
        dbapi = engine.dialect.loaded_dbapi
        event.listen(engine, "do_connect", self._connect)
        event.listen(engine, "commit", self._commit)
        self._dbapi_error = dbapi.OperationalError

    def _connect(self, dialect, conn_rec, cargs, cparams):  # type: ignore[no-untyped-def]
        if self.on and self.rng.random() < self.rate:
            self.injected["connect"] += 1
            raise self._dbapi_error("injected: connection refused")
        return None

    def _commit(self, conn) -> None:  # type: ignore[no-untyped-def]
        if not (self.on and self.rng.random() < self.rate):
            return
        if self.rng.random() < 0.5:  # the commit reached the server, its answer was lost
            conn.connection.dbapi_connection.commit()
            self.injected["lost_ack"] += 1
        else:
            self.injected["commit"] += 1
        raise OperationalError("COMMIT", None, self._dbapi_error("injected: server closed the connection"))


def faulty_engine(url: str) -> Engine:
    """No pool: every checkout connects, so connect faults are as frequent as transactions."""
    if url.startswith("sqlite"):
        engine = create_engine(url, poolclass=NullPool, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
            dbapi_conn.execute("PRAGMA foreign_keys=ON")

        return engine
    return create_engine(url, poolclass=NullPool)


def test_database_errors_on_connect_and_commit_lose_and_double_nothing(scale, tmp_path):
    store, expected = scale
    engine = faulty_engine(store.url)
    rt = runtime_for(store.url, tmp_path, engine)
    faults = DatabaseFaults(engine, rate=0.2, seed=15)
    notifier = OutboxNotifier(tmp_path / "outbox")
    cfg = sender_config(rt, RetryPolicy(base=60, cap=600), chunk=2)  # many chunks: many claims and commits
    check = create_engine(store.url)
    now, rounds, errors = T0, 0, 0
    faults.on = True
    while rounds < 500:
        rounds += 1
        try:
            if not ticked(rt.sessions, DAY):
                rt.ticker.tick(DAY)
            deliver_claimed(rt.sessions, notifier, cfg, now=now)
        except DBAPIError:
            errors += 1
        with check.connect() as conn:
            sends = conn.scalar(select(func.count()).select_from(StageRecord).where(StageRecord.action == "send"))
            unsent = conn.scalar(select(func.count()).select_from(Notification).where(Notification.status != "sent"))
        if sends == expected and not unsent and ticked(session_factory(check), DAY):
            break
        now += cfg.claim_ttl  # a claim left by a failed round lapses; the next round takes it over
    faults.on = False
    check.dispose()
    assert sum(faults.injected.values()) >= 5 and errors >= 3, faults.injected  # the faults really happened
    outbox = rows(store.url)
    engine2 = create_engine(store.url)
    with engine2.connect() as conn:
        records = conn.execute(select(StageRecord.occurrence_id, StageRecord.stage, StageRecord.repeat,
                                      StageRecord.action, StageRecord.notification_key)).all()
    engine2.dispose()
    sent_records = [r for r in records if r.action == "send"]
    assert len(sent_records) == len({r.occurrence_id for r in sent_records}) == expected  # each reminder once
    assert len(records) == len({r[:3] for r in records})
    assert len(outbox) == UNITS and all("#" not in n.key for n in outbox)  # exactly one outbox row per digest
    assert {n.status for n in outbox} == {"sent"}
    assert {r.notification_key for r in sent_records} == {n.key for n in outbox}  # every reminder in a sent row
    assert {p.name for p in (tmp_path / "outbox").iterdir()} == {outbox_file_name(n.key) for n in outbox}
    with session_factory(create_engine(store.url))() as s:
        assert audit.verify(s).ok


# --------------------------------------------------------------------------- PostgreSQL restarted mid-tick


class TcpProxy:
    """A loopback TCP proxy to PostgreSQL that can drop every connection at once.

    Dropping them all is what a server restart looks like to the engine (the
    shared test server itself cannot be restarted).
    """

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            with self.lock:
                self.sockets += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def drop_all(self) -> None:
        with self.lock:
            doomed, self.sockets = self.sockets, []
        for s in doomed:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    def close(self) -> None:
        self.listener.close()
        self.drop_all()


def test_postgresql_connections_dropped_mid_tick_the_tick_is_redone_cleanly(pg_admin, tmp_path):
    """Every connection is cut while a tick batch is being written (after its COPYs, before its commit)."""
    from helpers import create_database, database_url, drop_database
    from sqlalchemy.engine import make_url

    name = create_database(pg_admin, prefix="duban_restart")
    url = database_url(pg_admin, name)
    try:
        expected = generate(url, units=UNITS, requirements=REQUIREMENTS)
        parsed = make_url(url)
        proxy = TcpProxy((parsed.host or "127.0.0.1", parsed.port or 5432))
        proxied = parsed.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        engine = create_engine(proxied, pool_pre_ping=True)
        rt = runtime_for(proxied, tmp_path, engine)
        cuts = []

        @event.listens_for(engine, "before_cursor_execute")
        def cut(conn, cursor, statement, *_args):  # type: ignore[no-untyped-def]
            if not cuts and statement.lstrip().upper().startswith("INSERT INTO AUDIT_LOG"):
                cuts.append(statement)
                proxy.drop_all()  # the batch's stage records and outbox rows are copied, not committed

        with pytest.raises(DBAPIError):
            rt.ticker.tick(DAY)
        assert cuts, "the connections must be cut inside the tick"
        assert not ticked(rt.sessions, DAY)
        result = rt.ticker.tick(DAY)  # the next round redoes the day
        assert result.sent == expected
        deliver_claimed(rt.sessions, OutboxNotifier(tmp_path / "outbox"), sender_config(rt, RetryPolicy()), now=T0)
        engine.dispose()
        proxy.close()
        outbox = rows(url)
        assert len(outbox) == UNITS and {n.status for n in outbox} == {"sent"}
        assert all("#" not in n.key for n in outbox)  # the cut batch left nothing: no second key
        check = create_engine(url)
        with check.connect() as conn:
            records = conn.execute(select(StageRecord.occurrence_id).where(StageRecord.action == "send")).all()
        check.dispose()
        assert len(records) == len(set(records)) == expected
    finally:
        drop_database(pg_admin, name)


# --------------------------------------------------------------------------- SMTP faults


def drive_retries(url: str, rt: Runtime, notifier, cfg: SenderConfig, *,  # type: ignore[no-untyped-def]
                  on_round=None, max_rounds: int = 200) -> int:
    """Deliver at ``now``, then jump the clock to the next due retry; returns the rounds run."""
    now = T0
    engine = create_engine(url)
    try:
        for rounds in range(1, max_rounds + 1):
            if on_round:
                on_round(now)
            deliver_claimed(rt.sessions, notifier, cfg, now=now)
            with session_factory(engine)() as s:
                pending = s.scalar(select(func.count()).select_from(Notification)
                                   .where(Notification.status == "pending"))
                nxt = s.scalar(select(func.min(Notification.next_attempt_at)).where(Notification.status == "retry"))
            if pending:
                continue
            if nxt is None:
                return rounds
            now = max(now, nxt)
    finally:
        engine.dispose()
    with session_factory(create_engine(url))() as s:
        left = s.execute(select(Notification.key, Notification.status, Notification.attempts,
                                Notification.next_attempt_at, Notification.claimed_until)
                         .where(Notification.status.in_(("pending", "retry")))).all()
    raise AssertionError(f"still retrying after {max_rounds} rounds at {now}: {left[:5]}")


def assert_backoff(recs: list[AuditRecord], policy: RetryPolicy, retry_after: float) -> None:
    """Each retry record's next attempt is its own time plus the policy's delay for that attempt."""
    for n, rec in enumerate((r for r in recs if r.action == "notification.retry"), start=1):
        assert rec.after["attempts"] == n
        wait = dt.datetime.fromisoformat(rec.after["next_attempt_at"]) - rec.at
        assert wait == policy.delay(n, retry_after), (n, wait)


def test_smtp_451_for_hours_retries_on_the_backoff_and_loses_nothing(scale, tmp_path):
    store, _expected = scale
    rt = runtime_for(store.url, tmp_path)
    rt.ticker.tick(DAY)
    handler = CountingHandler()
    server = smtp_server(handler)
    policy = RetryPolicy(base=60, cap=1800, lifetime=dt.timedelta(days=2))
    notifier = SmtpNotifier("127.0.0.1", server.port, mode="plain", timeout=10, max_attempts=1, backoff_base=0,
                            retry_after=1.0)
    window = dt.timedelta(hours=6)
    handler.refusing.set()

    def on_round(now: dt.datetime) -> None:
        if now >= T0 + window:
            handler.refusing.clear()

    try:
        drive_retries(store.url, rt, notifier, sender_config(rt, policy), on_round=on_round)
    finally:
        notifier.close()
        server.stop()
    outbox = rows(store.url)
    assert {n.status for n in outbox} == {"sent"}  # nothing lost
    assert handler.duplicates() == {}
    assert sorted(handler.message_ids) == sorted(n.message_id for n in outbox)
    by_key = audit_by_key(store.url)
    refused = 0
    for n in outbox:
        recs = by_key[n.key]
        assert len(recs) == n.attempts > 5  # every attempt recorded, and the window forced many
        assert [r.action for r in recs] == ["notification.retry"] * (n.attempts - 1) + ["notification.sent"]
        assert_backoff(recs, policy, 1.0)
        assert recs[-1].at >= T0 + window
        refused += n.attempts - 1
    assert handler.refused == refused  # the server saw every recorded attempt


def test_relay_down_past_the_lifetime_expires_and_reports_to_the_supervisor(scale, tmp_path):
    store, _expected = scale
    rt = runtime_for(store.url, tmp_path)
    rt.ticker.tick(DAY)
    policy = RetryPolicy(base=600, cap=7200, lifetime=dt.timedelta(days=1))
    with socket.socket() as probe:  # bound but not listening: every connection is refused
        probe.bind(("127.0.0.1", 0))
        notifier = SmtpNotifier("127.0.0.1", probe.getsockname()[1], mode="plain", timeout=5, max_attempts=1,
                                retry_after=1.0)
        drive_retries(store.url, rt, notifier, sender_config(rt, policy))
    outbox = rows(store.url)
    digests = [n for n in outbox if n.stage != EXPIRED_REPORT_STAGE]
    reports = [n for n in outbox if n.stage == EXPIRED_REPORT_STAGE]
    assert len(digests) == UNITS and {n.status for n in digests} == {"expired"}  # none dropped silently
    by_key = audit_by_key(store.url)
    for n in digests:
        recs = by_key[n.key]
        assert [r.action for r in recs] == ["notification.retry"] * (n.attempts - 1) + ["notification.expired"]
        assert recs[-1].at - n.created_at >= policy.lifetime
        assert_backoff(recs, policy, 1.0)
    # The supervising office (unit 1's clerk and leader) is told about every expired digest.
    assert {r.recipient for r in reports} == {"clerk1@scale.example", "leader1@scale.example"}
    for report in reports:
        assert all(n.recipient in report.body_text for n in digests)
        assert report.status == "expired"  # the relay is still down: it expires too, and is not reported again
    assert len(reports) == 2


def test_disk_full_on_the_outbox_keeps_rows_pending(scale, tmp_path, monkeypatch):
    store, _expected = scale
    rt = runtime_for(store.url, tmp_path)
    rt.ticker.tick(DAY)
    folder = tmp_path / "outbox"
    notifier = OutboxNotifier(folder, retry_after=1.0)
    cfg = sender_config(rt, RetryPolicy(base=60, cap=600))
    import duban.notifiers.outbox as outbox_module

    def no_space(_fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(outbox_module.os, "fsync", no_space)
    report = deliver_claimed(rt.sessions, notifier, cfg, now=T0)
    assert report.statuses == {"retry": UNITS}
    outbox = rows(store.url)
    assert {n.status for n in outbox} == {"retry"} and all("No space left" in (n.last_error or "") for n in outbox)
    assert list(folder.iterdir()) == []  # no partial file left behind
    monkeypatch.undo()
    report = deliver_claimed(rt.sessions, notifier, cfg, now=T0 + dt.timedelta(minutes=1))
    assert report.statuses == {"sent": UNITS}
    assert {p.name for p in folder.iterdir()} == {outbox_file_name(n.key) for n in rows(store.url)}


# --------------------------------------------------------------------------- determinism


def replay(url: str, tmp_path: Path,  # type: ignore[no-untyped-def]
           monkeypatch) -> tuple[bytes, bytes, dict[str, bytes]]:
    """Tick and send a week around DAY with a fixed clock; dump the outbox table, the audit log, the files."""
    generate(url, units=UNITS, requirements=REQUIREMENTS)
    ticks = iter(range(10**9))
    start = dt.datetime(2016, 9, 1, tzinfo=dt.timezone.utc)
    monkeypatch.setattr(audit, "utcnow", lambda: start + dt.timedelta(milliseconds=next(ticks)))
    rt = runtime_for(url, tmp_path)
    cfg = sender_config(rt, RetryPolicy(), chunk=7)
    notifier = OutboxNotifier(tmp_path / "outbox")
    day = DAY - dt.timedelta(days=14)
    while day <= DAY + dt.timedelta(days=7):
        rt.ticker.tick(day)
        deliver_claimed(rt.sessions, notifier, cfg, now=rt.tick_time(day))
        day += dt.timedelta(days=1)
    engine = create_engine(url)
    with session_factory(engine)() as s:
        table = [{c.name: getattr(n, c.key) for c in Notification.__table__.columns}
                 for n in s.scalars(select(Notification).order_by(Notification.id))]
        out = io.StringIO()
        audit.export(s, out, "jsonl")
    engine.dispose()
    monkeypatch.undo()
    files = {p.name: p.read_bytes() for p in sorted((tmp_path / "outbox").iterdir())}
    return json.dumps(table, default=str, ensure_ascii=False).encode(), out.getvalue().encode(), files


def test_same_store_scenario_and_clock_give_byte_identical_dumps(tmp_path, monkeypatch):
    first = replay(f"sqlite:///{tmp_path / 'a.db'}", tmp_path / "a", monkeypatch)
    second = replay(f"sqlite:///{tmp_path / 'b.db'}", tmp_path / "b", monkeypatch)
    assert first[2], "the scenario must send something"
    assert first[0] == second[0]
    assert first[1] == second[1]
    assert first[2] == second[2]
