"""The one rule for "a date plus an offset" (本方案公布后30个工作日内, 事件发生后24小时内, 3个月内).

``duban deadline explain``, plan validation, ``plan show``, the projection the tick reminds
from and the dashboard all call :func:`add_offset`; there is no second computation to
disagree with it.

The units, and what a window means when its anchor is a *day* with no time of day:

* ``working_days`` — counted strictly after the anchor on the official calendar
  (调休 included): the anchor day never counts, even when it is a working day.
* ``days`` — calendar days: the anchor plus N.
* ``hours`` — from the anchor instant when it is known; from 00:00 of the anchor day when
  only the day is known. The due date is the local date of the deadline instant, so
  "36小时内" after a notice of 2016-06-23 is due 2016-06-24 (12:00). Counting from the start
  of the day is the earliest the window can end: a reminder is never later than the duty.
* ``months`` / ``years`` — calendar months, the day clamped to the target month's end
  (1月31日 + 1个月 = 2月28/29日), as pendulum adds them.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol

import pendulum

from ...errors import DubanError
from .calendar import CHINA_TZ
from .spec import Offset

__all__ = ["CHINA_TZ", "OffsetRangeError", "WorkdayCounter", "add_offset", "local_instant"]

class WorkdayCounter(Protocol):
    """What an offset needs of :class:`~duban.engine.deadlines.calendar.WorkingCalendar`."""

    def add_workdays(self, start: dt.date, n: int) -> dt.date: ...


class OffsetRangeError(DubanError, ValueError):
    """The offset runs past the last representable date (9999-12-31)."""


def local_instant(at: dt.datetime, tz: dt.tzinfo = CHINA_TZ) -> dt.datetime:
    """``at`` in ``tz``; a naive instant is read as local time in ``tz``."""
    return at.replace(tzinfo=tz) if at.tzinfo is None else at.astimezone(tz)


def add_offset(on: dt.date, offset: Offset, calendar: WorkdayCounter, *,
               at: dt.datetime | None = None, tz: dt.tzinfo = CHINA_TZ) -> dt.date:
    """The last allowed date ``offset`` after the anchor day ``on`` (or the instant ``at`` on it).

    ``at`` only matters for hours. Raises :class:`OffsetRangeError` past 9999-12-31 and
    :class:`~duban.errors.CalendarYearMissing` when working days run into a year the
    calendar does not cover.
    """
    amount = offset.amount
    try:
        if offset.unit == "working_days":
            return calendar.add_workdays(on, amount)
        if offset.unit == "days":
            return on + dt.timedelta(days=amount)
        if offset.unit == "hours":
            start = (local_instant(at, tz) if at is not None
                     else dt.datetime.combine(on, dt.time(), tzinfo=tz))
            return (start + dt.timedelta(hours=amount)).astimezone(tz).date()
        months = amount * (12 if offset.unit == "years" else 1)
        moved = pendulum.Date(on.year, on.month, on.day).add(months=months)
        if moved.year > 9999:
            raise OverflowError
        return dt.date(moved.year, moved.month, moved.day)
    except (OverflowError, ValueError) as exc:
        if isinstance(exc, DubanError):
            raise
        raise OffsetRangeError(f"{amount} {offset.unit} after {on.isoformat()} runs past 9999-12-31") from None
