"""The obligation summary stays equal to the aggregate it replaces, whatever the write paths do.

``obligation_summary`` (``duban.store.summary``) is derived data: the
dashboard's counts are summed from it instead of aggregating every due
instance. Here random sequences of plan imports (new, changed, retiring and
reviving obligations), completions, waivers, extensions, progress reports and
events recorded, corrected and retracted run on a real store, on SQLite and
PostgreSQL; after every step the stored summary equals the one recomputed from
scratch (:func:`duban.store.summary.verify`), and at the end the counts the
overview sums from it equal the old per-obligation aggregate
(:func:`duban.web.readmodel.grouped_counts`, itself held to ``status_of`` by
``test_web_readmodel.py``) for several days. Also: the migration's backfill,
and the operator's ``duban db summary`` check and repair.
"""

from __future__ import annotations

import datetime as dt
import functools
import shutil
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from duban.engine.plans.importer import import_result
from duban.engine.plans.planfile import LoadResult, load_plans
from duban.engine.services.completions import complete, waive
from duban.engine.services.errors import ServiceError
from duban.engine.services.events import Projection, correct_event, record_event, retract_event
from duban.engine.services.extensions import approve_extension, request_extension
from duban.engine.services.progress import record_progress
from duban.store import summary
from duban.store.db import make_engine, session_factory, upgrade
from duban.store.models import Event, Obligation, Occurrence, Trigger
from duban.web import readmodel
from helpers import CAL, CHECKINS, DEFAULT_OFFSET, REPO, YELLOW, create_database, database_url, drop_database, run
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session, sessionmaker

PROJ = Projection(calendar=CAL, default_offset=DEFAULT_OFFSET, checkins=CHECKINS)
FIRST, LAST = dt.date(2016, 6, 23), dt.date(2017, 12, 31)  # after both seed plans were published
DISCLOSURE = "jieyang-2016-disclosure"
#: Plan-file variants a step may import: the seed, one retiring most of a requirement's obligations,
#: one moving due dates, both (and back: a re-import of the seed revives the retired ones).
VARIANTS = ("seed", "retire", "move", "retire+move")
OPS = ("import", "complete", "waive", "waive_one", "extend", "progress", "event", "correct", "retract")


# --------------------------------------------------------------------------- plan variants


def _swap(text: str, anchor: str, old: str, new: str) -> str:
    at = text.index(old, text.index(anchor))
    return text[:at] + new + text[at + len(old):]


@functools.cache
def variant(name: str, folder: Path) -> LoadResult:
    """The seed plans, edited as ``name`` says, loaded and validated (once per run)."""
    out = folder / name
    out.mkdir(parents=True, exist_ok=True)
    disclosure = (REPO / "rules" / "plans" / f"{DISCLOSURE}.yaml").read_text(encoding="utf-8")
    tax = (REPO / "rules" / "plans" / "jieyang-2016-tax-sharing.yaml").read_text(encoding="utf-8")
    if "retire" in name:
        disclosure = _swap(disclosure, "各地各部门主要负责同志年内至少要听取1次",
                           'units: "各县（市、区）人民政府（管委会），市有关单位"', 'units: "市府办公室"')
    if "move" in name:
        disclosure = disclosure.replace('phrase: "本方案公布后30个工作日内"', 'phrase: "本方案公布后40个工作日内"')
        tax = tax.replace('phrase: "6月30日前"', 'phrase: "7月15日前"')
    (out / f"{DISCLOSURE}.yaml").write_text(disclosure, encoding="utf-8")
    (out / "jieyang-2016-tax-sharing.yaml").write_text(tax, encoding="utf-8")
    result = load_plans([out], units_dirs=[REPO / "rules" / "units"], calendar=CAL)
    assert result.ok, [e.format() for e in result.errors[:5]]
    return result


def import_variant(s: Session, name: str, folder: Path) -> None:
    import_result(s, variant(name, folder), calendar=CAL, actor="test", default_offset=DEFAULT_OFFSET,
                  checkins=CHECKINS)


# --------------------------------------------------------------------------- stores from a template


@dataclass
class Template:
    """A migrated store with the seed imported, copied for each example."""

    backend: str
    source: str  # SQLite file or PostgreSQL database name
    admin: Engine | None = None

    def fresh(self, tmp: Path, n: int) -> tuple[Engine, sessionmaker[Session], str | None]:
        if self.backend == "sqlite":
            path = tmp / f"example-{n}.db"
            shutil.copy(self.source, path)
            engine = make_engine(f"sqlite:///{path}")
            return engine, session_factory(engine), None
        assert self.admin is not None
        name = create_database(self.admin, prefix="duban_sum", template=self.source)
        engine = make_engine(database_url(self.admin, name))
        return engine, session_factory(engine), name


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def template(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Template]:
    folder = tmp_path_factory.mktemp("summary")
    if request.param == "sqlite":
        path = folder / "template.db"
        engine = make_engine(f"sqlite:///{path}")
        admin, name = None, None
    else:
        admin = request.getfixturevalue("pg_admin")
        name = create_database(admin, prefix="duban_sumtpl", template=request.getfixturevalue("pg_template"))
        engine = make_engine(database_url(admin, name))
    upgrade(engine)
    with session_factory(engine)() as s, s.begin():
        import_variant(s, "seed", tmp_path_factory.getbasetemp() / "variants")
    engine.dispose()
    yield Template(request.param, str(path) if admin is None else name, admin)  # type: ignore[arg-type]
    if admin is not None and name is not None:
        drop_database(admin, name)


# --------------------------------------------------------------------------- the steps


def _day(base: dt.date, days: int) -> dt.date:
    return min(LAST, max(FIRST, base + dt.timedelta(days=days)))


def _open_obligations(s: Session) -> list[tuple[int, dt.date]]:
    """Active obligations with an open due instance, and their earliest open due date."""
    return [tuple(r) for r in s.execute(  # type: ignore[misc]
        select(Obligation.id, func.min(Occurrence.due)).join(Occurrence, Occurrence.obligation_id == Obligation.id)
        .where(Obligation.state == "active", Occurrence.state == "open")
        .group_by(Obligation.id).order_by(Obligation.id))]


def step(s: Session, op: str, pick: int, days: int, folder: Path) -> None:
    """One write path, on an obligation or event chosen by ``pick``; may raise ServiceError (refused)."""
    if op == "import":
        import_variant(s, VARIANTS[pick % len(VARIANTS)], folder)
        return
    if op in ("event", "correct", "retract"):
        _event_step(s, op, pick, days)
        return
    live = _open_obligations(s)
    if not live:
        return
    oid, due = live[pick % len(live)]
    if op == "complete":
        complete(s, oid, on=_day(due, days), evidence="已公开", actor="clerk", calendar=CAL)
    elif op in ("waive", "waive_one"):
        waive(s, oid, reason="免予督办", actor="supervisor", occurrence=due if op == "waive_one" else None)
    elif op == "extend":
        ext = request_extension(s, oid, until=_day(due, abs(days) + 1), reason="待数据", actor="clerk", calendar=CAL)
        approve_extension(s, ext.id, actor="supervisor", calendar=CAL)
    elif op == "progress":
        record_progress(s, oid, on=_day(due, days), text="已完成部分工作", actor="clerk", calendar=CAL)


def _event_step(s: Session, op: str, pick: int, days: int) -> None:
    on = _day(dt.date(2016, 9, 1), days * 3)
    if op == "event":
        keys = s.scalars(select(Trigger.key).where(Trigger.plan_id == DISCLOSURE).order_by(Trigger.key)).all()
        record_event(s, trigger_key=keys[pick % len(keys)], plan=DISCLOSURE, on=on, actor="督查室",
                     proj=PROJ, title=f"文件{pick}-{days}")
        return
    active = s.scalars(select(Event.id).where(Event.state == "active").order_by(Event.id)).all()
    if not active:
        return
    event_id = active[pick % len(active)]
    if op == "correct":
        correct_event(s, event_id, on=on, actor="督查室", proj=PROJ)
    else:
        retract_event(s, event_id, reason="登记有误", actor="督查室", proj=PROJ)


# --------------------------------------------------------------------------- the comparison


def reference_and_summary(s: Session, as_of: dt.date) -> Iterator[tuple[Any, Any]]:
    """(old aggregate, summary) pairs of counts, for every grouping the dashboard shows."""
    until = readmodel.due_soon_until(CAL, as_of, YELLOW)
    sm = summary.SUMMARY.c
    plans = s.scalars(select(Obligation.plan_id).distinct()).all()
    scopes: list[tuple[tuple[str, ...], list[Any], list[Any]]] = [(("plan_id", "unit_id"), [], [])]
    scopes += [(("task_id", "unit_id"), [Obligation.plan_id == p], [sm.plan_id == p]) for p in plans]
    for keys, old_where, new_where in scopes:
        old = readmodel.grouped_counts(s, keys, *old_where, as_of=as_of, until=until)
        new = readmodel.summary_counts(s, keys, *new_where, as_of=as_of, until=until)
        yield Counter({tuple(r[:-1]): r[-1] for r in old}), Counter({tuple(r[:-1]): int(r[-1]) for r in new})
    ov = readmodel.overview(s, as_of=as_of, calendar=CAL, due_soon_within=YELLOW, plan_id=None)
    old_status: Counter[str] = Counter()
    for _plan, _unit, status, n in readmodel.grouped_counts(s, ("plan_id", "unit_id"), as_of=as_of, until=until):
        old_status[status] += n
    yield +old_status, +Counter(ov.by_status)


@settings(max_examples=12, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=st.lists(st.tuples(st.sampled_from(OPS), st.integers(0, 10_000), st.integers(-60, 120)),
                      min_size=1, max_size=10),
       days=st.lists(st.dates(min_value=dt.date(2016, 6, 1), max_value=dt.date(2017, 12, 31)), min_size=3,
                     max_size=3))
def test_the_summary_equals_the_aggregate_after_any_sequence_of_writes(template, tmp_path_factory, steps, days):
    tmp = tmp_path_factory.mktemp("example")
    engine, sessions, name = template.fresh(tmp, len(steps))
    try:
        for op, pick, offset in steps:
            try:
                with sessions() as s, s.begin():
                    step(s, op, pick, offset, tmp_path_factory.getbasetemp() / "variants")
            except ServiceError:
                pass  # refused (already done, nothing open...): rolled back, the summary with it
            with sessions() as s:
                assert summary.verify(s) == [], f"after {op}"
        with sessions() as s:
            for as_of in [*days, dt.date(2016, 9, 20)]:
                for old, new in reference_and_summary(s, as_of):
                    assert new == old, as_of
    finally:
        engine.dispose()
        if name is not None:
            drop_database(template.admin, name)


# --------------------------------------------------------------------------- backfill and the operator's check


def _mixed(seeded) -> None:  # type: ignore[no-untyped-def]
    """Some state the backfill must count: an event, a completion, a waiver."""
    with seeded.sessions() as s, s.begin():
        record_event(s, trigger_key="gd_negative_list_doc", plan=DISCLOSURE, on=dt.date(2016, 8, 1), actor="t",
                     proj=PROJ)
        (first, _), (second, _) = _open_obligations(s)[:2]
        complete(s, first, on=dt.date(2016, 8, 10), evidence="已公开", actor="t", calendar=CAL)
        waive(s, second, reason="免予督办", actor="t")


def _rows(s: Session) -> list[tuple[Any, ...]]:
    """The summary's rows without their ids, in a fixed order."""
    return sorted((tuple(r) for r in s.execute(select(*(summary.SUMMARY.c[k] for k in summary.KEY),
                                                       summary.SUMMARY.c.n))), key=repr)


def test_the_migration_backfills_the_summary_of_an_existing_store(seeded):
    from alembic import command
    from duban.store.db import _alembic_config

    _mixed(seeded)
    with seeded.sessions() as s:
        before = _rows(s)
    assert before
    with seeded.engine.begin() as conn:
        cfg = _alembic_config(seeded.engine)
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0007")
    upgrade(seeded.engine)
    with seeded.sessions() as s:
        assert summary.verify(s) == []
        after = _rows(s)
    assert after == before


def test_duban_db_summary_finds_and_repairs_what_manual_sql_broke(seeded, env_for):
    env = env_for(seeded)
    code, out, err = run(env, "db", "summary")
    assert code == 0, err
    assert "agrees" in out
    with seeded.engine.begin() as conn:  # an operator's UPDATE that bypasses the services
        conn.execute(text("UPDATE occurrences SET state = 'done' WHERE state = 'open'"))
    code, out, err = run(env, "db", "summary", "--json")
    assert code == 1
    assert '"stored"' in out
    code, out, err = run(env, "db", "summary", "--repair")
    assert code == 0, err
    assert "rebuilt" in out
    with seeded.sessions() as s:
        assert summary.verify(s) == []
