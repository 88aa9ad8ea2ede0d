"""Benchmark: how import, tick, trigger and the overview grow with the store, on both backends.

    python bench/scale.py [--sizes 10000,100000,1000000] [--backend sqlite|postgresql|both]
                          [--benches import,tick,trigger,overview] [--runs 3]

Every (bench, backend, N) is measured in its own subprocess, so ``rss_mb`` is
that measurement's peak memory (store generation included) and nothing is
cached between sizes. Each prints one JSON line
``{"bench", "n", "seconds", "baseline_seconds", "ratio", "rss_mb", ...}``;
``seconds`` is the median of ``--runs`` runs where a run can be repeated.

* ``import``: ``load_plans`` + ``import_result`` of generated plan files
  holding N obligations (21-city province plans, as ``bench/import.py``, more
  cities for more N). Baseline: the naive row-at-a-time ORM import, its rate
  measured on a 1,000-obligation sample in the same store and scaled to N.
* ``tick``: the busy tick of ``bench/tick.py`` (5 % of N at a reminder stage
  on the day) and the quiet tick (``quiet_seconds``, a day with nothing at a
  stage, after one warm-up tick); ``cpu_seconds`` is the busy tick's own CPU
  time and ``load_average`` the 1-minute load before and after it. Baseline: the naive tick (every open due instance through
  durable-rules), run in full.
* ``trigger``: one provincial document activates N/2 waiting obligations
  (``bench/trigger.py``'s store: N/2 waiting + N/2 fixed). Baseline: the
  naive per-row ORM service, its rate measured on 2,000 obligations and
  scaled to N/2.
* ``overview``: the dashboard's "all plans" overview (``web.readmodel.overview``)
  on the tick store; ``seconds`` is the median, ``p95_seconds`` the 95th
  percentile of ``--runs`` × 4 calls after one (``first_call_seconds``, which
  also compiles the statements); ``plan_*`` one plan's overview and
  ``unit_*`` a unit's page, the same way. The store is generated with raw
  inserts, so its ``obligation_summary`` is rebuilt first (``rebuild_seconds``).
  Baseline: the naive overview, every obligation's due instances loaded and
  counted in Python.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import math
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import database, drop, log, rss_mb  # noqa: E402

BENCHES = ("import", "tick", "trigger", "overview")


def _line(bench: str, backend: str, n: int, seconds: float, baseline_s: float, /, **extra: object) -> str:
    return json.dumps({"bench": f"scale-{bench}-{backend}", "n": n, "seconds": round(seconds, 4),
                       "baseline_seconds": round(baseline_s, 3), "ratio": round(baseline_s / seconds, 2),
                       "rss_mb": rss_mb(), "backend": backend, **extra}, ensure_ascii=False)


# --------------------------------------------------------------------------- one measurement each


def bench_import(backend: str, n: int, runs: int, tmp: Path) -> str:
    from plan_validate import _plan_file, _units_file

    from duban.engine.deadlines.calendar import WorkingCalendar
    from duban.engine.plans.planfile import load_plans
    from duban.store.db import make_engine, upgrade

    per_city = 47_250 / 21  # what one generated city plan holds
    cities = max(1, math.ceil(n / per_city))
    rng, cal = random.Random(2016), WorkingCalendar.default()
    plans_dir, units_dir = tmp / "plans", tmp / "units"
    plans_dir.mkdir()
    units_dir.mkdir()
    for city in range(1, cities + 1):
        (units_dir / f"city{city:02d}.yaml").write_text(_units_file(city), encoding="utf-8")
        (plans_dir / f"city{city:02d}.yaml").write_text(_plan_file(city, rng), encoding="utf-8")
    url, name = database(backend, tmp)
    try:
        engine = make_engine(url)
        upgrade(engine)
        t0 = time.perf_counter()
        result = load_plans([plans_dir], units_dirs=[units_dir], calendar=cal)
        t_validate = time.perf_counter() - t0
        bench = importlib.import_module("import")  # bench/import.py: the timed import and the naive rate
        report, timing = bench.timed_import(engine, result, cal)
        t_import = timing["import_seconds"]
        added = sum(p.obligations_added for p in report.plans)
        engine.dispose()
        naive_rate = bench.naive_rate(url, result, 1000)
        log(f"import {backend} {added:,}: {t_import:.2f} s ({added / t_import:,.0f}/s); naive {naive_rate:,.0f}/s; "
            f"{timing}")
        return _line("import", backend, added, t_import, added / naive_rate, validate_seconds=round(t_validate, 3),
                     client_cpu_seconds=timing["client_cpu_seconds"], server_cpu_seconds=timing["server_cpu_seconds"],
                     load_average=timing["load_average"],
                     obligations_per_second=round(added / t_import), target_per_second=20_000,
                     baseline="naive per-row ORM import, rate on a 1,000 sample, scaled to n")
    finally:
        drop(name)


def bench_tick(backend: str, n: int, runs: int, tmp: Path) -> list[str]:
    """The busy and quiet tick, then the overview on the same store (two JSON lines)."""
    import tick as tickbench

    from duban.engine.reminders.policy import load_policy
    from duban.engine.reminders.rules_durable import evaluate as durable_evaluate
    from duban.engine.reminders.tick import Ticker
    from duban.store.db import make_engine, session_factory

    url, name = database(backend, tmp)
    try:
        tickbench.generate(url, n)
        engine = make_engine(url)
        sessions = session_factory(engine)
        lines = []
        if "overview" in BENCH_FILTER:
            lines.append(_overview(backend, n, runs, sessions, url))
        ticker = Ticker(sessions=sessions, calendar=tickbench.CAL, policy=load_policy(), evaluate=durable_evaluate,
                        sender="督办系统 <duban@bench.example>", message_id_domain="bench.example",
                        dashboard_url="http://127.0.0.1:8000")
        quiet_day = tickbench.DAY - dt.timedelta(days=140)
        while not tickbench.CAL.is_workday(quiet_day):
            quiet_day += dt.timedelta(days=1)
        ticker.tick(quiet_day, dry_run=True)  # warm-up: the process's first tick compiles its statements
        quiet = []
        for _ in range(runs):
            t0 = time.perf_counter()
            ticker.tick(quiet_day)
            quiet.append(time.perf_counter() - t0)
        load_before = os.getloadavg()[0]
        t0, c0 = time.perf_counter(), time.process_time()
        busy = ticker.tick(tickbench.DAY)
        busy_s, busy_cpu = time.perf_counter() - t0, time.process_time() - c0
        load = [round(load_before, 2), round(os.getloadavg()[0], 2)]  # 1-minute load average before, after
        tick_rss = rss_mb()
        engine.dispose()
        base_s, _sent = tickbench.naive(url)
        log(f"tick {backend} {n:,}: busy {busy_s:.2f} s (cpu {busy_cpu:.2f} s, load {load}), "
            f"quiet {statistics.median(quiet):.3f} s, naive {base_s:.2f} s")
        if "tick" in BENCH_FILTER:
            lines.append(_line("tick", backend, n, busy_s, base_s, rss_mb_tick=tick_rss,
                               cpu_seconds=round(busy_cpu, 3), load_average=load,
                               quiet_seconds=round(statistics.median(quiet), 4),
                               phases={k: round(v, 3) for k, v in busy.timings.items()},
                               candidates=busy.candidates, sent=busy.sent, digests=busy.digests,
                               target_seconds=3.0, quiet_target_seconds=0.1,
                               baseline="naive tick: every open due instance through durable-rules"))
        return lines
    finally:
        drop(name)


def _timed_calls(sessions, calls: int, fn) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """(median, p95) seconds of ``calls`` calls of ``fn(session)``, each in a fresh session."""
    times = []
    for _ in range(calls):
        with sessions() as s:
            t0 = time.perf_counter()
            fn(s)
            times.append(time.perf_counter() - t0)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, math.ceil(0.95 * len(times)) - 1)]


def _overview(backend: str, n: int, runs: int, sessions, url: str) -> str:  # type: ignore[no-untyped-def]
    """The "all plans" overview; also one plan's overview and a unit's page (``plan_*``, ``unit_*``).

    The generated store is written with raw inserts, which bypass the services
    that keep ``obligation_summary`` right: it is rebuilt first
    (``rebuild_seconds``, what ``duban db summary --repair`` costs).
    """
    from sqlalchemy import text

    import tick as tickbench
    from duban.engine.reminders.policy import load_policy
    from duban.store import summary
    from duban.web import readmodel

    t0 = time.perf_counter()
    with sessions() as s, s.begin():
        rows = summary.rebuild(s)
    rebuild_s = time.perf_counter() - t0
    yellow = load_policy().yellow_within
    common = {"as_of": tickbench.DAY, "calendar": tickbench.CAL, "due_soon_within": yellow}
    # The first call after start-up also compiles the statements (a serving process does that once).
    first_s, _ = _timed_calls(sessions, 1, lambda s: readmodel.overview(s, plan_id=None, **common))
    median, p95 = _timed_calls(sessions, runs * 4, lambda s: readmodel.overview(s, plan_id=None, **common))
    plan_median, plan_p95 = _timed_calls(sessions, runs * 4,
                                         lambda s: readmodel.overview(s, plan_id="bench", **common))
    unit_median, unit_p95 = _timed_calls(sessions, runs * 4, lambda s: readmodel.unit_view(s, 2, **common))
    t0 = time.perf_counter()
    with sessions() as s:  # the naive overview: every due instance to Python, counted there
        counts: dict[tuple[object, object, str], int] = {}
        for plan, unit, state, due in s.execute(text(
                "SELECT b.plan_id, b.unit_id, o.state, o.due FROM obligations b JOIN occurrences o "
                "ON o.obligation_id = b.id")):
            status = state if state != "open" else ("overdue" if str(due) < str(tickbench.DAY) else "open")
            counts[(plan, unit, status)] = counts.get((plan, unit, status), 0) + 1
    base_s = time.perf_counter() - t0
    log(f"overview {backend} {n:,}: median {median:.3f} s, p95 {p95:.3f} s, naive {base_s:.2f} s; "
        f"plan p95 {plan_p95:.3f} s, unit p95 {unit_p95:.3f} s; summary rebuilt in {rebuild_s:.2f} s ({rows:,} rows)")
    return _line("overview", backend, n, median, base_s, p95_seconds=round(p95, 4), calls=runs * 4,
                 target_p95_seconds=0.3, first_call_seconds=round(first_s, 4), plan_seconds=round(plan_median, 4), plan_p95_seconds=round(plan_p95, 4),
                 unit_seconds=round(unit_median, 4), unit_p95_seconds=round(unit_p95, 4),
                 rebuild_seconds=round(rebuild_s, 3), summary_rows=rows, load_average=_load(),
                 baseline="naive: every due instance loaded and counted in Python")


def _load() -> list[float]:
    """The machine's 1/5/15-minute load averages (a shared machine: other work runs too)."""
    return [round(x, 2) for x in os.getloadavg()]


def bench_trigger(backend: str, n: int, runs: int, tmp: Path) -> str:
    import trigger as trig
    from sqlalchemy import select

    from duban.engine.deadlines.projection import EventOccurrence, PlanContext, project
    from duban.engine.deadlines.spec import spec_from_json
    from duban.store.db import make_engine, session_factory
    from duban.store.models import Event, Obligation, Occurrence, Trigger

    waiting = max(100, n // 2 // 100 * 100)
    url, name = database(backend, tmp)
    try:
        trig.generate(url, waiting)
        engine = make_engine(url)
        sessions = session_factory(engine)
        times = []
        for _ in range(runs):
            times.append(trig.ours(sessions, waiting))
            trig.reset(sessions)
        sample = min(waiting, 2000)
        t0 = time.perf_counter()
        with sessions() as s, s.begin():  # the naive service on a sample, rolled back
            trigger = s.scalars(select(Trigger).where(Trigger.key == trig.KEY)).one()
            ev = Event(trigger_id=trigger.id, occurred_on=trig.EVENT_DAY, actor="基准", state="active")
            s.add(ev)
            s.flush()
            ctx = PlanContext(plan_year=2016, published=dt.date(2016, 6, 23))
            occ = EventOccurrence(id=str(ev.id), on=trig.EVENT_DAY)
            for ob in s.scalars(select(Obligation).where(Obligation.trigger_key == trig.KEY).limit(sample)):
                spec = spec_from_json(ob.spec)
                for due in project(spec, ctx, trig.CAL, events={spec.event: [occ]},  # type: ignore[union-attr]
                                   default_offset=trig.PROJ.default_offset):
                    s.add(Occurrence(obligation_id=ob.id, key=due.key, label=due.label, due=due.due, event_id=ev.id))
                    s.flush()
            naive_rate = sample / (time.perf_counter() - t0)
            s.rollback()
        engine.dispose()
        seconds = statistics.median(times)
        log(f"trigger {backend} {waiting:,}: {seconds:.3f} s; naive {naive_rate:,.0f}/s")
        return _line("trigger", backend, 2 * waiting, seconds, waiting / naive_rate, activated=waiting,
                     activations_per_second=round(waiting / seconds),
                     runs_seconds=[round(t, 4) for t in times],
                     baseline=f"naive per-row ORM service, rate on {sample:,} obligations, scaled to the activations")
    finally:
        drop(name)


BENCH_FILTER: set[str] = set(BENCHES)


def one(bench: str, backend: str, n: int, runs: int) -> None:
    with tempfile.TemporaryDirectory(prefix="duban-scale-") as tmp:
        if bench == "import":
            print(bench_import(backend, n, runs, Path(tmp)), flush=True)
        elif bench == "trigger":
            print(bench_trigger(backend, n, runs, Path(tmp)), flush=True)
        else:  # tick and overview share a generated store
            for line in bench_tick(backend, n, runs, Path(tmp)):
                print(line, flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    ap.add_argument("--benches", default=",".join(BENCHES))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--one", choices=[*BENCHES, "tick+overview"], help=argparse.SUPPRESS)
    ap.add_argument("--n", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    BENCH_FILTER.clear()
    BENCH_FILTER.update(b for b in args.benches.split(",") if b)
    if args.one:
        one(args.one, args.backend, args.n, args.runs)
        return
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    jobs = [b for b in ("import", "trigger") if b in BENCH_FILTER]
    if BENCH_FILTER & {"tick", "overview"}:
        jobs.append("tick+overview")
    log(f"python {platform.python_version()}, {platform.machine()}; sizes {args.sizes}; backends {backends}")
    for n in (int(s) for s in args.sizes.split(",")):
        for backend in backends:
            for job in jobs:
                cmd = [sys.executable, __file__, "--one", job, "--backend", backend, "--n", str(n),
                       "--runs", str(args.runs), "--benches", args.benches]
                subprocess.run(cmd, check=True)


if __name__ == "__main__":
    main()
