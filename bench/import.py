"""Benchmark: validate + import a province-scale plan set into SQLite and PostgreSQL.

21 cities × 30 tasks × 5 requirements × 15 units ≈ 47,000 obligations (the
generator of ``bench/plan_validate.py``). For each backend, a fresh database
is migrated, then ``load_plans`` + ``import_result`` run in one transaction.
The baseline, in the same run, is the naive import: one ORM object per row,
``session.add`` and a flush per obligation (what an importer written without
bulk statements does).

Run: ``.venv/bin/python bench/import.py [--naive-sample 2000]``; one JSON line per backend.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent))
from plan_validate import CITIES, _plan_file, _units_file  # noqa: E402  (the shared generator)

from duban.engine.deadlines.calendar import WorkingCalendar  # noqa: E402
from duban.engine.plans.importer import import_result  # noqa: E402
from duban.engine.plans.planfile import load_plans  # noqa: E402
from duban.store.db import make_engine, session_factory, upgrade  # noqa: E402
from duban.store.models import Obligation, Occurrence  # noqa: E402
from _common import database, drop, log  # noqa: E402



def _server_cpu(pid: int | None) -> float | None:
    """CPU seconds used so far by the PostgreSQL backend ``pid``, if it runs on this host (``/proc``)."""
    try:
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0]) / 1e9 if pid else None
    except (OSError, ValueError, IndexError):
        return None


def timed_import(engine, result, cal) -> tuple[object, dict[str, float | None]]:  # type: ignore[no-untyped-def]
    """``import_result`` in one transaction (commit included); its report and timings.

    On a shared machine the wall time depends on what else runs, so beside it
    the line records the load average and the CPU seconds of this process
    (client) and of its PostgreSQL backend (server, read from ``/proc`` when
    the server runs on this host): their sum is what the import costs with
    the machine to itself and no overlap between client and server.
    """
    load = os.getloadavg()[0]
    with session_factory(engine)() as s, s.begin():
        pid = s.execute(text("SELECT pg_backend_pid()")).scalar() if engine.dialect.name == "postgresql" else None
        c0, s0, t0 = time.process_time(), _server_cpu(pid), time.perf_counter()
        report = import_result(s, result, calendar=cal, actor="bench")
        c1, s1 = time.process_time(), _server_cpu(pid)
    seconds = time.perf_counter() - t0
    server = round(s1 - s0, 3) if s0 is not None and s1 is not None else None
    return report, {"import_seconds": round(seconds, 3), "client_cpu_seconds": round(c1 - c0, 3),
                    "server_cpu_seconds": server, "load_average": round(load, 2)}


def naive_rate(url: str, result, sample: int) -> float:  # type: ignore[no-untyped-def]
    """Obligations per second for a row-at-a-time ORM import (measured on a sample, same store shape)."""
    engine = make_engine(url)
    sessions = session_factory(engine)
    plan = result.plans[0]
    with sessions() as s, s.begin():
        # Reuse the structure the real import wrote; add `sample` obligations one ORM object at a time.
        req_id, dl_id, unit_id = s.execute(text(
            "SELECT requirement_id, deadline_id, unit_id FROM obligations LIMIT 1")).one()
        t0 = time.perf_counter()
        for i in range(sample):
            ob = Obligation(okey=f"naive/{plan.id}/{i}", plan_id=plan.id, requirement_id=req_id, deadline_id=dl_id,
                            unit_id=unit_id, part=0, kind="fixed", spec={"kind": "fixed", "due": "2016-12-31"},
                            trigger_key=None, state="active")
            s.add(ob)
            s.flush()
            s.add(Occurrence(obligation_id=ob.id, key="final", label="期限", due=plan.published, checkin=False,
                             state="open"))
            s.flush()
        rate = sample / (time.perf_counter() - t0)
        s.rollback()
    engine.dispose()
    return rate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    ap.add_argument("--naive-sample", type=int, default=2000)
    args = ap.parse_args()
    rng = random.Random(2016)
    cal = WorkingCalendar.default()
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        plans_dir, units_dir = tmp / "plans", tmp / "units"
        plans_dir.mkdir()
        units_dir.mkdir()
        for city in range(1, CITIES + 1):
            (units_dir / f"city{city:02d}.yaml").write_text(_units_file(city), encoding="utf-8")
            (plans_dir / f"city{city:02d}.yaml").write_text(_plan_file(city, rng), encoding="utf-8")
        backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
        for backend in backends:
            url, name = database(backend, tmp)
            try:
                engine = make_engine(url)
                upgrade(engine)
                t0 = time.perf_counter()
                result = load_plans([plans_dir], units_dirs=[units_dir], calendar=cal)
                t_validate = time.perf_counter() - t0
                if result.errors:
                    raise SystemExit("\n".join(e.format() for e in result.errors[:10]))
                report, timing = timed_import(engine, result, cal)
                t_import = float(timing["import_seconds"] or 0)
                n = sum(p.obligations_added for p in report.plans)  # type: ignore[attr-defined]
                engine.dispose()
                log(f"{backend}: validate {t_validate:.2f} s, import {t_import:.2f} s, {n:,} obligations "
                    f"({n / t_import:,.0f}/s); {timing}")
                naive = naive_rate(url, result, args.naive_sample)
                log(f"{backend}: naive row-at-a-time ORM import: {naive:,.0f} obligations/s (sample {args.naive_sample})")
                total = t_validate + t_import
                print(json.dumps({
                    "bench": f"import-{backend}", "n": n, "seconds": round(total, 3),
                    "baseline_seconds": round(n / naive, 3), "ratio": round((n / naive) / t_import, 2),
                    "rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                    "validate_seconds": round(t_validate, 3), **timing,
                    "obligations_per_second": round(n / t_import),
                    "occurrences": sum(p.occurrences_added for p in report.plans),  # type: ignore[attr-defined]
                }), flush=True)
            finally:
                drop(name)


if __name__ == "__main__":
    main()
