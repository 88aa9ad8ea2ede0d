"""What the role homes show (各角色首页): a clerk's 我的待办, the 督办通报 and a leader's unit summary.

Read-only queries over the same SQL status as the other pages
(:func:`.readmodel.with_status`, which tells a missed check-in — 未报进展,
催报 — apart from a missed deadline). The ranking is the engine's own
(:func:`duban.engine.runtime.scores.directory_ranking`: the scores of
``duban scores`` summed over a directory's plans, the ones the weekly
督办通报 email carries), so the dashboard and the email never disagree; the
trend is the same ranking recomputed as of each of the last weeks (a
completion recorded after a day does not count on that day).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from ..engine.deadlines.calendar import WorkingCalendar
from ..engine.runtime.scores import directory_ranking
from ..engine.services.queries import CHECKIN_MISSED, CoUnitItem, co_unit_items
from ..notifiers.model import RankRow
from ..store.models import DeadlineEntry, Obligation, Occurrence, Plan, Requirement, Task, Unit
from .readmodel import ORDER, due_soon_until, empty_counts, grouped_counts, per_obligation, with_status, \
    working_days_late

#: Statuses a clerk still has to act on, most urgent first (the home lists these; the rest is one click away).
ACTIONABLE: tuple[str, ...] = ("overdue", CHECKIN_MISSED, "due_soon", "open")
TREND_WEEKS = 8


# --------------------------------------------------------------------------- 我的待办 (a clerk's home)


@dataclass(frozen=True, kw_only=True, slots=True)
class TodoItem:
    """One of a unit's live duties, as a card: what, due when, how late or how near, where to act."""

    obligation_id: int
    plan_id: str
    task_no: int
    task_title: str
    requirement_no: int
    requirement_text: str
    unit: str
    phrase: str
    kind: str
    status: str
    next_due: dt.date | None
    past_due: bool  # next_due has passed
    working_days: int | None  # late since next_due, or left until it; None: a year the calendar lacks

    @property
    def how(self) -> str:
        """“逾期12个工作日”, “9月30日检查点未报进展”, “还剩3个工作日” — the card's one line of urgency."""
        if self.next_due is None:
            return "等待触发事件" if self.status == "dormant" else ""
        if self.status == CHECKIN_MISSED:
            return f"{self.next_due.month}月{self.next_due.day}日检查点未报进展（催报）"
        if self.working_days is None:
            return f"{self.next_due.isoformat()} 到期"
        if self.past_due:
            return f"逾期{self.working_days}个工作日" if self.working_days else "已过截止日"
        return "今天到期" if self.working_days == 0 else f"还剩{self.working_days}个工作日"


@dataclass(frozen=True, kw_only=True, slots=True)
class ClerkHome:
    as_of: dt.date
    units: tuple[tuple[int, str], ...]
    counts: Mapping[str, int]
    items: tuple[TodoItem, ...]  # actionable, most urgent first
    co_items: tuple[CoUnitItem, ...]  # 配合事项, most urgent first
    limit: int

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def _workdays(calendar: WorkingCalendar, as_of: dt.date, due: dt.date | None) -> int | None:
    """Working days late since ``due`` (when past) or left until it."""
    if due is None:
        return None
    if due < as_of:
        return working_days_late(calendar, due, as_of)
    try:
        return calendar.workdays_between(as_of, due)
    except LookupError:
        return None


def todo_items(session: Session, unit_ids: Sequence[int], *, as_of: dt.date, calendar: WorkingCalendar, due_soon_within: int,
               statuses: Sequence[str] = ACTIONABLE, limit: int = 200) -> list[TodoItem]:
    """The units' live duties in ``statuses``, by urgency: status order, then the nearest (or oldest) due."""
    if not unit_ids:
        return []
    until = due_soon_until(calendar, as_of, due_soon_within)
    st = with_status(per_obligation(Obligation.unit_id.in_(list(unit_ids))), as_of=as_of, until=until,
                     columns=("id", "plan_id", "unit_id", "requirement_id", "deadline_id", "kind", "next_due"))
    rank = case(*((st.c.status == s, i) for i, s in enumerate(ORDER)), else_=len(ORDER))
    rows = session.execute(
        select(st.c.id, st.c.plan_id, Task.no, Task.title, Requirement.no, Requirement.text, Unit.name,
               DeadlineEntry.phrase, st.c.kind, st.c.status, st.c.next_due)
        .join(Requirement, Requirement.id == st.c.requirement_id).join(Task, Task.id == Requirement.task_id)
        .join(Unit, Unit.id == st.c.unit_id).join(DeadlineEntry, DeadlineEntry.id == st.c.deadline_id)
        .where(st.c.status.in_(list(statuses)))
        .order_by(rank, st.c.next_due, st.c.plan_id, Task.no, Requirement.no, st.c.id).limit(limit)).all()
    return [TodoItem(obligation_id=r[0], plan_id=r[1], task_no=r[2], task_title=r[3], requirement_no=r[4],
                     requirement_text=r[5], unit=r[6], phrase=r[7], kind=r[8], status=r[9], next_due=r[10],
                     past_due=r[10] is not None and r[10] < as_of, working_days=_workdays(calendar, as_of, r[10]))
            for r in rows]


def _co_urgency(item: CoUnitItem) -> tuple[int, dt.date, int, int]:
    rank = ORDER.index(item.status) if item.status in ORDER else len(ORDER)
    return (rank, item.next_due or dt.date.max, item.task, item.requirement)


def clerk_home(session: Session, units: Sequence[tuple[int, str]], *, as_of: dt.date, calendar: WorkingCalendar, due_soon_within: int,
               limit: int = 200) -> ClerkHome:
    """我的待办: the clerk's units' lead duties and 配合事项, most urgent first, with counts by status."""
    ids = [uid for uid, _name in units]
    counts = empty_counts()
    if ids:
        until = due_soon_until(calendar, as_of, due_soon_within)
        for _uid, status, n in grouped_counts(session, ("unit_id",), Obligation.unit_id.in_(ids), as_of=as_of,
                                              until=until):
            counts[status] += n
    co: list[CoUnitItem] = []
    for uid in ids:
        co.extend(co_unit_items(session, uid, as_of=as_of, calendar=calendar, due_soon_within=due_soon_within))
    co.sort(key=_co_urgency)
    return ClerkHome(as_of=as_of, units=tuple(units), counts=counts,
                     items=tuple(todo_items(session, ids, as_of=as_of, calendar=calendar, due_soon_within=due_soon_within,
                                            limit=limit)),
                     co_items=tuple(co), limit=limit)


# --------------------------------------------------------------------------- 督办通报 (the supervisor's home)


@dataclass(frozen=True, kw_only=True, slots=True)
class UnitLine:
    """One unit in the 督办通报: the engine's score plus what needs urging now."""

    rank: int
    unit_id: int | None
    unit: str
    assessed: int
    on_time: int
    on_time_rate: float | None
    overdue: int  # due instances past their deadline (the score's count; check-ins never count)
    missed_checkins: int  # duties with a check-in passed and no progress reported (催报)
    due_soon: int  # duties due within 5 working days
    longest_overdue: int | None  # working days, the oldest missed deadline
    trend: tuple[float | None, ...] = ()  # on-time rate at each trend day, oldest first


@dataclass(frozen=True, kw_only=True, slots=True)
class TrendPoint:
    day: dt.date
    assessed: int
    on_time: int
    overdue: int

    @property
    def rate(self) -> float | None:
        return self.on_time / self.assessed if self.assessed else None


@dataclass(frozen=True, kw_only=True, slots=True)
class Bulletin:
    as_of: dt.date
    directory: str
    directories: tuple[str, ...]
    lines: tuple[UnitLine, ...]  # ranked: best on-time rate first, then fewer overdue
    trend: tuple[TrendPoint, ...]  # the last weeks, oldest first, overall

    @property
    def totals(self) -> TrendPoint:
        return self.trend[-1] if self.trend else TrendPoint(day=self.as_of, assessed=0, on_time=0, overdue=0)

    def line(self, unit_id: int) -> UnitLine | None:
        return next((row for row in self.lines if row.unit_id == unit_id), None)


def directories(session: Session) -> list[str]:
    """The units directories that have plans (one 督办通报 each)."""
    return list(session.scalars(select(Plan.units_directory).distinct().order_by(Plan.units_directory)))


def trend_days(as_of: dt.date, weeks: int = TREND_WEEKS) -> list[dt.date]:
    """``as_of`` and the same weekday of the ``weeks - 1`` weeks before it, oldest first."""
    return [as_of - dt.timedelta(weeks=k) for k in range(weeks - 1, -1, -1)]


def ranking(session: Session, as_of: dt.date, directory: str, calendar: WorkingCalendar, due_soon_within: int) -> list[RankRow]:
    """The engine's ranking of ``directory``'s units as of a day, numbered 1, 2, …"""
    rows = directory_ranking(calendar, due_soon_within=due_soon_within)(session, as_of, directory)
    return [RankRow(rank=i, unit=r.unit, assessed=r.assessed, on_time=r.on_time, overdue=r.overdue,
                    on_time_rate=r.on_time_rate) for i, r in enumerate(rows, 1)]


def _urging(session: Session, directory: str, *, as_of: dt.date, calendar: WorkingCalendar, due_soon_within: int
            ) -> tuple[dict[int, int], dict[int, int], dict[int, int]]:
    """Per unit id: duties with a missed check-in, duties due soon, working days of the oldest missed deadline."""
    in_dir = Obligation.plan_id.in_(select(Plan.id).where(Plan.units_directory == directory))
    base = (select(Obligation.unit_id, func.count(func.distinct(Obligation.id)))
            .join(Occurrence, Occurrence.obligation_id == Obligation.id)
            .where(in_dir, Obligation.state == "active", Occurrence.state == "open", Occurrence.checkin.is_(True),
                   Occurrence.due < as_of).group_by(Obligation.unit_id))
    missed = {uid: n for uid, n in session.execute(base).tuples()}
    oldest = {uid: working_days_late(calendar, due, as_of) or 0 for uid, due in session.execute(
        select(Obligation.unit_id, func.min(Occurrence.due)).join(Occurrence, Occurrence.obligation_id == Obligation.id)
        .where(in_dir, Obligation.state == "active", Occurrence.state == "open", Occurrence.checkin.is_(False),
               Occurrence.due < as_of).group_by(Obligation.unit_id)).tuples()}
    soon: dict[int, int] = defaultdict(int)
    until = due_soon_until(calendar, as_of, due_soon_within)
    for uid, status, n in grouped_counts(session, ("unit_id",), in_dir, as_of=as_of, until=until):
        if status == "due_soon":
            soon[uid] += n
    return missed, dict(soon), oldest


def bulletin(session: Session, *, as_of: dt.date, calendar: WorkingCalendar, due_soon_within: int, directory: str | None = None,
             weeks: int = TREND_WEEKS) -> Bulletin | None:
    """The 督办通报 of a directory as of a day, with each unit's and the overall trend; None without plans."""
    dirs = directories(session)
    if not dirs:
        return None
    directory = directory if directory in dirs else dirs[0]
    ids = {name: uid for uid, name in session.execute(
        select(Unit.id, Unit.name).where(Unit.directory == directory, Unit.is_group.is_(False))).tuples()}
    days = trend_days(as_of, weeks)
    history = [ranking(session, day, directory, calendar, due_soon_within=due_soon_within) for day in days]
    series: dict[str, list[float | None]] = defaultdict(lambda: [None] * len(days))
    trend = []
    for i, (day, rows) in enumerate(zip(days, history)):
        for r in rows:
            series[r.unit][i] = r.on_time_rate
        trend.append(TrendPoint(day=day, assessed=sum(r.assessed for r in rows), on_time=sum(r.on_time for r in rows),
                                overdue=sum(r.overdue for r in rows)))
    missed, soon, oldest = _urging(session, directory, as_of=as_of, calendar=calendar, due_soon_within=due_soon_within)
    lines = []
    for r in history[-1]:
        uid = ids.get(r.unit)
        lines.append(UnitLine(rank=r.rank, unit_id=uid, unit=r.unit, assessed=r.assessed, on_time=r.on_time,
                              on_time_rate=r.on_time_rate, overdue=r.overdue,
                              missed_checkins=missed.get(uid, 0) if uid else 0, due_soon=soon.get(uid, 0) if uid else 0,
                              longest_overdue=oldest.get(uid) if uid else None, trend=tuple(series[r.unit])))
    return Bulletin(as_of=as_of, directory=directory, directories=tuple(dirs), lines=tuple(lines), trend=tuple(trend))


def polyline(values: Sequence[float | None], *, width: int = 320, height: int = 100, pad: int = 8) -> str:
    """SVG ``points`` for rates in 0..1 (None skipped): the trend line without any script or library."""
    n = len(values)
    step = (width - 2 * pad) / max(n - 1, 1)
    points = [f"{pad + i * step:.1f},{pad + (1 - v) * (height - 2 * pad):.1f}"
              for i, v in enumerate(values) if v is not None]
    return " ".join(points)


# --------------------------------------------------------------------------- a leader's unit summary


@dataclass(frozen=True, kw_only=True, slots=True)
class UnitSummary:
    unit_id: int
    unit: str
    full_name: str | None
    counts: Mapping[str, int]
    line: UnitLine | None  # its place in the 督办通报
    overdue: tuple[TodoItem, ...]
    missed: tuple[TodoItem, ...]
    due_soon: tuple[TodoItem, ...]


def unit_summary(session: Session, unit_id: int, *, as_of: dt.date, calendar: WorkingCalendar, due_soon_within: int,
                 board: Bulletin | None) -> UnitSummary | None:
    """A leader's view of one unit: counts, rank and trend, what is late, unreported and due soon."""
    unit = session.get(Unit, unit_id)
    if unit is None or unit.is_group:
        return None
    counts = empty_counts()
    until = due_soon_until(calendar, as_of, due_soon_within)
    for _uid, status, n in grouped_counts(session, ("unit_id",), Obligation.unit_id == unit_id, as_of=as_of,
                                          until=until):
        counts[status] += n
    items = todo_items(session, [unit_id], as_of=as_of, calendar=calendar, due_soon_within=due_soon_within,
                       statuses=("overdue", CHECKIN_MISSED, "due_soon"), limit=300)
    return UnitSummary(unit_id=unit.id, unit=unit.name, full_name=unit.full_name, counts=counts,
                       line=board.line(unit.id) if board and board.directory == unit.directory else None,
                       overdue=tuple(i for i in items if i.status == "overdue"),
                       missed=tuple(i for i in items if i.status == CHECKIN_MISSED),
                       due_soon=tuple(i for i in items if i.status == "due_soon"))
