"""What the dashboard pages show, read with aggregates in SQL (never every row).

The per-obligation status is the one :func:`duban.engine.services.queries.status_of`
defines, written as a SQL ``CASE`` over per-obligation aggregates
(:func:`duban.store.summary.per_obligation`: the earliest open due date, the
earliest open deadline that is not a check-in, whether any due instance
exists), split in two: the *settled* part no day changes
(:func:`duban.store.summary.settled_status`) and the part the day decides
(:func:`dated_status`). The "due soon" window (5 working days, incl. the day)
becomes one date bound, :func:`due_soon_until`, computed once per request on
the official calendar. A differential test holds this SQL to ``status_of`` on
the seed plans.

Counts by status (the overview, a unit's totals) are summed from
``obligation_summary`` (:func:`summary_counts`): live obligations counted by
plan, task, unit, settled status and next due dates, kept right by the
transactions that change them (:mod:`duban.store.summary`). So the "all plans"
overview costs the summary's rows (tens of thousands at 1,000,000
obligations), not every due instance. Lists of obligations (a plan's chips, a
unit's list) still read :func:`per_obligation`, through
``ix_obligations_plan_id`` or ``ix_obligations_unit_id``.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, Subquery, case, func, select
from sqlalchemy.orm import Session

from ..engine.deadlines.calendar import WorkingCalendar
from ..errors import CalendarYearMissing
from ..engine.services.progress import ProgressRow, list_progress
from ..engine.services.queries import CHECKIN_MISSED
from ..store.summary import SUMMARY, per_obligation, settled_status
from ..store.models import (
    AuditRecord,
    DeadlineEntry,
    Event,
    Extension,
    Notification,
    Obligation,
    Occurrence,
    Official,
    Plan,
    Requirement,
    StageRecord,
    Task,
    Trigger,
    Unit,
)

#: Display order: what needs attention first (逾期优先).
#: ``checkin_missed`` (催报) is ``status_of``'s overdue when only a check-in passed (:func:`refine_checkin`).
ORDER: tuple[str, ...] = ("overdue", CHECKIN_MISSED, "due_soon", "open", "dormant", "done", "waived")
STATUS_ZH: Mapping[str, str] = {"overdue": "逾期", CHECKIN_MISSED: "未报进展", "due_soon": "临近到期", "open": "进行中",
                                "dormant": "待触发", "done": "已完成", "waived": "免予督办"}
COLOUR: Mapping[str, str] = {"overdue": "red", CHECKIN_MISSED: "purple", "due_soon": "yellow", "open": "green",
                             "dormant": "grey", "done": "blue", "waived": "grey"}
COLOUR_ZH: Mapping[str, str] = {"red": "红", "yellow": "黄", "green": "绿", "grey": "灰", "blue": "蓝", "purple": "紫"}
KIND_ZH: Mapping[str, str] = {"fixed": "固定时限", "recurring": "周期", "ongoing": "全年工作", "triggered": "待触发事件",
                              "relative": "相对时限", "composite": "组合"}
OCC_STATE_ZH: Mapping[str, str] = {"open": "未完成", "done": "已完成", "waived": "免予督办", "cancelled": "已取消"}


def due_soon_until(calendar: WorkingCalendar, as_of: dt.date, due_soon_within: int) -> dt.date:
    """The last due date that counts as "due soon" on ``as_of``.

    ``status_of`` says due_soon when ``workdays_between(as_of, due) <= 5``;
    that count grows with ``due``, so the window ends the day before the 6th
    working day after ``as_of``.
    """
    return calendar.add_workdays(as_of, due_soon_within + 1) - dt.timedelta(days=1)


def empty_counts() -> dict[str, int]:
    return dict.fromkeys(ORDER, 0)


# --------------------------------------------------------------------------- the status in SQL


def dated_status(settled: ColumnElement[str | None], next_due: ColumnElement[dt.date | None],
                 next_deadline: ColumnElement[dt.date | None], *, as_of: dt.date, until: dt.date
                 ) -> ColumnElement[str]:
    """The status on ``as_of``: the settled one if set, else the next due dates against the day.

    ``status_of`` then ``refine_checkin``: past the next due date is overdue
    when a deadline passed, 未报进展 (:data:`CHECKIN_MISSED`) when only a
    check-in did; within the due-soon window is due soon; later is open.
    """
    return case(
        (settled.is_not(None), settled),
        (next_due < as_of, case((next_deadline < as_of, "overdue"), else_=CHECKIN_MISSED)),
        (next_due <= until, "due_soon"),
        else_="open",
    )


def status_column(ob: Subquery, *, as_of: dt.date, until: dt.date) -> ColumnElement[str]:
    """``status_of`` then ``refine_checkin`` as a CASE over :func:`per_obligation`'s columns."""
    return dated_status(settled_status(ob), ob.c.next_due, ob.c.next_deadline, as_of=as_of, until=until)


def with_status(ob: Subquery, *, as_of: dt.date, until: dt.date, columns: Sequence[str]) -> Subquery:
    """``ob``'s ``columns`` plus ``status`` as a plain column (PostgreSQL cannot GROUP BY a bound CASE)."""
    return select(*(ob.c[name] for name in columns),
                  status_column(ob, as_of=as_of, until=until).label("status")).subquery("st")


def grouped_counts(session: Session, keys: Sequence[str], *where: ColumnElement[bool], as_of: dt.date,
                   until: dt.date) -> list[tuple[Any, ...]]:
    """``(key..., status, count)`` rows for live obligations matching ``where``."""
    st = with_status(per_obligation(*where), as_of=as_of, until=until, columns=keys)
    cols = [st.c[k] for k in keys]
    # Core execution: thousands of plain tuples, no ORM row machinery.
    return [tuple(r) for r in session.connection().execute(select(*cols, st.c.status, func.count())
                                                           .group_by(*cols, st.c.status))]


def summary_counts(session: Session, keys: Sequence[str], *where: ColumnElement[bool], as_of: dt.date,
                   until: dt.date) -> list[tuple[Any, ...]]:
    """``(key..., status, count)`` rows like :func:`grouped_counts`, summed from ``obligation_summary``.

    ``keys`` and ``where`` name the summary's columns (:data:`SUMMARY`:
    ``plan_id``, ``task_id``, ``unit_id``). The cost follows the summary's
    rows — live obligations with the same next due dates are one row — not
    the due instances in the store.
    """
    sm = SUMMARY.c
    st = select(*(sm[k] for k in keys), sm.n,
                dated_status(sm.settled, sm.next_due, sm.next_deadline, as_of=as_of, until=until).label("status")
                ).where(*where).subquery("st")
    cols = [st.c[k] for k in keys]
    return [tuple(r) for r in session.connection().execute(select(*cols, st.c.status, func.sum(st.c.n))
                                                           .group_by(*cols, st.c.status))]


# --------------------------------------------------------------------------- overview


@dataclass(frozen=True, kw_only=True, slots=True)
class PlanInfo:
    id: str
    title: str
    doc_number: str | None
    published: dt.date
    plan_year: int


@dataclass(frozen=True, kw_only=True, slots=True)
class GroupRow:
    """One line of a by-task, by-plan or by-unit table."""

    key: Any
    label: str
    href: str
    counts: Mapping[str, int]
    params: Mapping[str, str] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True, kw_only=True, slots=True)
class OverdueItem:
    obligation_id: int
    plan_id: str
    task_no: int
    requirement_no: int
    unit: str
    requirement_text: str
    due: dt.date
    working_days_overdue: int | None


@dataclass(frozen=True, kw_only=True, slots=True)
class Overview:
    as_of: dt.date
    until: dt.date
    plan: PlanInfo | None
    plans: tuple[PlanInfo, ...]
    by_status: Mapping[str, int]
    groups: tuple[GroupRow, ...]  # by task (one plan) or by plan (all plans)
    by_unit: tuple[GroupRow, ...]
    overdue: tuple[OverdueItem, ...]

    @property
    def total(self) -> int:
        return sum(self.by_status.values())


def list_plan_infos(session: Session) -> list[PlanInfo]:
    return [PlanInfo(id=p.id, title=p.title, doc_number=p.doc_number, published=p.published, plan_year=p.plan_year)
            for p in session.execute(select(Plan.id, Plan.title, Plan.doc_number, Plan.published, Plan.plan_year)
                                     .order_by(Plan.published.desc(), Plan.id))]


def _severity(row: GroupRow) -> tuple[int, int, int, str]:
    return (-row.counts["overdue"], -row.counts["due_soon"], -row.total, row.label)


def working_days_late(calendar: WorkingCalendar, due: dt.date, as_of: dt.date) -> int | None:
    try:
        return max(0, calendar.workdays_between(due, as_of))
    except CalendarYearMissing:
        return None


def _overdue_cutoff(session: Session, *, as_of: dt.date, limit: int, plan_id: str | None) -> dt.date | None:
    """The earliest deadline by which ``limit`` live obligations are overdue (from the summary), or None.

    An obligation's earliest overdue deadline is its summary row's
    ``next_deadline``, so the ``limit`` longest-overdue obligations all have
    one on or before this day: the instances due later need not be read.
    """
    sm = SUMMARY.c
    stmt = (select(sm.next_deadline, func.sum(sm.n)).where(sm.settled.is_(None), sm.next_deadline < as_of)
            .group_by(sm.next_deadline).order_by(sm.next_deadline))
    if plan_id is not None:
        stmt = stmt.where(sm.plan_id == plan_id)
    seen = 0
    for day, n in session.execute(stmt):
        seen += int(n)
        if seen >= limit:
            return day  # type: ignore[no-any-return]
    return None


def _first_overdue(session: Session, *, as_of: dt.date, limit: int, plan_id: str | None
                   ) -> list[tuple[int, dt.date]]:
    """``(obligation id, earliest overdue deadline)`` of the ``limit`` longest-overdue live obligations.

    Read from ``ix_occurrences_state_due`` alone (the instances past due, up to
    :func:`_overdue_cutoff`), then each page's obligations checked live (and
    in the plan) by primary key. Joining ``obligations`` in one statement lets
    PostgreSQL scan the whole table to hash it (0.1 s at 100,000 obligations,
    growing with the store); this costs the instances read. Pages grow until
    ``limit`` are found.
    """
    cutoff = _overdue_cutoff(session, as_of=as_of, limit=limit, plan_id=plan_id)
    occ_min = func.min(Occurrence.due).label("due")
    firsts = (select(Occurrence.obligation_id, occ_min)
              .where(Occurrence.state == "open", Occurrence.due < as_of, Occurrence.checkin.is_(False),
                     *([Occurrence.due <= cutoff] if cutoff is not None else []))
              .group_by(Occurrence.obligation_id).order_by(occ_min, Occurrence.obligation_id))
    live = [Obligation.state == "active", *([Obligation.plan_id == plan_id] if plan_id is not None else [])]
    found: list[tuple[int, dt.date]] = []
    offset, page = 0, 4 * limit
    while len(found) < limit:
        rows = session.execute(firsts.offset(offset).limit(page)).all()
        ok = set(session.scalars(select(Obligation.id).where(Obligation.id.in_([r[0] for r in rows]), *live))
                 ) if rows else set()
        found += [(oid, due) for oid, due in rows if oid in ok]
        if len(rows) < page:
            break
        offset, page = offset + page, 2 * page
    return found[:limit]


def overdue_items(session: Session, *, as_of: dt.date, calendar: WorkingCalendar, plan_id: str | None = None,
                  unit_id: int | None = None, limit: int = 30) -> list[OverdueItem]:
    """The longest-overdue live obligations, oldest due first (missed deadlines; check-ins are 催报).

    Uses ``ix_occurrences_state_due``: only open instances already past due are
    read (store- or plan-wide, only up to the summary's cutoff: :func:`_first_overdue`).
    The earliest of an obligation's overdue instances is its next due.
    """
    if unit_id is None and plan_id is None:
        firsts: Sequence[tuple[int, dt.date]] = _first_overdue(session, as_of=as_of, limit=limit, plan_id=None)
    else:  # one plan's or one unit's obligations are few: found through their index
        occ_min = func.min(Occurrence.due).label("due")
        scope = [Obligation.unit_id == unit_id] if unit_id is not None else []
        scope += [Obligation.plan_id == plan_id] if plan_id is not None else []
        stmt = (select(Obligation.id, occ_min).join(Occurrence, Occurrence.obligation_id == Obligation.id)
                .where(Occurrence.state == "open", Occurrence.due < as_of, Occurrence.checkin.is_(False),
                       Obligation.state == "active", *scope)
                .group_by(Obligation.id).order_by(occ_min, Obligation.id).limit(limit))
        firsts = [tuple(r) for r in session.execute(stmt)]  # type: ignore[misc]
    if not firsts:
        return []
    info = {r.id: r for r in session.execute(
        select(Obligation.id, Obligation.plan_id, Task.no.label("task_no"), Requirement.no.label("req_no"),
               Requirement.text, Unit.name)
        .join(Requirement, Requirement.id == Obligation.requirement_id).join(Task, Task.id == Requirement.task_id)
        .join(Unit, Unit.id == Obligation.unit_id).where(Obligation.id.in_([f[0] for f in firsts])))}
    return [OverdueItem(obligation_id=oid, plan_id=info[oid].plan_id, task_no=info[oid].task_no,
                        requirement_no=info[oid].req_no, unit=info[oid].name, requirement_text=info[oid].text,
                        due=due, working_days_overdue=working_days_late(calendar, due, as_of))
            for oid, due in firsts]


def unit_labels(session: Session, ids: Iterable[int]) -> dict[int, str]:
    """Short names, with the directory added where a name repeats (every city has a 市财政局)."""
    wanted = set(ids)
    stmt = select(Unit.id, Unit.name, Unit.directory)
    # Many ids (the all-plans overview): reading the small units table beats binding thousands of parameters.
    rows = [r for r in session.execute(stmt if len(wanted) > 500 else stmt.where(Unit.id.in_(wanted)))
            if r.id in wanted]
    seen = Counter(r.name for r in rows)
    return {r.id: r.name if seen[r.name] == 1 else f"{r.name}（{r.directory}）" for r in rows}


def _unit_rows(session: Session, per_unit: Mapping[int, Mapping[str, int]], link: str) -> list[GroupRow]:
    names = unit_labels(session, per_unit) if per_unit else {}
    return [GroupRow(key=uid, label=names.get(uid, str(uid)), href=link.format(id=uid), counts=counts)
            for uid, counts in per_unit.items()]


def overview(session: Session, *, as_of: dt.date, calendar: WorkingCalendar, due_soon_within: int, plan_id: str | None,
             overdue_limit: int = 30) -> Overview:
    """Counts by status, by task (or plan) and by unit, and the longest-overdue list."""
    until = due_soon_until(calendar, as_of, due_soon_within)
    plans = tuple(list_plan_infos(session))
    plan = next((p for p in plans if p.id == plan_id), None)
    by_status = empty_counts()
    by_key: dict[Any, dict[str, int]] = defaultdict(empty_counts)
    by_unit: dict[int, dict[str, int]] = defaultdict(empty_counts)
    # One pass over the summary: counts by (task or plan, unit, status), rolled up here.
    where = [SUMMARY.c.plan_id == plan_id] if plan_id is not None else []
    key = "task_id" if plan_id is not None else "plan_id"
    for k, unit_id, status, n in summary_counts(session, (key, "unit_id"), *where, as_of=as_of, until=until):
        by_status[status] += n
        by_key[k][status] += n
        by_unit[unit_id][status] += n
    if plan_id is not None:
        tasks = {t.id: t for t in session.execute(select(Task.id, Task.no, Task.title).where(Task.plan_id == plan_id))}
        groups = [GroupRow(key=tasks[tid].no, label=f"{tasks[tid].no}. {tasks[tid].title}",
                           href=f"/plans/{plan_id}#task-{tasks[tid].no}", counts=counts)
                  for tid, counts in by_key.items() if tid in tasks]
        groups.sort(key=lambda g: g.key)
    else:
        titles = {p.id: p for p in plans}
        groups = [GroupRow(key=pid, label=(titles[pid].doc_number or titles[pid].title) if pid in titles else pid,
                           href="/", params={"plan": pid}, counts=counts) for pid, counts in by_key.items()]
        groups.sort(key=_severity)
    units = sorted(_unit_rows(session, by_unit, "/units/{id}"), key=_severity)
    return Overview(as_of=as_of, until=until, plan=plan, plans=plans, by_status=by_status, groups=tuple(groups),
                    by_unit=tuple(units),
                    overdue=tuple(overdue_items(session, as_of=as_of, calendar=calendar, plan_id=plan_id,
                                                limit=overdue_limit)))


# --------------------------------------------------------------------------- one obligation's status


def statuses_of(session: Session, ids: Iterable[int], *, as_of: dt.date, until: dt.date
                ) -> dict[int, tuple[str, dt.date | None]]:
    """``{obligation id: (status, next open due)}`` for the given obligations."""
    ids = list(ids)
    if not ids:
        return {}
    out: dict[int, tuple[str, dt.date | None]] = {}
    for start in range(0, len(ids), 2000):
        ob = per_obligation(Obligation.id.in_(ids[start:start + 2000]))
        for oid, status, due in session.execute(select(ob.c.id, status_column(ob, as_of=as_of, until=until),
                                                       ob.c.next_due)):
            out[oid] = (status, due)
    return out


# --------------------------------------------------------------------------- plan page


@dataclass(frozen=True, kw_only=True, slots=True)
class Chip:
    """One obligation as a coloured tag on the plan page: a unit and its status."""

    obligation_id: int
    unit: str
    status: str
    next_due: dt.date | None


@dataclass(frozen=True, kw_only=True, slots=True)
class DeadlineView:
    phrase: str
    source: str
    spec: Mapping[str, Any]
    trigger_key: str | None
    chips: tuple[Chip, ...]


@dataclass(frozen=True, kw_only=True, slots=True)
class RequirementView:
    no: int
    text: str
    units_as_written: str
    review: Sequence[Any]
    deadlines: tuple[DeadlineView, ...]
    counts: Mapping[str, int]


@dataclass(frozen=True, kw_only=True, slots=True)
class TaskView:
    no: int
    title: str
    requirements: tuple[RequirementView, ...]
    counts: Mapping[str, int]


@dataclass(frozen=True, kw_only=True, slots=True)
class PlanView:
    plan: PlanInfo
    issuer: str
    until: dt.date
    tasks: tuple[TaskView, ...]
    counts: Mapping[str, int]


def plan_view(session: Session, plan_id: str, *, as_of: dt.date, calendar: WorkingCalendar, due_soon_within: int) -> PlanView | None:
    """Tasks → requirements → deadlines → one chip per unit's obligation, with statuses."""
    plan = session.get(Plan, plan_id)
    if plan is None:
        return None
    until = due_soon_until(calendar, as_of, due_soon_within)
    st = with_status(per_obligation(Obligation.plan_id == plan_id), as_of=as_of, until=until,
                     columns=("id", "deadline_id", "unit_id", "next_due"))
    chips: dict[int, list[Chip]] = defaultdict(list)
    for oid, deadline_id, unit_name, status, due in session.execute(
            select(st.c.id, st.c.deadline_id, Unit.name, st.c.status, st.c.next_due)
            .join(Unit, Unit.id == st.c.unit_id).order_by(st.c.deadline_id, Unit.id, st.c.id)):
        chips[deadline_id].append(Chip(obligation_id=oid, unit=unit_name, status=status, next_due=due))
    rows = session.execute(
        select(Task.no, Task.title, Requirement.no, Requirement.text, Requirement.units_as_written, Requirement.review,
               DeadlineEntry.id, DeadlineEntry.phrase, DeadlineEntry.source, DeadlineEntry.spec,
               DeadlineEntry.trigger_key)
        .join(Requirement, Requirement.task_id == Task.id)
        .outerjoin(DeadlineEntry, DeadlineEntry.requirement_id == Requirement.id)
        .where(Task.plan_id == plan_id).order_by(Task.no, Requirement.no, DeadlineEntry.ordinal)).all()
    tasks: dict[int, tuple[str, dict[int, dict[str, Any]]]] = {}
    for t_no, t_title, r_no, text, units, review, d_id, phrase, source, spec, trig in rows:
        reqs = tasks.setdefault(t_no, (t_title, {}))[1]
        req = reqs.setdefault(r_no, {"text": text, "units": units, "review": review or [], "deadlines": []})
        if d_id is not None:
            req["deadlines"].append(DeadlineView(phrase=phrase, source=source, spec=spec, trigger_key=trig,
                                                 chips=tuple(chips.get(d_id, ()))))
    total = empty_counts()
    task_views = []
    for t_no, (t_title, reqs) in tasks.items():
        t_counts = empty_counts()
        req_views = []
        for r_no, r in reqs.items():
            r_counts = empty_counts()
            for d in r["deadlines"]:
                for c in d.chips:
                    r_counts[c.status] += 1
            for s, n in r_counts.items():
                t_counts[s] += n
            req_views.append(RequirementView(no=r_no, text=r["text"], units_as_written=r["units"], review=r["review"],
                                             deadlines=tuple(r["deadlines"]), counts=r_counts))
        for s, n in t_counts.items():
            total[s] += n
        task_views.append(TaskView(no=t_no, title=t_title, requirements=tuple(req_views), counts=t_counts))
    info = PlanInfo(id=plan.id, title=plan.title, doc_number=plan.doc_number, published=plan.published,
                    plan_year=plan.plan_year)
    return PlanView(plan=info, issuer=plan.issuer, until=until, tasks=tuple(task_views), counts=total)


# --------------------------------------------------------------------------- unit page


@dataclass(frozen=True, kw_only=True, slots=True)
class UnitObligation:
    id: int
    plan_id: str
    task_no: int
    requirement_no: int
    requirement_text: str
    phrase: str
    kind: str
    status: str
    next_due: dt.date | None


@dataclass(frozen=True, kw_only=True, slots=True)
class Completion:
    obligation_id: int
    task_no: int
    requirement_no: int
    label: str
    due: dt.date
    completed_on: dt.date | None
    evidence: str | None
    late_by: int | None


@dataclass(frozen=True, kw_only=True, slots=True)
class UnitView:
    id: int
    name: str
    full_name: str | None
    is_group: bool
    officials: tuple[tuple[str, str, str | None, bool], ...]  # name, role, email, demo
    counts: Mapping[str, int]
    obligations: tuple[UnitObligation, ...]
    shown_limit: int
    completions: tuple[Completion, ...]
    overdue: tuple[OverdueItem, ...]


_STATUS_RANK = {s: i for i, s in enumerate(ORDER)}


def unit_view(session: Session, unit_id: int, *, as_of: dt.date, calendar: WorkingCalendar, due_soon_within: int,
              plan_id: str | None = None, limit: int = 500) -> UnitView | None:
    """Everything a unit owes, with next due dates, and its completion history."""
    unit = session.get(Unit, unit_id)
    if unit is None:
        return None
    until = due_soon_until(calendar, as_of, due_soon_within)
    where = [Obligation.unit_id == unit_id] + ([Obligation.plan_id == plan_id] if plan_id else [])
    counts = empty_counts()
    in_summary = [SUMMARY.c.unit_id == unit_id] + ([SUMMARY.c.plan_id == plan_id] if plan_id else [])
    for _unit, status, n in summary_counts(session, ("unit_id",), *in_summary, as_of=as_of, until=until):
        counts[status] += n
    st = with_status(per_obligation(*where), as_of=as_of, until=until,
                     columns=("id", "plan_id", "requirement_id", "deadline_id", "kind", "next_due"))
    rank = case(*((st.c.status == s, i) for i, s in enumerate(ORDER)), else_=len(ORDER))
    rows = session.execute(
        select(st.c.id, st.c.plan_id, Task.no, Requirement.no, Requirement.text, DeadlineEntry.phrase, st.c.kind,
               st.c.status, st.c.next_due)
        .join(Requirement, Requirement.id == st.c.requirement_id).join(Task, Task.id == Requirement.task_id)
        .join(DeadlineEntry, DeadlineEntry.id == st.c.deadline_id)
        .order_by(rank, st.c.next_due, st.c.plan_id, Task.no, Requirement.no, st.c.id).limit(limit)).all()
    obligations = tuple(UnitObligation(id=r[0], plan_id=r[1], task_no=r[2], requirement_no=r[3], requirement_text=r[4],
                                       phrase=r[5], kind=r[6], status=r[7], next_due=r[8]) for r in rows)
    done = session.execute(
        select(Obligation.id, Task.no, Requirement.no, Occurrence.label, Occurrence.due, Occurrence.completed_on,
               Occurrence.evidence, Occurrence.late_by)
        .join(Obligation, Obligation.id == Occurrence.obligation_id)
        .join(Requirement, Requirement.id == Obligation.requirement_id).join(Task, Task.id == Requirement.task_id)
        .where(*where, Occurrence.state == "done")
        .order_by(Occurrence.completed_on.desc(), Occurrence.id.desc()).limit(50)).all()
    completions = tuple(Completion(obligation_id=d[0], task_no=d[1], requirement_no=d[2], label=d[3], due=d[4],
                                   completed_on=d[5], evidence=d[6], late_by=d[7]) for d in done)
    officials = tuple((o.name, o.role, o.email, o.demo) for o in
                      session.scalars(select(Official).where(Official.unit_id == unit_id).order_by(Official.id)))
    return UnitView(id=unit.id, name=unit.name, full_name=unit.full_name, is_group=unit.is_group, officials=officials,
                    counts=counts, obligations=obligations, shown_limit=limit, completions=completions,
                    overdue=tuple(overdue_items(session, as_of=as_of, calendar=calendar, plan_id=plan_id,
                                                unit_id=unit_id, limit=10)))


def list_unit_rows(session: Session) -> list[tuple[int, str, bool, int]]:
    """Units that owe something: (id, name, is_group, live obligations)."""
    return [tuple(r) for r in session.execute(  # type: ignore[misc]
        select(Unit.id, Unit.name, Unit.is_group, func.count(Obligation.id))
        .join(Obligation, Obligation.unit_id == Unit.id).where(Obligation.state != "retired")
        .group_by(Unit.id, Unit.name, Unit.is_group).order_by(Unit.id))]


# --------------------------------------------------------------------------- obligation page


@dataclass(frozen=True, kw_only=True, slots=True)
class OccurrenceView:
    id: int
    key: str
    label: str
    due: dt.date
    checkin: bool
    state: str
    completed_on: dt.date | None
    evidence: str | None
    late_by: int | None
    event_id: int | None


@dataclass(frozen=True, kw_only=True, slots=True)
class ReminderView:
    occurrence_key: str
    stage: str
    repeat: int
    action: str
    tick_date: dt.date
    recipient: str | None
    recipient_role: str | None
    status: str | None
    sent_at: dt.datetime | None


@dataclass(frozen=True, kw_only=True, slots=True)
class ExtensionView:
    id: int
    occurrence_key: str
    original_due: dt.date
    until: dt.date
    reason: str
    status: str
    requested_by: str
    requested_at: dt.datetime
    decided_by: str | None
    decision_note: str | None


@dataclass(frozen=True, kw_only=True, slots=True)
class AuditLine:
    seq: int
    at: dt.datetime
    actor: str
    source: str
    action: str
    object_type: str
    object_id: str
    before: Any
    after: Any
    reason: str | None


@dataclass(frozen=True, kw_only=True, slots=True)
class ObligationView:
    id: int
    okey: str
    state: str
    kind: str
    status: str
    next_due: dt.date | None
    spec: Mapping[str, Any]
    plan: PlanInfo
    task_no: int
    task_title: str
    requirement_no: int
    requirement_text: str
    unit_id: int
    unit: str
    phrase: str
    deadline_source: str
    deadline_spec: Mapping[str, Any]
    trigger: tuple[str, str] | None  # key, description
    events: tuple[tuple[int, dt.date, str | None, str | None, str], ...]  # id, date, 文号, title, state
    occurrences: tuple[OccurrenceView, ...]
    reminders: tuple[ReminderView, ...]
    extensions: tuple[ExtensionView, ...]
    audit: tuple[AuditLine, ...]
    progress: tuple[ProgressRow, ...] = ()  # 进展情况 reports, newest first

    @property
    def open_occurrences(self) -> tuple[OccurrenceView, ...]:
        return tuple(o for o in self.occurrences if o.state == "open")


def audit_lines(rows: Iterable[AuditRecord]) -> tuple[AuditLine, ...]:
    return tuple(AuditLine(seq=r.seq, at=r.at, actor=r.actor, source=r.source, action=r.action,
                           object_type=r.object_type, object_id=r.object_id, before=r.before, after=r.after,
                           reason=r.reason) for r in rows)


def obligation_view(session: Session, obligation_id: int, *, as_of: dt.date,
                    calendar: WorkingCalendar, due_soon_within: int) -> ObligationView | None:
    """The obligation page: phrase and spec, due instances, reminders, evidence, extensions, audit trail."""
    ob = session.get(Obligation, obligation_id)
    if ob is None or ob.state == "retired":
        return None
    until = due_soon_until(calendar, as_of, due_soon_within)
    status, next_due = statuses_of(session, [ob.id], as_of=as_of, until=until)[ob.id]
    req = ob.requirement
    plan = session.get(Plan, ob.plan_id)
    if plan is None:  # the foreign key makes this impossible short of a broken database
        return None
    occs = tuple(OccurrenceView(id=o.id, key=o.key, label=o.label, due=o.due, checkin=o.checkin, state=o.state,
                                completed_on=o.completed_on, evidence=o.evidence, late_by=o.late_by,
                                event_id=o.event_id)
                 for o in session.scalars(select(Occurrence).where(Occurrence.obligation_id == ob.id)
                                          .order_by(Occurrence.due, Occurrence.key)))
    keys = {o.id: o.key for o in occs}
    reminders = tuple(
        ReminderView(occurrence_key=keys[sr.occurrence_id], stage=sr.stage, repeat=sr.repeat, action=sr.action,
                     tick_date=sr.tick_date, recipient=n_recipient, recipient_role=n_role, status=n_status,
                     sent_at=n_sent)
        for sr, n_recipient, n_role, n_status, n_sent in session.execute(
            select(StageRecord, Notification.recipient, Notification.recipient_role, Notification.status,
                   Notification.sent_at)
            .outerjoin(Notification, Notification.key == StageRecord.notification_key)
            .where(StageRecord.occurrence_id.in_(list(keys) or [-1]))
            .order_by(StageRecord.tick_date, StageRecord.id)))
    extensions = tuple(
        ExtensionView(id=e.id, occurrence_key=keys.get(e.occurrence_id, str(e.occurrence_id)),
                      original_due=e.original_due, until=e.until, reason=e.reason, status=e.status,
                      requested_by=e.requested_by, requested_at=e.requested_at, decided_by=e.decided_by,
                      decision_note=e.decision_note)
        for e in session.scalars(select(Extension).where(Extension.obligation_id == ob.id).order_by(Extension.id)))
    trigger = None
    events: tuple[tuple[int, dt.date, str | None, str | None, str], ...] = ()
    if ob.trigger_key:
        t = session.scalar(select(Trigger).where(Trigger.plan_id == ob.plan_id, Trigger.key == ob.trigger_key))
        if t is not None:
            trigger = (t.key, t.description)
            events = tuple((e.id, e.occurred_on, e.doc_number, e.title, e.state) for e in session.scalars(
                select(Event).where(Event.trigger_id == t.id).order_by(Event.occurred_on, Event.id)))
    objects = [AuditRecord.object_type == "obligation", AuditRecord.object_id == str(ob.id)]
    trail = list(session.scalars(select(AuditRecord).where(*objects)))
    ext_ids = [str(e.id) for e in extensions]
    if ext_ids:
        trail += session.scalars(select(AuditRecord).where(AuditRecord.object_type == "extension",
                                                           AuditRecord.object_id.in_(ext_ids)))
    ev_ids = [str(e[0]) for e in events]
    if ev_ids:
        trail += session.scalars(select(AuditRecord).where(AuditRecord.object_type == "event",
                                                           AuditRecord.object_id.in_(ev_ids)))
    trail.sort(key=lambda r: r.seq)
    deadline = ob.deadline
    return ObligationView(
        id=ob.id, okey=ob.okey, state=ob.state, kind=ob.kind, status=status, next_due=next_due, spec=ob.spec,
        plan=PlanInfo(id=plan.id, title=plan.title, doc_number=plan.doc_number, published=plan.published,
                      plan_year=plan.plan_year),
        task_no=req.task.no, task_title=req.task.title, requirement_no=req.no, requirement_text=req.text,
        unit_id=ob.unit_id, unit=ob.unit.name, phrase=deadline.phrase, deadline_source=deadline.source,
        deadline_spec=deadline.spec, trigger=trigger, events=events, occurrences=occs, reminders=reminders,
        extensions=extensions, audit=audit_lines(trail), progress=tuple(list_progress(session, obligation_id=ob.id)))


# --------------------------------------------------------------------------- timeline


@dataclass(frozen=True, kw_only=True, slots=True)
class TimelineItem:
    obligation_id: int
    due: dt.date
    label: str
    unit: str
    task_no: int
    requirement_no: int
    plan_id: str


@dataclass(frozen=True, kw_only=True, slots=True)
class Month:
    year: int
    month: int
    count: int
    items: tuple[TimelineItem, ...]

    @property
    def label(self) -> str:
        return f"{self.year}年{self.month}月"


def _add_months(day: dt.date, months: int) -> dt.date:
    y, m = divmod(day.month - 1 + months, 12)
    return dt.date(day.year + y, m + 1, 1)


def timeline(session: Session, *, as_of: dt.date, months: int = 6, plan_id: str | None = None,
             unit_ids: Sequence[int] | None = None, per_month: int = 60) -> tuple[Month, ...]:
    """Open due instances from ``as_of`` to the end of the ``months``-th month: counts and the first items."""
    end = _add_months(as_of, months)
    where = [Occurrence.state == "open", Occurrence.due >= as_of, Occurrence.due < end, Obligation.state == "active"]
    if plan_id is not None:
        where.append(Obligation.plan_id == plan_id)
    if unit_ids is not None:
        where.append(Obligation.unit_id.in_(list(unit_ids)))
    per_day = session.execute(select(Occurrence.due, func.count()).join(Obligation, Obligation.id == Occurrence.obligation_id)
                              .where(*where).group_by(Occurrence.due)).all()
    month_counts: Counter[tuple[int, int]] = Counter()
    for due, n in per_day:
        month_counts[(due.year, due.month)] += n
    out = []
    for i in range(months):
        first = _add_months(as_of, i) if i else as_of
        nxt = _add_months(as_of, i + 1)
        items: list[TimelineItem] = []
        if month_counts[(first.year, first.month)]:
            items = [TimelineItem(obligation_id=r[0], due=r[1], label=r[2], unit=r[3], task_no=r[4],
                                  requirement_no=r[5], plan_id=r[6]) for r in session.execute(
                select(Obligation.id, Occurrence.due, Occurrence.label, Unit.name, Task.no, Requirement.no,
                       Obligation.plan_id)
                .join(Obligation, Obligation.id == Occurrence.obligation_id)
                .join(Unit, Unit.id == Obligation.unit_id)
                .join(Requirement, Requirement.id == Obligation.requirement_id)
                .join(Task, Task.id == Requirement.task_id)
                .where(*where, Occurrence.due >= first, Occurrence.due < nxt)
                .order_by(Occurrence.due, Task.no, Requirement.no, Unit.id).limit(per_month))]
        out.append(Month(year=first.year, month=first.month, count=month_counts[(first.year, first.month)],
                         items=tuple(items)))
    return tuple(out)


# --------------------------------------------------------------------------- audit page


def audit_page(session: Session, stmt: Select[Any], *, before_seq: int | None, limit: int = 100
               ) -> tuple[tuple[AuditLine, ...], int | None]:
    """One page of audit records, newest first; returns the rows and the ``before`` of the next page."""
    if before_seq is not None:
        stmt = stmt.where(AuditRecord.seq < before_seq)
    rows = list(session.scalars(stmt.order_by(AuditRecord.seq.desc()).limit(limit + 1)))
    more = rows[limit - 1].seq if len(rows) > limit else None
    return audit_lines(rows[:limit]), more
