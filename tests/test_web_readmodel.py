"""The dashboard's SQL aggregates agree with the engine's per-obligation status rules.

``duban.web.readmodel`` counts statuses with GROUP BY over a CASE that restates
:func:`duban.engine.services.queries.status_of`; here the two are held equal on the seed
plans (with events, completions, waivers and an extension mixed in) for any
as-of day, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from helpers import YELLOW
from duban.engine.deadlines.calendar import WorkingCalendar
from duban.engine.runtime.settings import load_settings
from duban.engine.deadlines.spec import Offset
from duban.engine.services.completions import complete, waive
from duban.engine.services.events import record_event
from duban.engine.services.extensions import approve_extension, request_extension
from duban.engine.plans.importer import import_result
from duban.engine.plans.planfile import load_plans
from duban.engine.services.queries import CHECKIN_MISSED, STATUSES, list_obligations, refine_checkin
from duban.engine.runtime.build import Runtime, build_runtime
from duban.store.db import make_engine, upgrade
from duban.store.models import Obligation, Occurrence, Unit
from duban.web import readmodel
from helpers import create_database, database_url, drop_database
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text

REPO = Path(__file__).resolve().parent.parent
PLAN = "jieyang-2016-disclosure"
DAYS = st.dates(min_value=dt.date(2016, 6, 1), max_value=dt.date(2017, 12, 31))


@dataclass
class Seeded:
    runtime: Runtime

    @property
    def calendar(self) -> WorkingCalendar:
        return self.runtime.calendar


def _mix_states(rt: Runtime) -> None:
    """Events, completions (on time and late), waivers (whole and one instance), an approved extension."""
    with rt.sessions() as s, s.begin():
        record_event(s, trigger_key="gd_negative_list_doc", plan=PLAN, on=dt.date(2016, 8, 1), actor="t",
                     proj=rt.projection)
        record_event(s, trigger_key="major_emergency", plan=PLAN, on=dt.date(2016, 10, 10), actor="t",
                     proj=rt.projection, title="台风")
        ids = s.scalars(select(Obligation.id).join(Occurrence, Occurrence.obligation_id == Obligation.id)
                        .where(Obligation.state == "active", Occurrence.state == "open")
                        .distinct().order_by(Obligation.id)).all()
        for i, oid in enumerate(ids[:400]):
            if i % 5 == 0:
                complete(s, oid, on=dt.date(2016, 7, 15), evidence="https://example.gov.cn/a", actor="t",
                         calendar=rt.calendar)
            elif i % 5 == 1:
                complete(s, oid, on=dt.date(2017, 1, 20), evidence="late", actor="t", calendar=rt.calendar)
            elif i % 17 == 2:
                waive(s, oid, reason="合并", actor="sup")
            elif i % 23 == 3:
                ob = s.get(Obligation, oid)
                first = min((o for o in ob.occurrences if o.state == "open"), key=lambda o: o.due)
                waive(s, oid, reason="本批次不适用", actor="sup", occurrence=first.key)
            elif i % 29 == 4:
                ext = request_extension(s, oid, until=dt.date(2017, 3, 31), reason="r", actor="clerk")
                approve_extension(s, ext.id, actor="sup")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def seeded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    tmp = tmp_path_factory.mktemp("rm")
    drop = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp / 'duban.db'}"
    else:
        admin = request.getfixturevalue("pg_admin")
        template = request.getfixturevalue("pg_template")
        name = create_database(admin, prefix="duban_r", template=template)
        url = database_url(admin, name)

        def drop() -> None:
            drop_database(admin, name)

    cfg = load_settings(environ={"DUBAN_DATABASE_URL": url, "DUBAN_OUTBOX_DIR": str(tmp / "outbox")})
    engine = make_engine(url)
    upgrade(engine)
    rt = build_runtime(cfg, engine=engine)
    result = load_plans([REPO / "rules" / "plans"], units_dirs=list(cfg.units_dirs), calendar=rt.calendar)
    with rt.sessions() as s, s.begin():
        import_result(s, result, calendar=rt.calendar, actor="t", source="cli",
                      default_offset=Offset(unit="working_days", amount=cfg.trigger_default_offset_working_days),
                      checkins=cfg.ongoing_checkins)
    _mix_states(rt)
    with engine.connect() as conn:  # fresh statistics, as autovacuum would give a long-lived database
        conn.execute(text("ANALYZE"))
        conn.commit()
    yield Seeded(runtime=rt)
    engine.dispose()
    if drop:
        drop()


@dataclass(frozen=True)
class Row:
    """A ``list_obligations`` row with the dashboard's status: ``status_of`` refined by ``refine_checkin``."""

    id: int
    unit: str
    task: int
    due: dt.date | None
    deadline: dt.date | None  # the earliest open due instance that is not a check-in
    status: str


def _refined(s: Any, calendar: WorkingCalendar, as_of: dt.date, plan: str | None = None) -> list[Row]:
    """The rows the dashboard must show, computed apart from its SQL (one object per obligation)."""
    rows = list_obligations(s, calendar=calendar, due_soon_within=YELLOW, as_of=as_of, plan=plan)
    deadline: dict[int, dt.date] = {}
    for oid, due in s.execute(select(Occurrence.obligation_id, Occurrence.due)
                              .where(Occurrence.state == "open", Occurrence.checkin.is_(False))):
        deadline[oid] = min(due, deadline.get(oid, due))
    return [Row(id=r.id, unit=r.unit, task=r.task, due=r.due, deadline=deadline.get(r.id),
                status=refine_checkin(r.status, next_deadline=deadline.get(r.id), as_of=as_of)) for r in rows]


def _expected(rows: list[Any]) -> tuple[Counter[str], dict[str, Counter[str]], dict[int, Counter[str]]]:
    by_status: Counter[str] = Counter(r.status for r in rows)
    by_unit: dict[str, Counter[str]] = {}
    by_task: dict[int, Counter[str]] = {}
    for r in rows:
        by_unit.setdefault(r.unit, Counter())[r.status] += 1
        by_task.setdefault(r.task, Counter())[r.status] += 1
    return by_status, by_unit, by_task


def _plain(counts: Any) -> dict[str, int]:
    return {k: v for k, v in counts.items() if v}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(as_of=DAYS)
def test_overview_counts_equal_status_of_for_any_day(seeded: Seeded, as_of: dt.date) -> None:
    rt = seeded.runtime
    with rt.sessions() as s:
        rows = _refined(s, rt.calendar, as_of, PLAN)
        ov = readmodel.overview(s, as_of=as_of, calendar=rt.calendar, due_soon_within=rt.due_soon_within, plan_id=PLAN)
        everything = readmodel.overview(s, as_of=as_of, calendar=rt.calendar, due_soon_within=rt.due_soon_within, plan_id=None)
        all_rows = _refined(s, rt.calendar, as_of)
        statuses = readmodel.statuses_of(s, [r.id for r in rows], as_of=as_of,
                                         until=readmodel.due_soon_until(rt.calendar, as_of, rt.due_soon_within))
    by_status, by_unit, by_task = _expected(rows)
    assert _plain(ov.by_status) == dict(by_status)
    assert {g.label: _plain(g.counts) for g in ov.by_unit} == {u: dict(c) for u, c in by_unit.items()}
    assert {g.key: _plain(g.counts) for g in ov.groups} == {t: dict(c) for t, c in by_task.items()}
    assert _plain(everything.by_status) == dict(Counter(r.status for r in all_rows))
    assert {oid: st_ for oid, (st_, _) in statuses.items()} == {r.id: r.status for r in rows}
    assert {oid: due for oid, (_, due) in statuses.items()} == {r.id: r.due for r in rows}
    # the overdue list: missed deadlines (never check-ins), the oldest first, none older left out
    overdue = sorted((r.deadline, r.id) for r in rows if r.status == "overdue")
    assert [(o.due, o.obligation_id) for o in ov.overdue] == overdue[:len(ov.overdue)]
    assert len(ov.overdue) == min(30, len(overdue))


def test_every_status_occurs_in_the_mixed_seed(seeded: Seeded) -> None:
    """The differential test above is only as good as its data: each status appears on some day."""
    rt = seeded.runtime
    seen: set[str] = set()
    with rt.sessions() as s:
        for day in (dt.date(2016, 7, 1), dt.date(2016, 9, 26), dt.date(2016, 12, 26), dt.date(2017, 6, 1)):
            seen |= {k for k, v in readmodel.overview(s, as_of=day, calendar=rt.calendar, due_soon_within=rt.due_soon_within, plan_id=PLAN)
                     .by_status.items() if v}
    assert seen == set(STATUSES) | {CHECKIN_MISSED}


@given(as_of=st.dates(min_value=dt.date(2016, 1, 1), max_value=dt.date(2026, 12, 1)))
def test_due_soon_window_matches_working_days_between(as_of: dt.date) -> None:
    cal = WorkingCalendar.default()
    until = readmodel.due_soon_until(cal, as_of, YELLOW)
    assert cal.workdays_between(as_of, until) <= 5
    assert cal.workdays_between(as_of, until + dt.timedelta(days=1)) > 5


def test_timeline_counts_every_open_instance_in_the_window(seeded: Seeded) -> None:
    rt = seeded.runtime
    as_of = dt.date(2016, 9, 15)
    with rt.sessions() as s:
        months = readmodel.timeline(s, as_of=as_of, months=4, plan_id=None)
        dues = s.execute(select(Occurrence.due).join(Obligation, Obligation.id == Occurrence.obligation_id)
                         .where(Occurrence.state == "open", Obligation.state == "active")).scalars().all()
    expected = Counter((d.year, d.month) for d in dues if as_of <= d < dt.date(2017, 1, 1))
    assert [(m.year, m.month) for m in months] == [(2016, 9), (2016, 10), (2016, 11), (2016, 12)]
    assert {(m.year, m.month): m.count for m in months if m.count} == dict(expected)
    for m in months:
        assert len(m.items) == min(m.count, 60)
        assert all(as_of <= i.due and (i.due.year, i.due.month) == (m.year, m.month) for i in m.items)
        assert [i.due for i in m.items] == sorted(i.due for i in m.items)


def test_unit_and_plan_views_agree_with_the_overview(seeded: Seeded) -> None:
    rt = seeded.runtime
    as_of = dt.date(2016, 10, 20)
    with rt.sessions() as s:
        ov = readmodel.overview(s, as_of=as_of, calendar=rt.calendar, due_soon_within=rt.due_soon_within, plan_id=PLAN)
        plan = readmodel.plan_view(s, PLAN, as_of=as_of, calendar=rt.calendar, due_soon_within=rt.due_soon_within)
        unit_id = s.scalar(select(Unit.id).where(Unit.name == "市编办"))
        unit = readmodel.unit_view(s, unit_id, as_of=as_of, calendar=rt.calendar, due_soon_within=rt.due_soon_within, plan_id=PLAN)
    assert plan is not None and unit is not None
    assert dict(plan.counts) == dict(ov.by_status)
    assert len(plan.tasks) == 30 and [t.no for t in plan.tasks] == list(range(30))
    row = next(g for g in ov.by_unit if g.label == "市编办")
    assert dict(unit.counts) == dict(row.counts)
    assert len(unit.obligations) == row.total
    ranks = [readmodel.ORDER.index(o.status) for o in unit.obligations]
    assert ranks == sorted(ranks)  # overdue first
