"""Benchmark: the dashboard's overview page with 1,000,000 obligations in a SQLite store.

The store is built with bulk inserts on the real schema (Alembic migrations):
100 plans of 29 tasks × 3 requirements × 115 of 200 units ≈ 10,000
obligations each, every deadline kind, ~2 due instances per obligation,
statuses spread over ten plan years (most past instances done, some overdue,
half the triggered duties dormant, a few waived). Then a real uvicorn server
serves the dashboard and a client logs in and times full HTTP round trips of
``GET /`` (query + template + transfer):

* ``plan``: the default overview — the newest plan (≈10,000 obligations) out
  of the million, found through ``ix_obligations_plan_id``; never cached;
* ``all_cold``: ``?plan=all`` on a new as-of day each time — a full GROUP BY
  over every obligation (the cache key includes the day, so every request
  computes);
* ``all_warm``: ``?plan=all`` again on the same day and audit head — what
  every view costs until the next change moves the audit chain's head.

Baseline, measured in the same run: the naive page — load every obligation
with :func:`duban.engine.services.queries.list_obligations` and count statuses in
Python — for the same plan and for all plans.

Progress goes to stderr; the last line on stdout is one JSON object.
Run: ``.venv/bin/python bench/web.py [N]``.
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import random
import re
import resource
import statistics
import sys
import tempfile
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from sqlalchemy import text
from sqlalchemy.orm import Session

from duban.engine.runtime.settings import load_settings
from duban.engine.services.queries import list_obligations
from duban.engine.runtime.build import build_runtime
from duban.store import summary
from duban.store.db import make_engine, upgrade
from duban.web.auth import add_user
from duban.web.server import start_in_thread

N = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
PER_PLAN = 10_000
UNITS = 200
UNITS_PER_REQ = 115
SEED = 20160623
TARGET_P95_MS = 300.0
KINDS = ("fixed", "ongoing", "recurring", "relative", "triggered")
KIND_WEIGHTS = (25, 40, 10, 10, 15)
N_OCC = {"fixed": 1, "relative": 1, "triggered": 1, "ongoing": 3, "recurring": 4}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def build_store(path: Path, n: int) -> str:
    """A migrated SQLite file holding ``n`` obligations, written with executemany in large batches."""
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    upgrade(engine)
    rnd = random.Random(SEED)
    raw = engine.raw_connection()
    cur = raw.cursor()
    cur.execute("PRAGMA synchronous=OFF")
    cur.executemany("INSERT INTO units (id, name, full_name, directory, is_group, is_supervisor, aliases) "
                    "VALUES (?, ?, NULL, 'bench', 0, 0, '[]')",
                    [(i, f"单位{i:03d}") for i in range(1, UNITS + 1)])
    obligations: list[tuple[Any, ...]] = []
    occurrences: list[tuple[Any, ...]] = []
    oid = occ_id = task_id = req_id = 0
    plans = (n + PER_PLAN - 1) // PER_PLAN
    started = time.perf_counter()
    today = dt.date(2025, 6, 1)

    def flush() -> None:
        cur.executemany("INSERT INTO obligations (id, okey, plan_id, requirement_id, deadline_id, unit_id, part, "
                        "kind, spec, trigger_key, state) VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?, NULL, ?)", obligations)
        cur.executemany("INSERT INTO occurrences (id, obligation_id, key, label, due, checkin, state, event_id, "
                        "completed_on, evidence, late_by) VALUES (?, ?, ?, ?, ?, 0, ?, NULL, ?, ?, NULL)", occurrences)
        obligations.clear()
        occurrences.clear()

    for p in range(plans):
        year = 2016 + p % 10
        plan_id = f"bench-{year}-{p:03d}"
        published = dt.date(year, 6, 23)
        cur.execute("INSERT INTO plans (id, title, issuer, doc_number, published, plan_year, units_directory, "
                    "source, file_path, content_hash, imported_at) VALUES (?, ?, '揭阳市人民政府办公室', ?, ?, ?, "
                    "'bench', NULL, 'bench', ?, '2020-01-01 00:00:00.000000')",
                    (plan_id, f"{year}年工作方案（第{p}号）", f"揭府办函〔{year}〕{p}号",
                     published.isoformat() if p < plans - 1 else dt.date(2025, 12, 1).isoformat(), year, "0" * 64))
        for t in range(1, 30):
            task_id += 1
            cur.execute("INSERT INTO tasks (id, plan_id, no, title) VALUES (?, ?, ?, ?)",
                        (task_id, plan_id, t, f"工作任务{t}"))
            for r in range(1, 4):
                req_id += 1
                cur.execute("INSERT INTO requirements (id, task_id, no, text, units_as_written, role, inherited, "
                            "review) VALUES (?, ?, ?, '按要求公开相关信息。', '各单位', 'lead', '[]', '[]')",
                            (req_id, task_id, r))
                cur.execute("INSERT INTO deadline_entries (id, requirement_id, ordinal, phrase, source, spec, "
                            "spec_overridden, trigger_key) VALUES (?, ?, 1, '2016年12月底前完成', 'cell', "
                            "'{\"kind\": \"fixed\"}', 0, NULL)", (req_id, req_id))
                for unit in rnd.sample(range(1, UNITS + 1), UNITS_PER_REQ):
                    if oid >= n:
                        break
                    oid += 1
                    kind = rnd.choices(KINDS, KIND_WEIGHTS)[0]
                    waived = rnd.random() < 0.03
                    dues = [] if kind == "triggered" and rnd.random() < 0.5 else \
                        [published + dt.timedelta(days=rnd.randint(7, 300) + 90 * k) for k in range(N_OCC[kind])]
                    states = []
                    for k, due in enumerate(dues):
                        state = "waived" if waived else ("done" if due < today and rnd.random() < 0.9 else "open")
                        states.append(state)
                        occ_id += 1
                        occurrences.append((occ_id, oid, f"k{k}", f"第{k + 1}期", due.isoformat(), state,
                                            due.isoformat() if state == "done" else None,
                                            "https://example.gov.cn/x" if state == "done" else None))
                    ob_state = "waived" if waived else (
                        "done" if kind in ("fixed", "relative") and states and all(s == "done" for s in states)
                        else "active")
                    obligations.append((oid, f"{plan_id}/{t}/{r}/{unit}/1/0", plan_id, req_id, req_id, unit, kind,
                                        json.dumps({"kind": kind}), ob_state))
        if len(obligations) >= 100_000 or p == plans - 1:
            flush()
            raw.commit()
            log(f"  store: {oid:,} obligations, {occ_id:,} due instances ({time.perf_counter() - started:.0f} s)")
    cur.execute("ANALYZE")
    raw.commit()
    raw.close()
    # The rows above bypass the write paths, so the maintained overview summary is built once here.
    with Session(engine) as session, session.begin():
        summary.rebuild(session)
    engine.dispose()
    return url


class Client:
    """A minimal cookie-keeping HTTP client over one keep-alive connection."""

    def __init__(self, base: str) -> None:
        parts = urllib.parse.urlsplit(base)
        self.conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=600)
        self.cookie = ""

    def request(self, method: str, path: str, form: dict[str, str] | None = None) -> tuple[int, str]:
        headers = {"Cookie": self.cookie} if self.cookie else {}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        self.conn.request(method, path, body=body, headers=headers)
        resp = self.conn.getresponse()
        text = resp.read().decode("utf-8")
        for name, value in resp.getheaders():
            if name.lower() == "set-cookie" and value.startswith("duban_session="):
                self.cookie = value.split(";", 1)[0]
        return resp.status, text


def timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="duban-bench-web-") as tmp:
        log(f"building a SQLite store with {N:,} obligations (bulk inserts)...")
        url = build_store(Path(tmp) / "duban.db", N)
        settings = load_settings(environ={"DUBAN_DATABASE_URL": url, "DUBAN_OUTBOX_DIR": f"{tmp}/outbox"})
        runtime = build_runtime(settings)
        hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
        with runtime.sessions() as s, s.begin():
            add_user(s, name="bench", role="supervisor", password="bench-password-1", actor="bench", hasher=hasher)
        server = start_in_thread(settings, "127.0.0.1", 0, runtime=runtime, secret="bench-" + "b" * 40,
                                 hasher=hasher)
        try:
            client = Client(server.url)
            _, page = client.request("GET", "/login")
            match = re.search(r'name="csrf" value="([^"]+)"', page)
            if match is None:
                raise RuntimeError("no CSRF token on the login page")
            token = match.group(1)
            status, _ = client.request("POST", "/login", {"csrf": token, "name": "bench",
                                                          "password": "bench-password-1"})
            if status != 303:
                raise RuntimeError(f"login failed: HTTP {status}")

            def get(path: str) -> None:
                code, body = client.request("GET", path)
                if code != 200 or 'id="by-status"' not in body:
                    raise RuntimeError(f"GET {path} → {code}")

            days = [dt.date(2025, 1, 6) + dt.timedelta(days=7 * i) for i in range(40)]
            get(f"/?as_of={days[0]}")  # warm the connection and SQLite's page cache
            log("overview of the newest plan (default page), 40 requests...")
            plan_times = [timed(lambda d=d: get(f"/?as_of={d}")) for d in days]
            log("overview of all plans, cold (a new as-of day each time), 5 requests...")
            cold_times = [timed(lambda d=d: get(f"/?plan=all&as_of={d + dt.timedelta(days=1)}")) for d in days[:5]]
            log("overview of all plans, warm (same day, same audit head), 40 requests...")
            warm_times = [timed(lambda: get(f"/?plan=all&as_of={days[0] + dt.timedelta(days=1)}")) for _ in days]
        finally:
            server.stop()

        as_of = dt.date(2025, 3, 3)
        with runtime.sessions() as s:
            newest = s.execute(text("SELECT id FROM plans ORDER BY published DESC, id LIMIT 1")).scalar_one()
            log("baseline: load every obligation of the plan and count in Python, 5 runs...")
            naive_plan = [timed(lambda: Counter(r.status for r in list_obligations(
                s, calendar=runtime.calendar, due_soon_within=runtime.due_soon_within, as_of=as_of, plan=newest))) for _ in range(5)]
            log("baseline: load every obligation of every plan and count in Python, 2 runs...")
            naive_all = [timed(lambda: Counter(r.status for r in list_obligations(
                s, calendar=runtime.calendar, due_soon_within=runtime.due_soon_within, as_of=as_of))) for _ in range(2)]
        runtime.engine.dispose()

    ms = {name: [t * 1000 for t in values] for name, values in
          (("plan", plan_times), ("all_cold", cold_times), ("all_warm", warm_times))}
    figures = {f"{name}_p{q}_ms": round(percentile(values, q / 100), 1) for name, values in ms.items()
               for q in (50, 95)}
    p95 = figures["plan_p95_ms"] / 1000
    baseline = statistics.median(naive_plan)
    for name, values in ms.items():
        log(f"  {name:9s} p50 {percentile(values, .5):8.1f} ms   p95 {percentile(values, .95):8.1f} ms")
    log(f"  naive (plan)  median {statistics.median(naive_plan) * 1000:8.1f} ms")
    log(f"  naive (all)   median {statistics.median(naive_all) * 1000:8.1f} ms")
    print(json.dumps({
        "bench": "web",
        "n": N,
        "seconds": round(p95, 4),
        "baseline_seconds": round(baseline, 4),
        "ratio": round(baseline / p95, 1) if p95 else None,
        "rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        **figures,
        "naive_plan_median_ms": round(statistics.median(naive_plan) * 1000, 1),
        "naive_all_median_ms": round(statistics.median(naive_all) * 1000, 1),
        "target_p95_ms": TARGET_P95_MS,
        "meets_target": figures["plan_p95_ms"] <= TARGET_P95_MS and figures["all_warm_p95_ms"] <= TARGET_P95_MS,
        "obligations_per_plan": PER_PLAN,
        "note": "seconds = p95 of the default overview (newest plan) over HTTP; baseline = naive list+count of "
                "the same plan; all_cold = GROUP BY over every obligation; all_warm = cached by audit head",
    }, ensure_ascii=False))


if __name__ == "__main__":
    main()
