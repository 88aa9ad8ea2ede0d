"""Benchmark: one tick over a large store, against the naive approach, in the same run.

    python bench/tick.py --obligations 1000000 [--backend sqlite|postgresql]

A generated store holds N obligations (1,000 requirements × N/1,000 units), one
fixed due instance each. About 5 % of them sit exactly at a reminder stage on
the tick's day (10, 5 and 1 working days before, the due day, 1 day overdue);
the rest fall due months later. Measured:

* ``busy``: the tick on that day (candidate query, facts, durable-rules,
  digests rendered, stage records and outbox rows written in one transaction);
* ``quiet``: a tick on a day when nothing is at a stage (after one warm-up tick);
* ``baseline``: the naive tick — load every due instance, build a fact for
  each and post all of them through durable-rules — on the same store.

``ratio`` compares the whole busy tick (which also renders every digest and
writes the outbox) with the naive baseline (which does neither);
``decision_ratio`` compares like with like: the tick's select + decide phases.
``rss_mb`` is the peak after the generation and both ticks, before the baseline.
``cpu_seconds`` is the busy tick's own CPU time (this process; PostgreSQL's
work is the server's) and ``load_average`` the 1-minute load before and after
it: on a shared machine the wall time alone says little.

Ends with one JSON line: {"bench", "n", "seconds", "baseline_seconds", "ratio", "rss_mb", ...}.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent))
from duban.engine.deadlines.calendar import WorkingCalendar
from duban.engine.reminders.decide import Candidate, evaluate_and_decide
from duban.engine.reminders.policy import load_policy
from duban.engine.reminders.rules_durable import evaluate as durable_evaluate
from duban.engine.reminders.tick import Ticker
from duban.store.db import make_engine, session_factory, upgrade
from _common import database, drop, log, rss_mb  # noqa: E402

CAL = WorkingCalendar.default()
DAY = dt.date(2016, 9, 20)  # a Tuesday, a working day


def generate(url: str, n: int, *, stage_share: float = 0.05) -> None:
    """Fill a migrated store with ``n`` obligations using bulk DB-API inserts."""
    engine = make_engine(url)
    upgrade(engine)
    n_req = 1000
    n_units = max(1, n // n_req)
    thresholds = [10, 5, 1, 0, -1]
    stage_dates = [d for d in (CAL_at(t) for t in thresholds)]
    far = CAL.add_workdays(DAY, 120)
    t0 = time.perf_counter()
    with engine.begin() as conn:
        raw = conn.connection.dbapi_connection
        cur = raw.cursor()
        ph = "?" if engine.dialect.name == "sqlite" else "%s"

        def many(sql: str, rows: list[tuple[object, ...]]) -> None:
            cur.executemany(sql.replace("?", ph), rows)

        now = dt.datetime(2016, 6, 23, 0, 0)
        many("INSERT INTO plans (id, title, issuer, doc_number, published, plan_year, units_directory, source, "
             "file_path, content_hash, imported_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
             [("bench", "基准测试方案", "基准", None, dt.date(2016, 6, 23), 2016, "bench", None, "bench", "0", now)])
        many("INSERT INTO tasks (id, plan_id, no, title) VALUES (?,?,?,?)",
             [(i + 1, "bench", i + 1, f"任务{i + 1}") for i in range(10)])
        many("INSERT INTO requirements (id, task_id, no, text, units_as_written, role, inherited, review) "
             "VALUES (?,?,?,?,?,?,?,?)",
             [(r + 1, r // 100 + 1, r % 100 + 1, f"要求{r + 1}：按时公开有关信息。", "全体", "lead", "[]", "[]")
              for r in range(n_req)])
        many("INSERT INTO deadline_entries (id, requirement_id, ordinal, phrase, source, spec, spec_overridden, "
             "trigger_key) VALUES (?,?,?,?,?,?,?,?)",
             [(r + 1, r + 1, 1, "2016年12月底前完成", "cell", '{"kind": "fixed", "due": "2016-12-31"}', False, None)
              for r in range(n_req)])
        many("INSERT INTO units (id, name, full_name, directory, is_group, is_supervisor, aliases, note) "
             "VALUES (?,?,?,?,?,?,?,?)",
             [(u + 1, f"单位{u + 1:05d}", None, "bench", False, u == 0, "[]", None) for u in range(n_units)])
        many("INSERT INTO officials (unit_id, name, role, post, email, phone, demo) VALUES (?,?,?,?,?,?,?)",
             [(u + 1, f"联络员{u + 1}", "clerk", None, f"clerk{u + 1}@bench.example", None, True) for u in range(n_units)]
             + [(u + 1, f"负责人{u + 1}", "leader", None, f"leader{u + 1}@bench.example", None, True)
                for u in range(n_units)])
        batch_o: list[tuple[object, ...]] = []
        batch_c: list[tuple[object, ...]] = []
        every = max(1, round(1 / stage_share))
        oid = 0
        for r in range(n_req):
            for u in range(n_units):
                oid += 1
                batch_o.append((oid, f"bench/{r}/{u}", "bench", r + 1, r + 1, u + 1, 0, "fixed",
                                '{"kind": "fixed", "due": "2016-12-31"}', None, "active"))
                at_stage = (oid * 2654435761) % 4294967296 % every == 0  # Knuth hash: spread over units
                due = stage_dates[(oid // every) % len(stage_dates)] if at_stage else far
                batch_c.append((oid, oid, "final", "期限", due, False, "open"))
                if len(batch_o) >= 50_000:
                    many("INSERT INTO obligations (id, okey, plan_id, requirement_id, deadline_id, unit_id, part, kind, "
                         "spec, trigger_key, state) VALUES (?,?,?,?,?,?,?,?,?,?,?)", batch_o)
                    many("INSERT INTO occurrences (id, obligation_id, key, label, due, checkin, state) "
                         "VALUES (?,?,?,?,?,?,?)", batch_c)
                    batch_o, batch_c = [], []
                    log(f"  generated {oid:,} obligations ({time.perf_counter() - t0:.0f} s)")
        if batch_o:
            many("INSERT INTO obligations (id, okey, plan_id, requirement_id, deadline_id, unit_id, part, kind, "
                 "spec, trigger_key, state) VALUES (?,?,?,?,?,?,?,?,?,?,?)", batch_o)
            many("INSERT INTO occurrences (id, obligation_id, key, label, due, checkin, state) VALUES (?,?,?,?,?,?,?)",
                 batch_c)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE"))
    engine.dispose()
    log(f"generated {n:,} obligations in {time.perf_counter() - t0:.1f} s")


def CAL_at(wd: int) -> dt.date:
    """The due date that is ``wd`` working days from DAY (negative: overdue)."""
    if wd > 0:
        return CAL.add_workdays(DAY, wd)
    if wd == 0:
        return DAY
    d = DAY
    while CAL.workdays_between(d, DAY) < -wd:
        d -= dt.timedelta(days=1)
    return d


def naive(url: str) -> tuple[float, int]:
    """Load every due instance and post all of them through durable-rules."""
    policy = load_policy()
    engine = make_engine(url)
    t0 = time.perf_counter()
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT o.id, o.due FROM occurrences o JOIN obligations b ON b.id = o.obligation_id "
                                 "WHERE o.state = 'open' AND b.state = 'active'")).all()
    candidates = [Candidate(id=f"occ:{oid}", wd_to_due=CAL.workdays_between(DAY, due if isinstance(due, dt.date)
                                                                           else dt.date.fromisoformat(str(due)[:10])))
                  for oid, due in rows]
    verdicts = evaluate_and_decide(policy, candidates, durable_evaluate)
    sent = sum(1 for v in verdicts for d in v.decisions if d.action == "send")
    engine.dispose()
    return time.perf_counter() - t0, sent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--obligations", type=int, default=100_000)
    ap.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    ap.add_argument("--no-baseline", action="store_true", help="skip the naive baseline")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="duban-bench-"))
    dbname = None
    if args.backend == "sqlite":
        url = f"sqlite:///{tmp / 'bench.db'}"
    else:
        url, dbname = database("postgresql", tmp)
    try:
        generate(url, args.obligations)
        engine = make_engine(url)
        ticker = Ticker(sessions=session_factory(engine), calendar=CAL, policy=load_policy(),
                        evaluate=durable_evaluate, sender="督办系统 <duban@bench.example>",
                        message_id_domain="bench.example", dashboard_url="http://127.0.0.1:8000")
        quiet_day = DAY - dt.timedelta(days=140)
        while not CAL.is_workday(quiet_day):
            quiet_day += dt.timedelta(days=1)
        ticker.tick(quiet_day, dry_run=True)  # warm-up: the process's first tick compiles its statements
        t0 = time.perf_counter()
        quiet = ticker.tick(quiet_day)
        quiet_s = time.perf_counter() - t0
        log(f"quiet tick {quiet_day}: {quiet.candidates} candidates, {quiet_s:.2f} s")
        load_before = os.getloadavg()[0]
        t0, c0 = time.perf_counter(), time.process_time()
        busy = ticker.tick(DAY)
        busy_s, busy_cpu = time.perf_counter() - t0, time.process_time() - c0
        load = [round(load_before, 2), round(os.getloadavg()[0], 2)]
        log(f"busy tick {DAY}: {busy.candidates:,} candidates, {busy.sent:,} sent, {busy.digests:,} digests, "
            f"{busy_s:.2f} s")
        tick_rss = rss_mb()
        engine.dispose()
        base_s, base_sent = (float("nan"), 0) if args.no_baseline else naive(url)
        if not args.no_baseline:
            log(f"naive baseline (every instance through durable-rules): {base_s:.2f} s, {base_sent:,} would send")
        print(json.dumps({
            "bench": f"tick-{args.backend}", "n": args.obligations, "seconds": round(busy_s, 3),
            "baseline_seconds": None if args.no_baseline else round(base_s, 3),
            "ratio": None if args.no_baseline else round(base_s / busy_s, 2), "rss_mb": round(tick_rss, 1),
            "rss_mb_with_baseline": round(rss_mb(), 1),
            "phases": {k: round(v, 3) for k, v in busy.timings.items()},
            "cpu_seconds": round(busy_cpu, 3), "load_average": load,
            "decision_ratio": None if args.no_baseline else round(
                base_s / (busy.timings["facts"] + busy.timings["decisions"]), 2),
            "quiet_seconds": round(quiet_s, 3), "candidates": busy.candidates, "sent": busy.sent,
            "digests": busy.digests,
        }))
    finally:
        drop(dbname)
        for p in tmp.glob("*"):
            p.unlink()
        os.rmdir(tmp)


if __name__ == "__main__":
    main()
