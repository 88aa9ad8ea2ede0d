"""Several ``duban run --cluster`` processes on one PostgreSQL: each reminder once, each mail once.

Three real processes share a generated store of 10,000 reminders due on one
day and a real SMTP server (aiosmtpd) that records every Message-ID it
accepts. One process leads and ticks; all of them claim outbox rows
(``SELECT … FOR UPDATE SKIP LOCKED``) and send. The invariants, checked in
the database and at the server:

* 0 duplicate rows: one stage record per reminder, one outbox row per digest;
* 0 duplicate sends: every Message-ID accepted exactly once;
* 0 lost: every reminder recorded, every outbox row ``sent`` and received.

The same runs on one SQLite file with two processes (the last test). The
second test SIGKILLs the leader while it is ticking (after it logged
"tick … started" and before "done"): another process must take the lease
over and finish the day, with the same three invariants.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from helpers import create_database, database_url, drop_database
from scale_store import DAY, CountingHandler, generate, smtp_config, smtp_server
from sqlalchemy import create_engine, func, select
from duban.store.models import Notification, StageRecord, TickRun

REPO = Path(__file__).resolve().parent.parent
UNITS, REQUIREMENTS = 1000, 10  # 10,000 reminders, 1,000 digests (one per unit clerk)
LEASE_SECONDS = 5


@dataclass
class Node:
    """One ``duban run --cluster`` process and the lines it printed (read by a thread)."""

    proc: subprocess.Popen[str]
    lines: "queue.Queue[str]" = field(default_factory=queue.Queue)
    seen: list[str] = field(default_factory=list)

    def drain(self) -> list[str]:
        while True:
            try:
                self.seen.append(self.lines.get_nowait())
            except queue.Empty:
                return self.seen


def start_node(env: dict[str, str]) -> Node:
    proc = subprocess.Popen([sys.executable, "-m", "duban", "run", "--cluster", "--lease-seconds", str(LEASE_SECONDS),
                             "--as-of", DAY.isoformat()], cwd=REPO, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    node = Node(proc)

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            node.lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    return node


@pytest.fixture
def cluster_store(pg_admin, tmp_path) -> Iterator[tuple[str, int]]:  # type: ignore[no-untyped-def]
    name = create_database(pg_admin, prefix="duban_mp")
    url = database_url(pg_admin, name)
    yield url, generate(url, units=UNITS, requirements=REQUIREMENTS)
    drop_database(pg_admin, name)


def wait_until_all_sent(url: str, expected_reminders: int, nodes: list[Node], timeout: float = 300.0) -> None:
    """Poll the store until every reminder is recorded and every outbox row is sent (or fail)."""
    engine = create_engine(url)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                records = conn.scalar(select(func.count()).select_from(StageRecord)
                                      .where(StageRecord.action == "send"))
                open_rows = conn.scalar(select(func.count()).select_from(Notification)
                                        .where(Notification.status != "sent"))
                ticks = conn.scalar(select(func.count()).select_from(TickRun))
            if records == expected_reminders and ticks and not open_rows:
                return
            for n in nodes:
                n.drain()
            if all(n.proc.poll() is not None for n in nodes):
                break  # every process died: no point waiting
            time.sleep(1.0)
    finally:
        engine.dispose()
    logs = "\n".join("".join(n.drain()[-20:]) for n in nodes)
    raise AssertionError(f"not finished: {records} records, {open_rows} unsent rows\n{logs}")


def check_invariants(url: str, expected_reminders: int, handler: CountingHandler, units: int = UNITS) -> int:
    """0 duplicate rows, 0 duplicate sends, 0 lost; returns the number of digests."""
    engine = create_engine(url)
    with engine.connect() as conn:
        records = conn.execute(select(StageRecord.occurrence_id, StageRecord.stage, StageRecord.repeat,
                                      StageRecord.action)).all()
        rows = conn.execute(select(Notification.key, Notification.message_id, Notification.status)).all()
    engine.dispose()
    sends = [r for r in records if r.action == "send"]
    assert len(records) == len({r[:3] for r in records})  # no stage recorded twice (sent or skipped)
    assert len(sends) == len({r.occurrence_id for r in sends}) == expected_reminders  # each reminder once: none lost
    assert {r.status for r in rows} == {"sent"}
    assert len(rows) == units  # one digest per unit clerk
    assert handler.duplicates() == {}  # 0 duplicate sends
    assert sorted(handler.message_ids) == sorted(r.message_id for r in rows)  # every row received, once
    return len(rows)


def cluster_env(url: str, tmp_path: Path, port: int) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("DUBAN_")}
    return {**base, "DUBAN_DATABASE_URL": url, "DUBAN_CONFIG": str(smtp_config(tmp_path, port)),
            "DUBAN_OUTBOX_DIR": str(tmp_path / "outbox")}


def stop_all(nodes: list[Node]) -> None:
    for n in nodes:
        if n.proc.poll() is None:
            n.proc.send_signal(signal.SIGTERM)
    for n in nodes:
        try:
            n.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            n.proc.kill()
            n.proc.wait()


@pytest.mark.slow
def test_three_processes_send_every_reminder_exactly_once(cluster_store, tmp_path):
    url, expected = cluster_store
    handler = CountingHandler()
    server = smtp_server(handler)
    nodes = [start_node(cluster_env(url, tmp_path, server.port)) for _ in range(3)]
    try:
        wait_until_all_sent(url, expected, nodes)
    finally:
        stop_all(nodes)
        server.stop()
    check_invariants(url, expected, handler)
    logs = ["".join(n.drain()) for n in nodes]
    assert sum("started" in line for log in logs for line in log.splitlines() if line.startswith("tick")) == 1
    assert all("stopped" in log for log in logs), logs


@pytest.mark.slow
def test_sigkill_the_leader_mid_tick_another_finishes_the_day(cluster_store, tmp_path):
    url, expected = cluster_store
    handler = CountingHandler()
    server = smtp_server(handler)
    nodes = [start_node(cluster_env(url, tmp_path, server.port)) for _ in range(3)]
    try:
        leader = None
        deadline = time.monotonic() + 120
        while leader is None and time.monotonic() < deadline:
            for n in nodes:
                if any(line.startswith(f"tick {DAY} started") for line in n.drain()):
                    leader = n
                    break
            time.sleep(0.01)
        assert leader is not None, "no process started the tick"
        leader.proc.send_signal(signal.SIGKILL)
        leader.proc.wait()
        assert not any(line.startswith(f"tick {DAY} done") for line in leader.drain()), \
            "the leader finished before the kill: the test must interrupt a tick"
        survivors = [n for n in nodes if n is not leader]
        wait_until_all_sent(url, expected, survivors)
    finally:
        stop_all(nodes)
        server.stop()
    check_invariants(url, expected, handler)
    # Another process took the lease over and ran the day's tick to the end.
    assert any(line.startswith(f"tick {DAY} done") for n in survivors for line in n.drain())


@pytest.mark.slow
def test_two_processes_on_one_sqlite_file_send_each_digest_once(tmp_path):
    """The same claim on SQLite (no SKIP LOCKED: its single writer lock makes the claim atomic)."""
    url = f"sqlite:///{tmp_path / 'cluster.db'}"
    units = 200
    expected = generate(url, units=units, requirements=5)
    handler = CountingHandler()
    server = smtp_server(handler)
    nodes = [start_node(cluster_env(url, tmp_path, server.port)) for _ in range(2)]
    try:
        wait_until_all_sent(url, expected, nodes)
    finally:
        stop_all(nodes)
        server.stop()
    check_invariants(url, expected, handler, units=units)
