"""``duban run``: one scheduler per database (a lease), clean stop on SIGTERM."""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

from duban.engine.runtime.scheduler import LeaseHeld, acquire_lease, release_lease
from duban.store.models import utcnow

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A loopback port nobody listens on now (web.port must be 1…65535: 0 is refused by the settings)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_run(env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "duban", "run"], cwd=REPO, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def wait_for_line(proc: subprocess.Popen[str], needle: str, timeout: float = 60.0) -> list[str]:
    """Read the process's output until a line contains ``needle`` (or fail at the deadline)."""
    assert proc.stdout is not None
    seen: list[str] = []
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not sel.select(timeout=deadline - time.monotonic()):
            break
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line)
        if needle in line:
            return seen
    raise AssertionError(f"{needle!r} not seen; output so far: {''.join(seen)}")


def test_a_second_scheduler_refuses_and_sigterm_stops_cleanly(store, tmp_path):
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("DUBAN_")},
           "DUBAN_DATABASE_URL": store.url, "DUBAN_OUTBOX_DIR": str(tmp_path / "outbox"),
           "DUBAN_WEB_PORT": str(free_port())}  # the dashboard beside the scheduler, on a free port
    first = start_run(env)
    try:
        assert any("督办看板" in line for line in wait_for_line(first, "lease held by"))
        second = start_run(env)
        out, _ = second.communicate(timeout=60)
        assert second.returncode != 0
        assert "refusing to start a second one" in out
        first.send_signal(signal.SIGTERM)
        rest = wait_for_line(first, "lease released")
        assert first.wait(timeout=60) == 0, "".join(rest)
        assert any("SIGTERM" in line for line in rest)
        third = start_run(env)  # the lease was released: a new scheduler may start at once
        wait_for_line(third, "lease held by")
        third.send_signal(signal.SIGTERM)
        assert third.wait(timeout=60) == 0
    finally:
        for proc in (first,):
            if proc.poll() is None:
                proc.kill()


def test_an_expired_lease_is_taken_over(store):
    import datetime as dt

    past = utcnow() - dt.timedelta(hours=1)
    acquire_lease(store.sessions, holder="crashed-host:1", ttl=dt.timedelta(minutes=3), now=past)
    acquire_lease(store.sessions, holder="new-host:2", ttl=dt.timedelta(minutes=3))  # expired: taken over
    try:
        acquire_lease(store.sessions, holder="third:3", ttl=dt.timedelta(minutes=3))
    except LeaseHeld as exc:
        assert "new-host:2" in str(exc)
    else:
        raise AssertionError("a live lease was taken over")
    release_lease(store.sessions, holder="new-host:2")
    acquire_lease(store.sessions, holder="third:3", ttl=dt.timedelta(minutes=3))


# --------------------------------------------------------------------------- the cluster's leader lease


def test_the_leader_lease_is_exclusive_renewable_and_taken_over_after_one_ttl(store):
    """engine/runtime/leader.py: one holder at a time; a dead holder is replaced once its lease lapses."""
    import datetime as dt

    from duban.engine.runtime.leader import LeaderLease

    ttl = dt.timedelta(seconds=30)
    t0 = utcnow()
    a = LeaderLease(store.sessions, holder="a:1", ttl=ttl)
    b = LeaderLease(store.sessions, holder="b:2", ttl=ttl)
    first = a.try_acquire(t0)
    assert first is not None and first.epoch == 1
    assert b.try_acquire(t0 + ttl / 2) is None  # a live lease is not taken
    renewed = a.try_acquire(t0 + ttl / 2)  # renewal keeps the term
    assert renewed is not None and renewed.epoch == 1
    assert b.try_acquire(t0 + ttl) is None  # renewed: still a's until t0 + 1.5 ttl
    taken = b.try_acquire(t0 + ttl * 1.5)  # a stopped renewing: b takes over within one ttl
    assert taken is not None and taken.epoch == 2
    assert a.try_acquire(t0 + ttl * 1.6) is None  # the old holder cannot come back while b's lease lives
    b.release()
    assert a.try_acquire() is not None  # a clean stop hands over at once
