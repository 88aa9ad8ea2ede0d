"""``duban serve --workers 2``: two processes share the port, each answers, and all stop cleanly.

The real command in a subprocess, on a SQLite store in the test's folder.
The workers are told apart without any debug switch in the pages: the
supervisor's children are read from ``/proc``, and ``/healthz`` names the
process that answered when ``DUBAN_WEB_HEALTHZ_PID=1``. A request is steered
to one worker by stopping the other (SIGSTOP): a stopped process cannot
accept, so the connection waits in the shared queue for the running one. No
assertion depends on timing; the timeouts only keep a broken server from
hanging the run.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from duban.web.app import HEALTHZ_PID_ENV

REPO = Path(__file__).resolve().parent.parent
STARTED = re.compile(r"Started server process \[(\d+)\]")

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from /proc (Linux)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _children(pid: int) -> set[int]:
    """The worker processes of ``pid``: its children started by multiprocessing's spawn."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:  # the process ended while we looked
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid and b"spawn_main" in cmdline:
            found.add(int(entry.name))
    return found


def _get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=60) as answer:  # a fresh connection each time
        return answer.status, answer.read().decode("utf-8")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], str, list[int]]]:
    """``duban serve --workers 2`` on a free port; yields (process, base URL, the started workers' pids)."""
    port = _free_port()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("DUBAN_")},
           "DUBAN_DATABASE_URL": f"sqlite:///{tmp_path / 'web.db'}", "DUBAN_OUTBOX_DIR": str(tmp_path / "outbox"),
           "DUBAN_WEB_SECRET": "s" * 40, HEALTHZ_PID_ENV: "1"}
    proc = subprocess.Popen([sys.executable, "-m", "duban", "serve", "--workers", "2", "--port", str(port),
                             "--no-access-log"], cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    started: list[int] = []
    try:
        assert proc.stderr is not None
        for line in proc.stderr:  # ends if the server exits: then the assertion below says so
            started += [int(m) for m in STARTED.findall(line)]
            if len(started) == 2:
                break
        assert len(started) == 2, f"two workers should start (exit code {proc.poll()})"
        yield proc, f"http://127.0.0.1:{port}", started
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=60)


def test_two_workers_both_answer_and_stop_cleanly(served: tuple[subprocess.Popen[str], str, list[int]]) -> None:
    proc, url, started = served
    workers = _children(proc.pid)
    assert workers == set(started) and len(workers) == 2

    for worker in workers:
        others = workers - {worker}
        for other in others:
            os.kill(other, signal.SIGSTOP)
        try:
            status, body = _get(f"{url}/healthz")
            login_status, login = _get(f"{url}/login")
        finally:
            for other in others:
                os.kill(other, signal.SIGCONT)
        assert (status, body) == (200, f"ok pid={worker}")
        assert login_status == 200 and 'name="csrf"' in login

    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=120) == 0
    assert proc.stderr is not None
    rest = proc.stderr.read()
    assert "Stopping parent process" in rest
    for worker in workers:
        assert not Path(f"/proc/{worker}").exists(), f"worker {worker} outlived the server"


def test_healthz_names_no_process_by_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from argon2 import PasswordHasher

    from duban.engine.runtime.settings import load_settings
    from duban.web.server import start_in_thread

    monkeypatch.setenv("DUBAN_DATABASE_URL", f"sqlite:///{tmp_path / 'web.db'}")
    monkeypatch.setenv("DUBAN_OUTBOX_DIR", str(tmp_path / "outbox"))
    monkeypatch.delenv(HEALTHZ_PID_ENV, raising=False)
    with start_in_thread(load_settings(), port=0, secret="s" * 40, hasher=PasswordHasher()) as handle:
        assert _get(f"{handle.url}/healthz") == (200, "ok")
