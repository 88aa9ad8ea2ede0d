"""Date forms: a day, a month (底/内/旬/前), a quarter, a half-year, a year's end."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace

from ..spec import Fixed
from .pieces import _Ctx, _month_end, _Piece

def _b_iso(m: re.Match[str], ctx: _Ctx) -> _Piece:
    return Fixed(due=ctx.ymd(m.group("y"), int(m.group("m")), int(m.group("d")), m.group(0)))


_TEN_DAYS = {"上旬": 10, "中旬": 20}
_TEN_BEFORE = {"上旬": 0, "中旬": 10, "下旬": 20}


_CN_MONTH_WITHIN = re.compile(r"(?<![\d年〇零一二两三四五六七八九十])([一二两三四五六七八九十]{1,2})月(?:之|以)?内")


def _b_month(m: re.Match[str], ctx: _Ctx) -> _Piece:
    text, month = m.group(0), int(m.group("m"))
    ctx.check_month(month, text)
    year = ctx.year(m.group("y"), text)
    return _month(year, month, m.group("mod"), bool(m.group("b")), text, ctx, yearless=m.group("y") is None)


def _b_this_month(m: re.Match[str], ctx: _Ctx) -> _Piece:
    """"本月底前", "下月中旬": a month counted from the document's own date (``published``), flagged."""
    text = m.group(0)
    if ctx.this_month is None:
        raise ctx.error("needs-published", f"{text!r} names a month relative to the document's date and no "
                                           "publication date was given (pass published / --published)")
    year, month = ctx.this_month
    if m.group("rel") == "下":
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    spec = _month(year, month, m.group("mod"), bool(m.group("b")), text, ctx, yearless=False)
    note = f"{text}: read as {year}-{month:02d}, counted from the document's date; confirm"
    return replace(spec, ambiguous=True, note="; ".join(n for n in (spec.note, note) if n))  # type: ignore[type-var]


def _month(year: int, month: int, mod: str | None, before: bool, text: str, ctx: _Ctx, *,
           yearless: bool) -> Fixed:
    """Month ``month`` of ``year`` as a due date, with its modifier (底/内/旬/初) and 前 (before it)."""
    if mod == "内" and yearless and _CN_MONTH_WITHIN.search(ctx.phrase):
        # "应在一月内": January, or one month (一个月内) from the event the sentence names.
        return Fixed(due=_month_end(year, month), ambiguous=True,
                     note=f"{text}: read as month {month}; it may mean a window of {month} month(s) (N个月内)")
    if mod in _TEN_BEFORE and before:  # "4月中旬前": before the ten days begin
        day = _TEN_BEFORE[mod]
        due = dt.date(year, month, day) if day else (
            dt.date(year - 1, 12, 31) if month == 1 else _month_end(year, month - 1))
        return Fixed(due=due, ambiguous=True,
                     note=f"{text} read like X月前: before the ten days begin; confirm it does not mean their end")
    if mod in _TEN_DAYS:
        return Fixed(due=dt.date(year, month, _TEN_DAYS[mod]))
    if mod == "初":
        return Fixed(due=dt.date(year, month, 10), ambiguous=True,
                     note=f"{text}: 月初 read as the first ten days (上旬, due the 10th)")
    if mod == "中下旬":
        return Fixed(due=_month_end(year, month), start=dt.date(year, month, 11), ambiguous=True,
                     note=f"{text}: 中下旬 read as the 11th to the month's end")
    if before and mod is None:  # "X月前": before month X begins
        return Fixed(due=dt.date(year - 1, 12, 31) if month == 1 else _month_end(year, month - 1))
    return Fixed(due=_month_end(year, month))


def _b_target(m: re.Match[str], ctx: _Ctx) -> _Piece:
    """"到2025年", "2025年基本建成": a target year, due at its end."""
    year = ctx.year(m.group("y"), m.group(0))
    return Fixed(due=dt.date(year, 12, 31), note=f"{m.group(0)}: a target year, read as due at its end")


def _b_quarter_after(m: re.Match[str], ctx: _Ctx) -> _Piece:
    """"一季度后8日", "二季度季后9日": N days after the quarter ends (a statistics calendar)."""
    q = int(m.group("q"))
    if not 1 <= q <= 4:
        raise ctx.error("impossible-date", f"{m.group(0)!r}: there is no quarter {q}")
    year = ctx.year(m.group("y"), m.group(0))
    return Fixed(due=_month_end(year, 3 * q) + dt.timedelta(days=int(m.group("n"))))


def _b_quarter(m: re.Match[str], ctx: _Ctx) -> _Piece:
    text, q = m.group(0), int(m.group("q"))
    if not 1 <= q <= 4:
        raise ctx.error("impossible-date", f"{text!r}: there is no quarter {q}")
    year = ctx.year(m.group("y"), text)
    if m.group("b") and m.group("mod") is None:
        due = dt.date(year - 1, 12, 31) if q == 1 else _month_end(year, 3 * (q - 1))
        return Fixed(due=due, ambiguous=True,
                     note=f"{text} read like X月前: before the quarter begins (the end of the previous "
                          "quarter); confirm it does not mean the quarter's end")
    return Fixed(due=_month_end(year, 3 * q))


def _b_half(m: re.Match[str], ctx: _Ctx) -> _Piece:
    text, first = m.group(0), m.group("h") == "上"
    year = ctx.year(m.group("y"), text)
    if m.group("b") and m.group("mod") is None:
        due = dt.date(year - 1, 12, 31) if first else dt.date(year, 6, 30)
        return Fixed(due=due, ambiguous=True,
                     note=f"{text} read like X月前: before the half-year begins; confirm it does not "
                          "mean the half-year's end")
    return Fixed(due=dt.date(year, 6, 30) if first else dt.date(year, 12, 31))


def _b_year_end(m: re.Match[str], ctx: _Ctx) -> _Piece:
    return Fixed(due=dt.date(ctx.year(m.group("y"), m.group(0)), 12, 31))


def _b_year_before(m: re.Match[str], ctx: _Ctx) -> _Piece:
    due = dt.date(ctx.year(m.group("y"), m.group(0)) - 1, 12, 31)
    if m.group("to"):  # "到2020年前": before 2020, or by (the end of) 2020
        return Fixed(due=due, ambiguous=True,
                     note=f"{m.group(0)}: read as before the year begins; 到…年前 often means by its end")
    return Fixed(due=due)


def _b_year_part(m: re.Match[str], ctx: _Ctx) -> _Piece:
    """"年中" → 30 June; "年初" (early in the year) names no day: the end of January, flagged."""
    year = ctx.year(m.group("y"), m.group(0))
    if m.group("p") == "中":
        return Fixed(due=dt.date(year, 6, 30))
    return Fixed(due=dt.date(year, 1, 31), ambiguous=True,
                 note=f"{m.group(0)}: 年初 (early in the year) names no day; read as the end of January")

