"""Windows and ranges: one duty with a start and a due date ("3月1日至4月30日", "10月上旬至11月中旬", "6月-9月").

A range is two date-like ends joined by 至 / 到 / "-"; the second end takes what it does
not say from the first ("7月30日-31日": July; "2016年11月11日至11月30日": 2016), and a
second end before the first runs into the next year ("12月1日至1月31日"). Each end is
read the way the date forms read it: a month alone starts on its 1st and ends on its
last day, 上/中/下旬 start on the 1st/11th/21st and end on the 10th/20th/last day, a
year alone spans 1 January to 31 December. "每年" before a range makes it a yearly
rhythm, due at the range's end.
"""

from __future__ import annotations

import datetime as dt
import re
from calendar import monthrange

from ..spec import Fixed, Recurring
from .pieces import _Ctx, _Piece

_TEN_START = {"上旬": 1, "中旬": 11, "下旬": 21, "中下旬": 11, "初": 1}
_TEN_END = {"上旬": 10, "中旬": 20, "初": 10}
_VAGUE_PART = {"初": "X月初 read as the first ten days (上旬)", "中下旬": "X月中下旬 read as the 11th to the month's end"}


_Y = r"(?:(?P<{p}y>\d{{4}}|[今本当明次])年)?"
_TEN = r"(?P<{p}x>上旬|中下旬|中旬|下旬|初|底)"
_A = (_Y.format(p="a") + r"(?P<am>\d{1,2})月(?:(?P<ad>\d{1,2})(?:日|(?=-))|" + _TEN.format(p="a") + ")?")
_B = ("(?:" + _Y.format(p="b") + r"(?P<bm>\d{1,2})月(?:(?P<bd>\d{1,2})日|" + _TEN.format(p="b") + r")?"
      r"|(?P<bd2>\d{1,2})日)")

RANGE = (r"(?P<every>每年的?)?(?<![\d.])" + _A + r"(?:起)?(?:至|到|-)(?P<next>次年)?" + _B
         + r"(?:期间|为止|止)?")
YEAR_RANGE = r"(?<!\d)(?P<ay>\d{4})年?(?:至|到|-)(?P<by>\d{4})年"


def _side(m: re.Match[str], p: str, year: int, month: int | None, ctx: _Ctx, start: bool) -> dt.date:
    """One end of the range as a date (the first or the last day it names)."""
    text = m.group(0)
    day, ten = m.group(f"{p}d") or (m.group("bd2") if p == "b" else None), m.group(f"{p}x")
    if month is None:
        return dt.date(year, 1, 1) if start else dt.date(year, 12, 31)
    ctx.check_month(month, text)
    last = monthrange(year, month)[1]
    if day is not None:
        return ctx.date(year, month, int(day), text)
    if ten == "底":
        return dt.date(year, month, last)
    if ten is not None:
        return dt.date(year, month, _TEN_START[ten] if start else _TEN_END.get(ten, last))
    return dt.date(year, month, 1 if start else last)


def _b_range(m: re.Match[str], ctx: _Ctx) -> _Piece:
    g, text = m.group, m.group(0)
    a_year = ctx.year(g("ay"), text)
    if g("by") in ("次", "明") or g("next"):
        b_year = a_year + 1
    elif g("by"):
        b_year = ctx.year(g("by"), text)
    else:
        b_year = a_year
    a_month = int(g("am")) if g("am") else None
    b_month = int(g("bm")) if g("bm") else a_month
    start = _side(m, "a", a_year, a_month, ctx, True)
    due = _side(m, "b", b_year, b_month, ctx, False)
    if due < start and not g("by"):
        due = _side(m, "b", b_year + 1, b_month, ctx, False)
    if due < start:
        raise ctx.error("impossible-date", f"{text!r}: the range ends ({due}) before it starts ({start})")
    notes = [_VAGUE_PART[x] for x in (g("ax"), g("bx")) if x in _VAGUE_PART]
    if g("every"):
        return Recurring(freq="annual", months=(due.month,), day=due.day, ambiguous=True,
                         note=f"{text}: a yearly window, due at its end each year; from {start:%m-%d}")
    if g("next") and not g("ay"):
        notes.append(f"{text}: one window from {start} to {due}, or a season every year")
    return Fixed(due=due, start=start, ambiguous=bool(notes), note="; ".join(notes) or None)


def _b_year_range(m: re.Match[str], ctx: _Ctx) -> _Piece:
    a, b = ctx.year(m.group("ay"), m.group(0)), ctx.year(m.group("by"), m.group(0))
    if b < a:
        raise ctx.error("impossible-date", f"{m.group(0)!r}: the range ends before it starts")
    return Fixed(due=dt.date(b, 12, 31), start=dt.date(a, 1, 1))


BOUNDARY = r"(?<![\d.])" + _Y.format(p="a") + r"(?P<am>\d{1,2})月底(?:、|或|至|到|-)?(?P<bm>\d{1,2})月初"
""""7月底8月初": around the turn of a month."""


def _b_boundary(m: re.Match[str], ctx: _Ctx) -> _Piece | None:
    """"7月底8月初": around the turn of the month, read as a window from the 21st of the first month to
    the 10th of the next (flagged: the end of the first month may be meant)."""
    text, first, second = m.group(0), int(m.group("am")), int(m.group("bm"))
    ctx.check_month(first, text)
    ctx.check_month(second, text)
    year = ctx.year(m.group("ay"), text)
    start = dt.date(year, first, 21)
    due = dt.date(year + (1 if second < first else 0), second, 10)
    if (due - start).days > 62:  # "3月底、8月初": two dates, not one turn of a month (the date forms read them)
        return None
    return Fixed(due=due, start=start, ambiguous=True,
                 note=f"{text}: around the turn of the month, read as {start}–{due}; the end of month {first} "
                      "may be meant")


QUARTER_RANGE = (_Y.format(p="a") + r"(?<!\d)第?(?P<aq>\d)(?:季度)?(?:至|到|-)" + _Y.format(p="b")
                 + r"第?(?P<bq>\d)季度")
""""第二季度至第四季度", "2至4季度": one window from the first quarter's start to the last one's end."""


def _b_quarter_range(m: re.Match[str], ctx: _Ctx) -> _Piece:
    text, first, last = m.group(0), int(m.group("aq")), int(m.group("bq"))
    if not (1 <= first <= 4 and 1 <= last <= 4):
        raise ctx.error("impossible-date", f"{text!r}: there are four quarters")
    a_year = ctx.year(m.group("ay"), text)
    b_year = ctx.year(m.group("by"), text) if m.group("by") else a_year + (1 if last < first else 0)
    start, due = dt.date(a_year, 3 * first - 2, 1), dt.date(b_year, 3 * last, monthrange(b_year, 3 * last)[1])
    if due < start:
        raise ctx.error("impossible-date", f"{text!r}: the range ends ({due}) before it starts ({start})")
    return Fixed(due=due, start=start)
