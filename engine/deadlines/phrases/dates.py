"""Date forms: a day, a month (底/内/旬/前), a quarter, a half-year, a year's end."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace

from ....errors import CalendarYearMissing
from ..spec import Fixed, Offset
from .pieces import _Ctx, _month_end, _Piece, _Window

def _b_iso(m: re.Match[str], ctx: _Ctx) -> _Piece:
    return Fixed(due=ctx.ymd(m.group("y"), int(m.group("m")), int(m.group("d")), m.group(0)))


_TEN_DAYS = {"上旬": 10, "中旬": 20}
_TEN_BEFORE = {"上旬": 0, "中旬": 10, "下旬": 20}


_CN_MONTH_WITHIN = re.compile(r"(?<![\d年〇零一二两三四五六七八九十])([一二两三四五六七八九十]{1,2})月(?:之|以)?内")


def _b_month(m: re.Match[str], ctx: _Ctx) -> _Piece:
    text, month = m.group(0), int(m.group("m"))
    ctx.check_month(month, text)
    if m.group("mod") == "内" and m.group("y") is None and _CN_MONTH_WITHIN.search(ctx.phrase):
        # "应在一月内报告": Chinese numerals seldom write a month in a date; 一月内 is mostly 一个月内.
        return _Window(offset=Offset(unit="months", amount=month), text=text,
                       note=f"{text}: read as a window of {month} month(s) (N个月内); it may mean within month {month}")
    year = ctx.year(m.group("y"), text)
    return _month(year, month, m.group("mod"), bool(m.group("b")), text)


def _b_this_month(m: re.Match[str], ctx: _Ctx) -> _Piece:
    """"本月底前", "下月中旬": a month counted from the document's own date (``published``), flagged."""
    text = m.group(0)
    if ctx.this_month is None:
        raise ctx.error("needs-published", f"{text!r} names a month relative to the document's date and no "
                                           "publication date was given (pass published / --published)")
    year, month = ctx.this_month
    if m.group("rel") == "下":
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    spec = _month(year, month, m.group("mod"), bool(m.group("b")), text)
    note = f"{text}: read as {year}-{month:02d}, counted from the document's date; confirm"
    return replace(spec, ambiguous=True, note="; ".join(n for n in (spec.note, note) if n))  # type: ignore[type-var]


def _month(year: int, month: int, mod: str | None, before: bool, text: str) -> Fixed:
    """Month ``month`` of ``year`` as a due date, with its modifier (底/内/旬/初) and 前 (before it)."""
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
    if mod == "中":
        return Fixed(due=dt.date(year, month, 20), ambiguous=True,
                     note=f"{text}: 月中 read as the middle ten days (中旬, due the 20th)")
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



def _b_noisy_date(m: re.Match[str], ctx: _Ctx) -> _Piece:
    """"于615日前", "20181230日前": a date whose 年 and 月 the extraction lost. Read only when one split into
    [YYYY]M + D exists (several: the first, the others in the note); always flagged."""
    digits = m.group("digits") or m.group("digits2")
    if len(digits) == 2 and int(digits) <= 31:  # "于18日前": a day of a month named elsewhere
        raise ctx.error("unknown-phrase", f"{m.group(0)!r}: a day with no month")
    year_digits = digits[:4] if len(digits) >= 7 else None
    rest = digits[4:] if year_digits else digits
    splits = [(rest[:k], rest[k:]) for k in (1, 2) if k < len(rest) <= k + 2]
    # a leading zero only where the digits are zero-padded: "0715" is 07-15
    readings = [(int(mo), int(d)) for mo, d in splits
                if (len(rest) == 4 or (not mo.startswith("0") and not d.startswith("0")))
                and 1 <= int(mo) <= 12 and 1 <= int(d) <= _month_end(2000, int(mo)).day]
    if not readings:
        raise ctx.error("unknown-phrase", f"{m.group(0)!r}: digits that are no date")
    year = ctx.year(year_digits, m.group(0))
    dates = [ctx.date(year, mo, d, m.group(0)) for mo, d in readings]
    others = "; or " + ", ".join(str(d) for d in dates[1:]) if len(dates) > 1 else ""
    return Fixed(due=dates[0], ambiguous=True,
                 note=f"{m.group(0)}: 年/月 lost in the text (extraction noise?); read as {dates[0]}{others}; confirm")


_FIXED_HOLIDAYS = {"元旦": (1, 1), "五一": (5, 1), "劳动节": (5, 1), "六一": (6, 1), "儿童节": (6, 1), "七一": (7, 1),
                   "建党节": (7, 1), "八一": (8, 1), "建军节": (8, 1), "国庆": (10, 1), "十一": (10, 1)}
_LUNAR_HOLIDAYS = {"春节": "春节", "清明": "清明节", "端午": "端午节", "中秋": "中秋节"}
"""Holidays whose date moves with the lunar calendar: read from the official holiday calendar."""


def _b_holiday(m: re.Match[str], ctx: _Ctx) -> _Piece:
    """"国庆节前", "争取“十一”之前", "2024年春节前": before the holiday begins, flagged (a holiday names no
    day of its own: the day before it, or the last working day before it)."""
    name, text = m.group("h"), m.group(0)
    year = ctx.year(m.group("y"), text)
    if name == "元旦" and m.group("y") is None:  # "元旦前" in a plan: the coming New Year, the plan year's end
        year += 1
    if name in _FIXED_HOLIDAYS:
        first = dt.date(year, *_FIXED_HOLIDAYS[name])
    else:
        first = _lunar_holiday_start(_LUNAR_HOLIDAYS[name], year, text, ctx)
    return Fixed(due=first - dt.timedelta(days=1), ambiguous=True,
                 note=f"{text}: before {name} ({first}), read as the day before it; confirm (the last working "
                      "day before the holiday may be meant)")


def _lunar_holiday_start(name: str, year: int, text: str, ctx: _Ctx) -> dt.date:
    """The first rest day of a lunar holiday, from the official holiday calendar of ``year``."""
    from ..calendar import WorkingCalendar

    try:
        blocks = WorkingCalendar.default().holidays(year)
    except CalendarYearMissing:
        raise ctx.error("unknown-phrase", f"{text!r}: the holiday calendar has no {year} to date {name}") from None
    block = next((b for b in blocks if name in b.name), None)  # "中秋节、国庆节" share a block in some years
    if block is None:
        raise ctx.error("unknown-phrase", f"{text!r}: the {year} holiday calendar has no {name}")
    return block.start


_FOUNDED = {"中华人民共和国": (1949, 10, 1), "新中国": (1949, 10, 1), "中国共产党": (1921, 7, 1), "建党": (1921, 7, 1),
            "中国人民解放军": (1927, 8, 1), "建军": (1927, 8, 1)}
"""Founding days whose round anniversaries plans take as targets ("在新中国成立100年时")."""


def _b_anniversary(m: re.Match[str], ctx: _Ctx) -> _Piece:
    """"要在2029年中华人民共和国成立80周年时", "建党100周年": the anniversary day, flagged (the end of that
    year may be meant); a year written beside it that disagrees is noted."""
    founded = _FOUNDED[m.group("who")]
    year = founded[0] + int(m.group("n"))
    due = ctx.date(year, founded[1], founded[2], m.group(0))
    notes = [f"{m.group(0)}: the anniversary day {due}; the end of {year} may be meant"]
    if m.group("y") is not None and ctx.year(m.group("y"), m.group(0)) != year:
        notes.append(f"the year written ({m.group('y')}) is not the anniversary's ({year}): confirm")
    return Fixed(due=due, ambiguous=True, note="; ".join(notes))


_CN_ORDINAL = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6}


def _b_winter_spring(m: re.Match[str], ctx: _Ctx) -> _Piece:
    """"今冬明春": this winter and next spring; by the end of next spring (May), flagged."""
    year = ctx.year(None, m.group(0)) + 1
    return Fixed(due=dt.date(year, 5, 31), ambiguous=True,
                 note=f"{m.group(0)}: this winter and next spring, read as by the end of May {year}; or the end of "
                      f"March (before spring ploughing), or the window from December")


def _b_five_year(m: re.Match[str], ctx: _Ctx) -> _Piece | None:
    """"“十四五”期间", "十四五末": the N-th five-year plan runs from 1951 + 5N to 1955 + 5N (十四五: 2021–2025).
    Its period is a window; 末 (its end) the last day."""
    n = 10 + _CN_ORDINAL[m.group("n")]
    first, last = 1951 + 5 * n, 1955 + 5 * n
    if (m.group("part") or "").endswith("末") or m.group("part") == "末期":
        return Fixed(due=dt.date(last, 12, 31))
    return Fixed(due=dt.date(last, 12, 31), start=dt.date(first, 1, 1),
                 note=f"{m.group(0)}: the five-year plan's period {first}–{last}")
