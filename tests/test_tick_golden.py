"""The tick writes exactly what it wrote before it was made fast, on both backends.

A generated store (``bench/tick.py``'s: 1,000 requirements × 20 units, 5 %
of the obligations at a reminder stage on :data:`DAY`) is ticked every day
from three days before ``DAY`` to 25 days after — first reminders, catch-up
skips, the due day, overdue repeats, escalations to leaders and the
supervising office, weekly digests, capped sections with their .xlsx lists —
and once more on the last day (a second tick: ``#2`` keys). The audit clock
is fixed. Every table the tick writes is then dumped as stored (raw rows by
id: the bytes SQLite holds, the values PostgreSQL returns; attachment data
and the tick's own timings left out, the data as its SHA-256) and the SHA-256
of each dump is compared with ``fixtures/tick_golden.json``, captured from
the tick as it was before the rewrite (per-occurrence rule evaluation,
openpyxl lists, ORM inserts). The outbox rows hold the subject, both bodies
and the Message-ID, and the email bytes are a function of the row: equal rows,
equal emails.

``DUBAN_TICK_GOLDEN=write`` rewrites the fixture (only when the tick's output
is meant to change).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from duban.engine.reminders.policy import load_policy
from duban.engine.reminders.rules_durable import evaluate
from duban.engine.reminders.tick import Ticker
from duban.store import audit
from helpers import REPO

sys.path.insert(0, str(REPO / "bench"))
import tick as tickbench  # noqa: E402  (the benchmark's store generator)

GOLDEN = Path(__file__).parent / "fixtures" / "tick_golden.json"
TABLES = ("notifications", "notification_attachments", "stage_records", "tick_runs", "audit_log")
OBLIGATIONS = 20_000

pytestmark = pytest.mark.slow


def _plain(value: Any) -> Any:
    """A JSON-able form of a stored value; bytes as their SHA-256."""
    if isinstance(value, memoryview):
        value = bytes(value)
    if isinstance(value, bytes):
        return "sha256:" + hashlib.sha256(value).hexdigest()
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


def _counts(value: Any) -> Any:
    """A tick run's counts without its timings (seconds differ on every run)."""
    counts = json.loads(value) if isinstance(value, str) else dict(value)
    counts.pop("timings", None)
    return json.dumps(counts, sort_keys=True, ensure_ascii=False)


def _dumps(store: Any) -> dict[str, str]:
    out = {}
    with store.engine.connect() as conn:
        for table in TABLES:
            order = "seq" if table == "audit_log" else "id"
            result = conn.exec_driver_sql(f"SELECT * FROM {table} ORDER BY {order}")
            names = list(result.keys())
            rows = [{n: (_counts(v) if table == "tick_runs" and n == "counts" else _plain(v))
                     for n, v in zip(names, row) if not (table == "tick_runs" and n in ("started_at", "finished_at"))}
                    for row in result]
            text = json.dumps(rows, sort_keys=True, ensure_ascii=False, default=str)
            out[table] = f"{len(rows)}:{hashlib.sha256(text.encode()).hexdigest()[:16]}"
    return out


def test_the_tick_writes_what_it_wrote_before(store: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    tickbench.generate(store.url, OBLIGATIONS)
    ticks = iter(range(10**9))
    start = dt.datetime(2016, 9, 1, tzinfo=dt.timezone.utc)
    monkeypatch.setattr(audit, "utcnow", lambda: start + dt.timedelta(milliseconds=next(ticks)))
    ticker = Ticker(sessions=store.sessions, calendar=tickbench.CAL, policy=load_policy(), evaluate=evaluate,
                    sender="督办系统 <duban@bench.example>", message_id_domain="bench.example",
                    dashboard_url="http://127.0.0.1:8000")
    day = tickbench.DAY - dt.timedelta(days=3)
    last = tickbench.DAY + dt.timedelta(days=25)
    while day <= last:
        ticker.tick(day)
        day += dt.timedelta(days=1)
    ticker.tick(last)  # a second tick on the same day
    got = _dumps(store)
    golden = json.loads(GOLDEN.read_text(encoding="utf-8")) if GOLDEN.exists() else {}
    if os.environ.get("DUBAN_TICK_GOLDEN") == "write":
        golden[store.backend] = got
        GOLDEN.write_text(json.dumps(golden, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        pytest.skip("golden rewritten")
    assert got["notifications"].split(":")[0] != "0", "the scenario must write outbox rows"
    assert got == golden[store.backend]
