"""Benchmark: verify a 1,000,000-record audit chain.

A migrated store is filled with a genuine hash chain (computed in Python
with :func:`duban.store.audit.record_hash`, bulk-inserted: DB-API
``executemany`` on SQLite, ``COPY`` on PostgreSQL), with realistic records:
Chinese actors and evidence, nested before/after JSON, nulls. Then
``audit.verify`` walks the whole table (median of several runs).

Baselines, in the same run:

* ``baseline_seconds``: the straightforward walk — ORM-typed rows (JSON and
  UTC timestamp type processing on every value) and ``record_hash`` per
  record, as the first version of ``verify`` did;
* ``hash_only_seconds``: the same verification over records already in
  memory in their stored form (no database at all) — the floor that reading
  from the database adds to.

Run: ``.venv/bin/python bench/audit.py [--backend sqlite|postgresql] [--n 1000000] [--runs 3]``.
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
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import select, text

sys.path.insert(0, str(Path(__file__).resolve().parent))
from duban.store import audit
from duban.store.db import make_engine, session_factory, upgrade
from duban.store.models import AuditRecord
from _common import database, drop, log, rss_mb  # noqa: E402

BATCH = 50_000


ACTIONS = ("obligation.completed", "event.recorded", "extension.approved", "notification.sent", "tick.decided")
ACTORS = ("督查室林瑜", "市发展改革局联络员", "scheduler", "市财政局联络员")


def records(n: int) -> Iterator[tuple]:
    """A genuine chain of ``n`` records, in :data:`audit.COLUMNS` order (``at`` aware UTC)."""
    prev = audit.GENESIS
    start = dt.datetime(2016, 6, 23, 1, 0, tzinfo=dt.timezone.utc)
    for i in range(n):
        seq = i + 1
        at = start + dt.timedelta(seconds=7 * i, microseconds=i % 1_000_000)
        action = ACTIONS[i % len(ACTIONS)]
        before = None if i % 3 == 0 else {"state": "open", "due": f"2016-{1 + i % 12:02d}-{1 + i % 28:02d}"}
        after = {"state": "done", "occurrence": "final", "evidence": f"http://www.jieyang.gov.cn/zwgk/{i}.html",
                 "completed_on": "2016-08-04", "late_by_working_days": i % 4, "说明": "已在门户网站公开"}
        reason = None if i % 5 else "按省文件要求更正"
        fields = dict(at=at, actor=ACTORS[i % len(ACTORS)], source="cli" if i % 7 else "scheduler", action=action,
                      object_type=action.split(".")[0], object_id=str(1000 + i % 50_000), before=before, after=after,
                      reason=reason)
        digest = audit.record_hash(seq=seq, prev_hash=prev, **fields)
        yield (seq, *fields.values(), prev, digest)
        prev = digest


def stored(record: tuple, *, sqlite: bool) -> tuple:
    """A record as the table holds it: naive UTC (text on SQLite), JSON columns as canonical text."""
    seq, at, actor, source, action, otype, oid, before, after, reason, prev, digest = record
    naive = at.replace(tzinfo=None)
    return (seq, naive.isoformat(sep=" ", timespec="microseconds") if sqlite else naive, actor, source, action, otype,
            oid, audit._json_text(before), audit._json_text(after), reason, prev, digest)


def fill(url: str, n: int) -> None:
    engine = make_engine(url)
    upgrade(engine)
    sqlite = engine.dialect.name == "sqlite"
    t0 = time.perf_counter()
    with engine.begin() as conn:
        raw = conn.connection.dbapi_connection
        cur = raw.cursor()
        batch: list[tuple] = []

        def flush() -> None:
            if sqlite:
                cur.executemany("INSERT INTO audit_log (seq, at, actor, source, action, object_type, object_id, "
                                "before, after, reason, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", batch)
            else:
                with cur.copy("COPY audit_log (seq, at, actor, source, action, object_type, object_id, before, "
                              "after, reason, prev_hash, hash) FROM STDIN") as copy:
                    for row in batch:
                        copy.write_row(row)
            batch.clear()

        for record in records(n):
            batch.append(stored(record, sqlite=sqlite))
            seq = record[0]
            if len(batch) >= BATCH:
                flush()
                if seq % 200_000 == 0:
                    log(f"  {seq:,} records ({time.perf_counter() - t0:.0f} s)")
        if batch:
            flush()
    if not sqlite:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE audit_log"))
    engine.dispose()
    log(f"generated {n:,} records in {time.perf_counter() - t0:.1f} s")


def naive_verify(session) -> audit.VerifyResult:  # type: ignore[no-untyped-def]
    """The straightforward walk: typed ORM columns, ``record_hash`` per record."""
    cols = [getattr(AuditRecord, c) for c in audit.COLUMNS]
    prev, expected, last = audit.GENESIS, 1, 0
    while True:
        chunk = session.execute(select(*cols).where(AuditRecord.seq > last).order_by(AuditRecord.seq)
                                .limit(20_000)).all()
        if not chunk:
            return audit.VerifyResult(ok=True, checked=expected - 1)
        for seq, at, actor, source, action, otype, oid, before, after, reason, p, h in chunk:
            if seq != expected or p != prev or audit.record_hash(
                    seq=seq, at=at, actor=actor, source=source, action=action, object_type=otype, object_id=oid,
                    before=before, after=after, reason=reason, prev_hash=p) != h:
                return audit.VerifyResult(ok=False, checked=expected - 1, first_bad_seq=expected)
            prev, expected = h, expected + 1
        last = chunk[-1][0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--no-baseline", action="store_true", help="skip the ORM-typed walk")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url, pg_name = database(args.backend, Path(tmp))
        try:
            fill(url, args.n)
            engine = make_engine(url)
            sessions = session_factory(engine)
            with sessions() as s:
                checkpoint = audit.head(s)
            runs = []
            for i in range(args.runs):
                with sessions() as s:
                    t0 = time.perf_counter()
                    result = audit.verify(s, checkpoint)
                    runs.append(time.perf_counter() - t0)
                if not result.ok or result.checked != args.n:
                    raise SystemExit(f"verify failed on a genuine chain: {result}")
                log(f"  run {i + 1}: {runs[-1]:.2f} s ({args.n / runs[-1]:,.0f} records/s)")
            seconds = statistics.median(runs)
            baseline_seconds = None
            if not args.no_baseline:
                with sessions() as s:
                    t0 = time.perf_counter()
                    naive = naive_verify(s)
                    baseline_seconds = time.perf_counter() - t0
                if not naive.ok:
                    raise SystemExit("the naive walk disagrees on a genuine chain")
                log(f"  ORM-typed walk: {baseline_seconds:.2f} s")
            engine.dispose()
        finally:
            drop(pg_name)
    # The floor: the same hashing with the records already in memory (a 200,000-record sample, scaled).
    sample = min(args.n, 200_000)
    rows = [stored(r, sqlite=True) for r in records(sample)]
    t0 = time.perf_counter()
    if not audit.verify_rows(rows, json_text=True).ok:
        raise SystemExit("in-memory verify failed")
    hash_only = (time.perf_counter() - t0) * args.n / sample
    log(f"  verifying in memory (no database): {hash_only:.2f} s scaled from {sample:,}")
    print(json.dumps({
        "bench": "audit",
        "n": args.n,
        "seconds": round(seconds, 3),
        "baseline_seconds": round(baseline_seconds, 3) if baseline_seconds is not None else None,
        "ratio": round(baseline_seconds / seconds, 2) if baseline_seconds is not None else None,
        "rss_mb": rss_mb(),
        "backend": args.backend,
        "target_seconds": 10.0,
        "records_per_s": round(args.n / seconds),
        "runs_seconds": [round(r, 3) for r in runs],
        "hash_only_seconds": round(hash_only, 3),
        "db_overhead_ratio": round(seconds / hash_only, 2),
        "baseline": "ORM-typed rows + record_hash per record (the first verify)",
        "python": platform.python_version(),
    }))


if __name__ == "__main__":
    main()
