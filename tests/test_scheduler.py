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
           "DUBAN_WEB_PORT": "0"}  # the dashboard beside the scheduler, on a free port
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
