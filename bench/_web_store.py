"""The stores and accounts ``bench/web_load.py`` serves: the seed plans, or a generated province.

Run as a script by ``web_load.py`` (in its own process: the load generator
runs on gevent, the store is written with ordinary blocking drivers):

    python bench/_web_store.py URL seed|scale|reuse N AS_OF  → one JSON line (the accounts and the work to do)

* ``seed``: the shipped plans imported and replayed to AS_OF (``duban plan
  import``, ``duban simulate``), as a new deployment would be.
* ``scale``: ``bench/tick.py``'s generator (the tick store of
  ``bench/scale.py``: 1,000 requirements × N/1,000 units, one fixed due
  instance each), split into plans of :data:`REQS_PER_PLAN` requirements —
  a province has hundreds of plans of a few thousand duties each (a city plan
  of ``bench/import.py`` holds ~2,250), not one plan of a million — then the
  obligation summary (``store/summary.py``, where present) is rebuilt, since
  the generator writes rows without the services.

Accounts: one supervisor, and a clerk for each of :data:`CLERK_UNITS` units
(the units with the most open duties), each with the list of its open duties
the bench's clerks complete (each once: the sessions of one clerk share the
list, so no duty is completed twice). ``reuse``: a store made before, its
accounts' duties still open now.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select, text

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

SUPERVISOR = ("bench-supervisor", "bench-password-2016-load")
CLERK_PASSWORD = "bench-clerk-password-2016"
CLERK_UNITS = 20
REQS_PER_PLAN = 2  # × 1,000 units at 1M: 2,000 duties a plan, 500 plans
OPEN_PER_CLERK = 400


def _run_cli(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "-m", "duban", *args], cwd=REPO, env=env, check=True, stdout=subprocess.DEVNULL)


def seed(url: str, as_of: str) -> None:
    """The seed plans, imported and replayed to ``as_of`` (reminders sent, some duties done)."""
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("DUBAN_")}, "DUBAN_DATABASE_URL": url,
           "DUBAN_OUTBOX_DIR": str(Path(os.environ.get("TMPDIR", "/tmp")) / "duban-web-load-outbox")}
    _run_cli(env, "plan", "import")
    _run_cli(env, "simulate", "--from", "2016-06-21", "--to", as_of, "--quiet")


def scale(url: str, n: int) -> None:
    """``bench/tick.py``'s store of ``n`` obligations, split into plans of :data:`REQS_PER_PLAN` requirements."""
    import tick

    tick.generate(url, n)
    from duban.store.db import make_engine

    engine = make_engine(url)
    per = REQS_PER_PLAN
    with engine.begin() as conn:
        n_req = int(conn.scalar(text("SELECT count(*) FROM requirements")) or 0)
        plans = (n_req + per - 1) // per
        conn.execute(text(
            "INSERT INTO plans (id, title, issuer, doc_number, published, plan_year, units_directory, source, "
            "file_path, content_hash, imported_at) "
            "SELECT 'bench-' || lpad(g::text, 4, '0'), '基准测试方案' || g, '基准', NULL, published, plan_year, "
            "units_directory, source, file_path || g, content_hash, imported_at "
            "FROM plans, generate_series(1, :plans) AS g WHERE id = 'bench'"), {"plans": plans})
        conn.execute(text("INSERT INTO tasks (id, plan_id, no, title) SELECT 100000 + g, "
                          "'bench-' || lpad(g::text, 4, '0'), 1, '任务' || g FROM generate_series(1, :plans) AS g"),
                     {"plans": plans})
        conn.execute(text("UPDATE requirements SET task_id = 100000 + (id - 1) / :per + 1, no = (id - 1) % :per + 1"),
                     {"per": per})
        conn.execute(text("UPDATE obligations SET plan_id = 'bench-' || lpad(((requirement_id - 1) / :per + 1)::text, "
                          "4, '0')"), {"per": per})
        conn.execute(text("DELETE FROM tasks WHERE plan_id = 'bench'"))
        conn.execute(text("DELETE FROM plans WHERE id = 'bench'"))
    _rebuild_summary(engine)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    engine.dispose()


def _rebuild_summary(engine) -> None:  # type: ignore[no-untyped-def]
    try:
        from duban.store import summary
    except ImportError:  # a store without the maintained summary
        return
    from duban.store.db import session_factory

    with session_factory(engine)() as session, session.begin():
        summary.rebuild(session)


def accounts(url: str, as_of: str, *, create: bool = True) -> dict[str, object]:
    """The supervisor and the clerks with the open duties each may complete (created unless ``create`` is false:
    then the accounts of an earlier run, with the duties still open now)."""
    import datetime as dt

    from argon2 import PasswordHasher

    from duban.store.db import make_engine, session_factory
    from duban.store.models import Obligation, Occurrence, Unit, User, UserUnit
    from duban.web.auth import add_user

    day = dt.date.fromisoformat(as_of)
    engine = make_engine(url)
    hasher = PasswordHasher(time_cost=1, memory_cost=8192)  # a bench account, hashed quickly
    clerks = []
    with session_factory(engine)() as db, db.begin():
        if create:
            add_user(db, name=SUPERVISOR[0], role="supervisor", password=SUPERVISOR[1], actor="bench", hasher=hasher)
        open_duty = (select(Obligation.unit_id, Obligation.id)
                     .join(Occurrence, Occurrence.obligation_id == Obligation.id)
                     .where(Obligation.state == "active", Occurrence.state == "open", Occurrence.checkin.is_(False),
                            Occurrence.due <= day + dt.timedelta(days=120)))
        duties = open_duty.subquery()
        busiest = db.execute(select(Unit.id, Unit.name, func.count()).join(duties, duties.c.unit_id == Unit.id)
                             .where(Unit.is_group.is_(False)).group_by(Unit.id, Unit.name)
                             .order_by(func.count().desc(), Unit.id).limit(CLERK_UNITS)).all()
        for i, (unit_id, unit_name, _n) in enumerate(busiest, 1):
            name = f"bench-clerk-{i:02d}"
            if create:
                add_user(db, name=name, role="clerk", password=CLERK_PASSWORD, units=[unit_name], actor="bench",
                         hasher=hasher)
            else:
                unit_id = db.scalar(select(UserUnit.unit_id).join(User, User.id == UserUnit.user_id)
                                    .where(User.name == name))
            ids = sorted(set(db.scalars(open_duty.with_only_columns(Obligation.id)
                                        .where(Obligation.unit_id == unit_id).limit(OPEN_PER_CLERK * 2))))
            clerks.append({"name": name, "password": CLERK_PASSWORD, "unit_id": unit_id, "open": ids[:OPEN_PER_CLERK]})
        n_obligations = int(db.scalar(select(func.count()).select_from(Obligation)) or 0)
    engine.dispose()
    return {"supervisor": {"name": SUPERVISOR[0], "password": SUPERVISOR[1]}, "clerks": clerks,
            "obligations": n_obligations}


def main() -> None:
    url, kind, n, as_of = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    if kind == "seed":
        seed(url, as_of)
    elif kind == "scale":
        scale(url, n)
    print(json.dumps(accounts(url, as_of, create=kind != "reuse")))


if __name__ == "__main__":
    main()
