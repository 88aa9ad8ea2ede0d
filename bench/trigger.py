"""Benchmark: one provincial document activates 10,000 waiting obligations.

A synthetic store (bulk-generated: 100 requirements × 100 units waiting on
one trigger, with three different windows, plus as many fixed-date
obligations as noise) is migrated and filled once. Each measured run is the
whole ``duban event record`` transaction: the event row, the re-projection of
every waiting obligation (one due instance each, on the working-day
calendar), the audit record, and the commit. Between runs the event and its
due instances are removed (untimed), so every run starts from the same state.

The baseline, in the same run, is the naive service: one ORM object per
obligation, projected one by one, ``session.add`` and a flush per due
instance, then the same single audit record.

Run: ``.venv/bin/python bench/trigger.py [--backend sqlite|postgresql] [--n 10000] [--runs 5]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import delete, func, select, text

sys.path.insert(0, str(Path(__file__).resolve().parent))
from duban.engine.deadlines.calendar import WorkingCalendar
from duban.engine.deadlines.spec import Offset, spec_from_json
from duban.engine.services.events import Projection, record_event
from duban.engine.deadlines.projection import EventOccurrence, PlanContext, project
from duban.store import audit
from duban.store.db import make_engine, session_factory, upgrade
from duban.store.models import Event, Obligation, Occurrence, Trigger
from _common import database, drop, log, rss_mb  # noqa: E402

CAL = WorkingCalendar.default()
PROJ = Projection(calendar=CAL, default_offset=Offset(unit="working_days", amount=10), checkins=((6, 30), (9, 30)))
EVENT_DAY = dt.date(2016, 9, 5)
KEY = "gd_doc"
SPECS = ['{"kind": "triggered", "event": "provincial_document_issued", "offset": null}',
         '{"kind": "triggered", "event": "provincial_document_issued", "offset": {"working_days": 20}}',
         '{"kind": "triggered", "event": "provincial_document_issued", "offset": {"days": 30}}']


def generate(url: str, n: int) -> None:
    """``n`` obligations waiting on one trigger and ``n`` fixed ones, with bulk DB-API inserts."""
    engine = make_engine(url)
    upgrade(engine)
    n_req = 100
    n_units = max(1, n // n_req)
    with engine.begin() as conn:
        cur = conn.connection.dbapi_connection.cursor()
        ph = "?" if engine.dialect.name == "sqlite" else "%s"

        def many(sql: str, rows: list[tuple[object, ...]]) -> None:
            cur.executemany(sql.replace("?", ph), rows)

        now = dt.datetime(2016, 6, 23, 0, 0)
        many("INSERT INTO plans (id, title, issuer, doc_number, published, plan_year, units_directory, source, "
             "file_path, content_hash, imported_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
             [("bench", "基准测试方案", "基准", None, dt.date(2016, 6, 23), 2016, "bench", None, "bench", "0", now)])
        many("INSERT INTO triggers (id, plan_id, key, event_kind, description) VALUES (?,?,?,?,?)",
             [(1, "bench", KEY, "provincial_document_issued", "省相关文件出台")])
        many("INSERT INTO tasks (id, plan_id, no, title) VALUES (?,?,?,?)", [(1, "bench", 1, "任务1")])
        many("INSERT INTO requirements (id, task_id, no, text, units_as_written, role, inherited, review) "
             "VALUES (?,?,?,?,?,?,?,?)",
             [(r + 1, 1, r + 1, f"要求{r + 1}：省文件出台后贯彻落实。", "全体", "lead", "[]", "[]") for r in range(n_req)])
        many("INSERT INTO deadline_entries (id, requirement_id, ordinal, phrase, source, spec, spec_overridden, "
             "trigger_key) VALUES (?,?,?,?,?,?,?,?)",
             [(2 * r + 1, r + 1, 1, "待省相关文件出台后", "cell", SPECS[r % 3], False, KEY) for r in range(n_req)]
             + [(2 * r + 2, r + 1, 2, "2016年12月底前完成", "cell", '{"kind": "fixed", "due": "2016-12-31"}', False,
                 None) for r in range(n_req)])
        many("INSERT INTO units (id, name, full_name, directory, is_group, is_supervisor, aliases, note) "
             "VALUES (?,?,?,?,?,?,?,?)",
             [(u + 1, f"单位{u + 1:05d}", None, "bench", False, u == 0, "[]", None) for u in range(n_units)])
        obligations, occurrences = [], []
        oid = 0
        for r in range(n_req):
            for u in range(n_units):
                oid += 1
                obligations.append((oid, f"bench/{r}/{u}/1", "bench", r + 1, 2 * r + 1, u + 1, 0, "triggered",
                                    SPECS[r % 3], KEY, "active"))
                oid += 1
                obligations.append((oid, f"bench/{r}/{u}/2", "bench", r + 1, 2 * r + 2, u + 1, 0, "fixed",
                                    '{"kind": "fixed", "due": "2016-12-31"}', None, "active"))
                occurrences.append((oid, oid, "final", "2016年12月31日前", dt.date(2016, 12, 31), False, "open"))
        many("INSERT INTO obligations (id, okey, plan_id, requirement_id, deadline_id, unit_id, part, kind, spec, "
             "trigger_key, state) VALUES (?,?,?,?,?,?,?,?,?,?,?)", obligations)
        many("INSERT INTO occurrences (id, obligation_id, key, label, due, checkin, state) VALUES (?,?,?,?,?,?,?)",
             occurrences)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for table in ("triggers", "tasks", "requirements", "deadline_entries", "units", "obligations",
                          "occurrences"):  # explicit ids above: move the sequences past them
                quoted = conn.dialect.identifier_preparer.quote(table)
                sql = "SELECT setval(pg_get_serial_sequence(:t, 'id'), (SELECT MAX(id) FROM " + quoted + "))"
                conn.execute(text(sql), {"t": table})
            conn.execute(text("ANALYZE"))
    engine.dispose()


def reset(sessions) -> None:  # type: ignore[no-untyped-def]
    """Remove the event and its due instances (untimed), so the next run starts from the same state."""
    with sessions() as s, s.begin():
        waiting = select(Obligation.id).where(Obligation.trigger_key == KEY).scalar_subquery()
        s.execute(delete(Occurrence).where(Occurrence.obligation_id.in_(waiting)))
        s.execute(delete(Event))


def ours(sessions, n: int) -> float:  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    with sessions() as s, s.begin():
        [(_ev, stats)] = record_event(s, trigger_key=KEY, on=EVENT_DAY, actor="基准", proj=PROJ,
                                      doc_number="粤府〔2016〕1号")
    seconds = time.perf_counter() - t0
    if stats.added != n:
        raise SystemExit(f"expected {n} activations, got {stats.added}")
    return seconds


def naive(sessions, n: int) -> float:  # type: ignore[no-untyped-def]
    """Row at a time: load each obligation, project it alone, add and flush its due instance."""
    t0 = time.perf_counter()
    with sessions() as s, s.begin():
        trigger = s.scalars(select(Trigger).where(Trigger.key == KEY)).one()
        ev = Event(trigger_id=trigger.id, occurred_on=EVENT_DAY, actor="基准", state="active")
        s.add(ev)
        s.flush()
        ctx = PlanContext(plan_year=2016, published=dt.date(2016, 6, 23))
        occurrence = EventOccurrence(id=str(ev.id), on=EVENT_DAY)
        added = 0
        for ob in s.scalars(select(Obligation).where(Obligation.trigger_key == KEY)):
            spec = spec_from_json(ob.spec)
            for due in project(spec, ctx, CAL, events={spec.event: [occurrence]},  # type: ignore[union-attr]
                               default_offset=PROJ.default_offset):
                s.add(Occurrence(obligation_id=ob.id, key=due.key, label=due.label, due=due.due, event_id=ev.id))
                s.flush()
                added += 1
        audit.append(s, actor="基准", source="cli", action="event.recorded", object_type="event", object_id=ev.id,
                     after={"activated": added})
    seconds = time.perf_counter() - t0
    if added != n:
        raise SystemExit(f"naive: expected {n} activations, got {added}")
    return seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    ap.add_argument("--n", type=int, default=10_000, help="waiting obligations (a multiple of 100)")
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url, pg_name = database(args.backend, Path(tmp))
        try:
            t0 = time.perf_counter()
            generate(url, args.n)
            log(f"{args.backend}: generated {args.n:,} waiting + {args.n:,} fixed obligations in "
                f"{time.perf_counter() - t0:.1f} s")
            engine = make_engine(url)
            sessions = session_factory(engine)
            runs = []
            for i in range(args.runs):
                runs.append(ours(sessions, args.n))
                log(f"  run {i + 1}: {runs[-1]:.3f} s ({args.n / runs[-1]:,.0f} activations/s)")
                with sessions() as s:
                    dues = dict(s.execute(select(Occurrence.due, func.count()).join(Obligation)
                                          .where(Obligation.trigger_key == KEY).group_by(Occurrence.due)).tuples().all())
                reset(sessions)
            expected = {CAL.add_workdays(EVENT_DAY, 10), CAL.add_workdays(EVENT_DAY, 20),
                        EVENT_DAY + dt.timedelta(days=30)}
            if set(dues) != expected:
                raise SystemExit(f"wrong due dates: {dues}")
            seconds = statistics.median(runs)
            baseline_seconds = naive(sessions, args.n)
            log(f"  naive per-row ORM: {baseline_seconds:.3f} s")
            with sessions() as s:
                verified = audit.verify(s)
            if not verified.ok:
                raise SystemExit(f"audit chain broken: {verified.problem}")
            engine.dispose()
        finally:
            drop(pg_name)
    print(json.dumps({
        "bench": "trigger",
        "n": args.n,
        "seconds": round(seconds, 4),
        "baseline_seconds": round(baseline_seconds, 3),
        "ratio": round(baseline_seconds / seconds, 1),
        "rss_mb": rss_mb(),
        "backend": args.backend,
        "target_seconds": 1.0,
        "activations_per_s": round(args.n / seconds),
        "runs_seconds": [round(r, 4) for r in runs],
        "audit_records_per_run": 1,
        "due_dates": {d.isoformat(): c for d, c in sorted(dues.items())},
        "baseline": "naive per-row ORM: load, project alone, add + flush each due instance",
        "python": platform.python_version(),
    }))


if __name__ == "__main__":
    main()
