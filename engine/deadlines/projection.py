"""Projection: from a deadline spec to concrete due dates (到期日).

A spec (:mod:`duban.engine.deadlines.spec`) says what a deadline *is* ("每季度",
"本方案公布后30个工作日内", "待省文件出台后"); :func:`project` says *when* each
occurrence falls due, for one plan, on the official working-day calendar. The
store calls it to materialise obligations and the tick calls it again when an
event arrives or the calendar data changes, so its output is deterministic
and every occurrence carries a stable ``key``: re-projecting the same spec
yields the same keys, and only a due date may move.

Semantics by kind (docs/calendar.md has the long form):

``fixed``
    One due, key ``final``. ``roll: next_workday`` moves a rest day to the
    next working day (遇节假日顺延); the default keeps the date as written.
``relative``
    Anchor ``plan_published``: the plan's publication date plus the offset,
    key ``final``. No Due while the publication date is unknown (unless the
    spec already carries its ``due``).
``recurring``
    One due per occurrence month between ``start`` (default: 1 January of
    the plan year) and ``until`` (default: 31 December of the plan year),
    on ``day`` of that month (``"last"``/None: the month's last day; a day
    past the month's end clamps to it). ``months`` restricts the months;
    the defaults are the period ends (quarterly 3/6/9/12, semiannual 6/12,
    annual 12). An occurrence whose period ended before the plan was
    published is dropped: a plan published on 23 June owes Q2 but not Q1.
    ``weekly``: one due per ISO week on ``weekday`` (default Sunday, the
    week's end), key ``2016-W27``; ``daily``: one per day, key the date.
    ``interval`` N keeps every N-th occurrence, the first being the one at
    ``start``. ``lag``: each occurrence is due the offset after its period's
    end (次月5日前: May's is due 5 June), kept when its *period* ends within
    ``start``..``until`` (so December's may fall due in January).
``ongoing``
    Check-ins (``checkins``, month/day points, marked ``checkin=True``)
    after publication and before ``until``, plus a final due at ``until``;
    ``until`` None: check-ins within the plan year only, no final due.
``triggered``
    Dormant — no Due — until ``events[spec.event]`` holds an occurrence;
    then the event's date plus the offset (``default_offset`` when the text
    gives none, "及时"). ``per_event``: one Due per event, key
    ``event:<id>``; otherwise one Due (key ``final``) from the earliest event.
``composite``
    The union of its leaves' Dues; ``part`` is the leaf's index in
    ``spec.leaves()``.

Offsets: ``working_days`` count on the calendar strictly after the anchor day
(and raise :class:`~duban.errors.CalendarYearMissing` past the data);
``days`` are calendar days; ``hours`` run from the event's instant ``at`` (or
the start of its day) in the calendar's zone (北京时间 by default), the due date being the local date of
the deadline instant; ``months``/``years`` keep the day of month, clamped to
the month's end (31 January + 1 month = 29 February 2016).
"""

from __future__ import annotations

import calendar as _stdcal
import datetime as dt
from dataclasses import dataclass
from typing import Mapping, Sequence

from .calendar import WorkingCalendar
from .offsets import add_offset, local_instant
from .spec import DeadlineSpec, Fixed, Offset, Ongoing, Recurring, Relative, Spec, Triggered
from ...errors import DubanError
from ...zh import OFFSET_UNITS_ZH, cn_date

__all__ = [
    "DEFAULT_CHECKINS",
    "DEFAULT_OFFSET",
    "Due",
    "EventOccurrence",
    "PlanContext",
    "ProjectionError",
    "project",
]

DEFAULT_OFFSET = Offset(unit="working_days", amount=10)
"""The window for a triggered duty whose text gives none ("及时"): 10 working days, configurable."""
DEFAULT_CHECKINS: tuple[tuple[int, int], ...] = ((9, 30),)
"""Check-in points (month, day) for ongoing work ("全年工作"): the end of September."""

_NATURAL_MONTHS: dict[str, tuple[int, ...]] = {
    "monthly": tuple(range(1, 13)),
    "quarterly": (3, 6, 9, 12),
    "semiannual": (6, 12),
    "annual": (12,),
}
_PERIOD_MONTHS = {"monthly": 1, "quarterly": 3, "semiannual": 6, "annual": 12}


class ProjectionError(DubanError, ValueError):
    """The inputs of a projection are inconsistent (an event whose instant and date disagree, a bad check-in)."""


# --------------------------------------------------------------------------- values


@dataclass(frozen=True, kw_only=True, slots=True)
class PlanContext:
    """What a spec is read against: the plan's year (计划年度) and its publication date (印发日期)."""

    plan_year: int
    published: dt.date | None = None
    #: No check-in falls within this many working days after publication: a
    #: unit cannot report progress on work it has only just been given.
    checkin_grace: int = 20


@dataclass(frozen=True, kw_only=True, slots=True)
class EventOccurrence:
    """One happening of a trigger event (a provincial document issued, an emergency).

    ``on`` is the local date (in the calendar's zone); ``at`` the instant when known,
    which matters for hour offsets ("24小时内"). A naive ``at`` is read as
    Shanghai time.
    """

    id: str
    on: dt.date
    at: dt.datetime | None = None

    def __post_init__(self) -> None:
        if not self.id:
            raise ProjectionError("an event occurrence needs a non-empty id")

    def check_instant(self, tz: dt.tzinfo) -> None:
        """An instant must fall on the event's own date in the calendar's zone."""
        if self.at is not None and local_instant(self.at, tz).date() != self.on:
            raise ProjectionError(
                f"event {self.id!r}: instant {self.at.isoformat()!r} is on {local_instant(self.at, tz).date()} "
                f"in {tz}, not on {self.on.isoformat()!r}")


@dataclass(frozen=True, kw_only=True, slots=True)
class Due:
    """One concrete occurrence of a duty, as the store and the emails see it.

    ``part`` indexes ``spec.leaves()``; ``key`` is stable within the part
    (``final``, ``2016-Q3``, ``2016-03``, ``2016-H1``, ``2016``,
    ``event:<id>``, ``checkin:2016-09-30``); ``label`` is the Chinese
    wording for emails.
    """

    part: int
    key: str
    due: dt.date
    label: str
    checkin: bool = False


# --------------------------------------------------------------------------- offsets


def _offset_text(offset: Offset) -> str:
    return f"{offset.amount}{OFFSET_UNITS_ZH[offset.unit]}"


# --------------------------------------------------------------------------- kinds


def _fixed(spec: Fixed, part: int, calendar: WorkingCalendar) -> list[Due]:
    due = spec.due
    label = f"{cn_date(spec.start)}至{cn_date(due)}" if spec.start is not None else f"{cn_date(due)}前"
    if spec.roll == "next_workday":
        rolled = calendar.roll_forward(due)
        if rolled != due:
            label = f"{cn_date(rolled)}前（原定{cn_date(due)}，遇节假日顺延）"
            if spec.start is not None:
                label = f"{cn_date(spec.start)}至{label}"
        due = rolled
    return [Due(part=part, key="final", due=due, label=label)]


def _relative(spec: Relative, part: int, ctx: PlanContext, calendar: WorkingCalendar) -> list[Due]:
    if ctx.published is None:
        if spec.due is None:
            return []
        return [Due(part=part, key="final", due=spec.due,
                    label=f"方案公布后{_offset_text(spec.offset)}内（{cn_date(spec.due)}前）")]
    due = add_offset(ctx.published, spec.offset, calendar, tz=calendar.tz)
    return [Due(part=part, key="final", due=due,
                label=f"方案公布（{cn_date(ctx.published)}）后{_offset_text(spec.offset)}内（{cn_date(due)}前）")]


def _period_of(freq: str, year: int, month: int, monthly_grain: bool) -> tuple[str, str, dt.date]:
    """Key, label and last day of the period an occurrence in ``year``-``month`` belongs to."""
    if monthly_grain or freq == "monthly":
        last = dt.date(year, month, _stdcal.monthrange(year, month)[1])
        return f"{year}-{month:02d}", f"{year}年{month}月", last
    size = _PERIOD_MONTHS[freq]
    index = (month - 1) // size  # 0-based period within the year
    end_month = (index + 1) * size
    last = dt.date(year, end_month, _stdcal.monthrange(year, end_month)[1])
    if freq == "quarterly":
        return f"{year}-Q{index + 1}", f"{year}年第{index + 1}季度", last
    if freq == "semiannual":
        return f"{year}-H{index + 1}", f"{year}年{'上' if index == 0 else '下'}半年", last
    return f"{year}", f"{year}年度", last


def _recurring(spec: Recurring, part: int, ctx: PlanContext, calendar: WorkingCalendar) -> list[Due]:
    start = spec.start or dt.date(ctx.plan_year, 1, 1)
    until = spec.until or dt.date(ctx.plan_year, 12, 31)
    if spec.freq in ("daily", "weekly"):
        periods = _short_periods(spec, start, until)
    else:
        periods = _month_periods(spec, start, until)
    out: list[Due] = []
    for index, (key, label, period_end, due) in enumerate(periods):
        if index % spec.interval:
            continue  # 每两个月, 每两年: every interval-th period, the first being the one at the start
        if ctx.published is not None and period_end < ctx.published:
            continue
        if spec.lag is not None:
            due = add_offset(period_end, spec.lag, calendar, tz=calendar.tz)
            label = f"{label}（期末后{_offset_text(spec.lag)}内）"
        out.append(Due(part=part, key=key, due=due, label=label))
    return out


_Period = tuple[str, str, dt.date, dt.date]
"""An occurrence: its key, its label, the last day of its period, its due date (before any lag)."""


def _month_periods(spec: Recurring, start: dt.date, until: dt.date) -> list[_Period]:
    """Occurrences of monthly and longer rhythms, in date order (those with a lag: by period end)."""
    months = tuple(sorted(set(spec.months))) if spec.months is not None else _NATURAL_MONTHS[spec.freq]
    size = _PERIOD_MONTHS[spec.freq]
    # Two chosen months in one period ("中考3月高考11月" read as annual) would share a key:
    # such a rhythm is tracked month by month instead.
    monthly_grain = any(sum(1 for m in months if (m - 1) // size == p) > 1 for p in range(12 // size))
    out: list[_Period] = []
    for year in range(start.year, until.year + 1):
        for month in months:
            last_day = _stdcal.monthrange(year, month)[1]
            day = last_day if spec.day in (None, "last") else min(int(spec.day), last_day)
            due = dt.date(year, month, day)
            key, label, period_end = _period_of(spec.freq, year, month, monthly_grain)
            # With a lag the occurrence belongs to its period (次月5日前: May's is due 5 June).
            if not start <= (period_end if spec.lag is not None else due) <= until:
                continue
            out.append((key, label, period_end, due))
    return out


def _short_periods(spec: Recurring, start: dt.date, until: dt.date) -> list[_Period]:
    """Occurrences of daily and weekly rhythms (每日, 每周一), restricted to ``months`` when given."""
    out: list[_Period] = []
    if spec.freq == "daily":
        day = start
        while day <= until:
            if spec.months is None or day.month in spec.months:
                out.append((day.isoformat(), cn_date(day), day, day))
            day += dt.timedelta(days=1)
        return out
    monday = start - dt.timedelta(days=start.isoweekday() - 1)
    weekday = spec.weekday or 7  # no day named: the week's end
    while monday <= until:
        due = monday + dt.timedelta(days=weekday - 1)
        week_end = monday + dt.timedelta(days=6)
        anchor = week_end if spec.lag is not None else due
        if start <= anchor <= until and (spec.months is None or due.month in spec.months):
            iso = due.isocalendar()
            out.append((f"{iso[0]}-W{iso[1]:02d}", f"{iso[0]}年第{iso[1]}周（{cn_date(due)}）", week_end, due))
        monday += dt.timedelta(days=7)
    return out


def _checkin_label(point: dt.date, year_bound: bool) -> str:
    end_of_month = point.day == _stdcal.monthrange(point.year, point.month)[1]
    when = f"{point.month}月底" if end_of_month else f"{point.month}月{point.day}日"
    return f"全年工作检查点（{when}）" if year_bound else f"持续工作检查点（{point.year}年{when}）"


def _ongoing(spec: Ongoing, part: int, ctx: PlanContext, checkins: Sequence[tuple[int, int]],
             calendar: WorkingCalendar) -> list[Due]:
    year_end = dt.date(ctx.plan_year, 12, 31)
    until = spec.until or year_end
    after = ctx.published or dt.date(ctx.plan_year, 1, 1) - dt.timedelta(days=1)
    # The grace after publication (ctx.checkin_grace working days): no check-in inside it.
    grace_end = calendar.add_workdays(ctx.published, ctx.checkin_grace) \
        if ctx.published is not None and ctx.checkin_grace else after
    if spec.start is not None:
        after = max(after, spec.start - dt.timedelta(days=1))  # no check-in before the work starts
    year_bound = spec.until is None or spec.until == year_end
    points: set[dt.date] = set()
    for year in range(after.year, until.year + 1):
        for month, day in checkins:
            point = dt.date(year, month, min(day, _stdcal.monthrange(year, month)[1]))
            # A check-in on the final day itself is superseded by the final due.
            if after < point and grace_end < point and (point < until or (spec.until is None and point == until)):
                points.add(point)
    out = [Due(part=part, key=f"checkin:{p.isoformat()}", due=p, label=_checkin_label(p, year_bound),
               checkin=True) for p in sorted(points)]
    if spec.until is not None:
        label = f"全年工作（{cn_date(until)}前完成）" if year_bound else f"持续工作（{cn_date(until)}前完成）"
        out.append(Due(part=part, key="final", due=until, label=label))
    return out


_DAY_START = dt.time()


def _event_order(event: EventOccurrence, tz: dt.tzinfo) -> tuple[dt.date, dt.datetime, str]:
    """Earliest first: by date, then instant (an unknown instant counts as the start of its day), then id."""
    instant = local_instant(event.at, tz) if event.at else dt.datetime.combine(event.on, _DAY_START, tzinfo=tz)
    return event.on, instant, event.id


def _triggered(spec: Triggered, part: int, calendar: WorkingCalendar,
               events: Mapping[str, Sequence[EventOccurrence]], default_offset: Offset) -> list[Due]:
    for event in events.get(spec.event, ()):
        event.check_instant(calendar.tz)
    occurrences = sorted(events.get(spec.event, ()), key=lambda e: _event_order(e, calendar.tz))
    if not occurrences:
        return []
    ids = [e.id for e in occurrences]
    if len(set(ids)) != len(ids):
        duplicated = sorted({i for i in ids if ids.count(i) > 1})
        raise ProjectionError(f"event {spec.event!r}: occurrence id(s) {duplicated!r} appear more than once")
    offset = spec.offset or default_offset
    window = _offset_text(offset)
    default_note = "默认时限，" if spec.offset is None else ""
    if not spec.per_event:
        occurrences = occurrences[:1]
    out: list[Due] = []
    for event in occurrences:
        due = add_offset(event.on, offset, calendar, at=event.at, tz=calendar.tz)
        key = f"event:{event.id}" if spec.per_event else "final"
        out.append(Due(part=part, key=key, due=due,
                       label=f"触发事件（{event.id}，{cn_date(event.on)}）后{window}内（{default_note}{cn_date(due)}前）"))
    return out


# --------------------------------------------------------------------------- entry point


def _check_checkins(checkins: Sequence[tuple[int, int]]) -> None:
    for point in checkins:
        month, day = point
        if isinstance(month, bool) or isinstance(day, bool) or not isinstance(month, int) \
                or not isinstance(day, int) or not 1 <= month <= 12 or not 1 <= day <= 31:
            raise ProjectionError(f"a check-in is (month 1..12, day 1..31), got {point!r}")


def project(spec: DeadlineSpec | Spec, ctx: PlanContext, calendar: WorkingCalendar, *,
            events: Mapping[str, Sequence[EventOccurrence]] | None = None,
            default_offset: Offset = DEFAULT_OFFSET,
            checkins: Sequence[tuple[int, int]] = DEFAULT_CHECKINS) -> list[Due]:
    """The concrete due occurrences of ``spec`` for a plan, ordered by part then date.

    Pure: the result depends only on the arguments (no clock), so a tick for
    any day can be replayed. An empty list means "nothing due yet" (a
    dormant trigger, a relative window without its anchor).
    """
    _check_checkins(checkins)
    happened = events or {}
    out: list[Due] = []
    for part, leaf in enumerate(spec.leaves()):
        if isinstance(leaf, Fixed):
            dues = _fixed(leaf, part, calendar)
        elif isinstance(leaf, Relative):
            dues = _relative(leaf, part, ctx, calendar)
        elif isinstance(leaf, Recurring):
            dues = _recurring(leaf, part, ctx, calendar)
        elif isinstance(leaf, Ongoing):
            dues = _ongoing(leaf, part, ctx, checkins, calendar)
        elif isinstance(leaf, Triggered):
            dues = _triggered(leaf, part, calendar, happened, default_offset)
        else:  # a Composite never nests (Composite.__post_init__ refuses it)
            raise ProjectionError(f"cannot project a spec of kind {leaf.kind!r} as a leaf")
        out.extend(sorted(dues, key=lambda d: (d.due, d.key)))
    return out
