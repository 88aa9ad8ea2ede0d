"""Rhythm forms: 每月 / 每季度 / 每年M月D日前, seasons (4-10月每月), starts (自2016年起), report rhythms (月报)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace

from ..spec import Offset, Recurring
from .pieces import _Ctx, _Piece, _Start

_FREQ = {"月": "monthly", "季度": "quarterly", "半年": "semiannual", "年": "annual", "周": "weekly",
         "日": "daily", "天": "daily", "工作日": "daily"}
_WEEKDAYS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "日": 7, "天": 7}
_QUARTER_MONTH = {"首月": (1, 4, 7, 10), "首个月": (1, 4, 7, 10), "第1月": (1, 4, 7, 10), "第1个月": (1, 4, 7, 10),
                  "末月": (3, 6, 9, 12), "末个月": (3, 6, 9, 12), "最后1个月": (3, 6, 9, 12)}


def _season(m: re.Match[str], ctx: _Ctx) -> tuple[int, ...] | None:
    """"(4-10月)": the months a rhythm is restricted to (a season may wrap the year end: "11-3月")."""
    if not m.group("m1"):
        return None
    first, last = int(m.group("m1")), int(m.group("m2"))
    ctx.check_month(first, m.group(0))
    ctx.check_month(last, m.group(0))
    return tuple(sorted((first - 1 + k) % 12 + 1 for k in range((last - first) % 12 + 1)))


def _b_rhythm(m: re.Match[str], ctx: _Ctx) -> _Piece:
    spec = _rhythm(m, ctx)
    text, notes = m.group(0), []
    if m.group("per") in ("半月", "半个月"):
        notes.append(f"{text}: half-monthly read as every second week (the contract has no twice-a-month rhythm)")
    elif m.group("per") == "工作日":
        notes.append(f"{text}: every working day, read as daily (the projection has no working-day rhythm)")
    if m.group("wd") and text.endswith("前"):
        notes.append(f"{text}: read as by that weekday; 前 may mean before it (the day before)")
    return replace(spec, ambiguous=True, note="; ".join(notes)) if notes else spec


def _rhythm(m: re.Match[str], ctx: _Ctx) -> Recurring:
    text, per = m.group(0), m.group("per")
    if per in ("半月", "半个月"):  # 每半个月
        return Recurring(freq="weekly", interval=2, start=_start_date(m, ctx) if m.group("sy") else None)
    freq = _FREQ[per]
    months = _season(m, ctx)
    interval = int(m.group("n")) if m.group("n") else 1
    if interval < 1:
        raise ctx.error("unknown-phrase", f"{text!r}: a rhythm of every {interval} periods")
    if m.group("end") and freq in ("daily", "weekly"):
        raise ctx.error("unknown-phrase", f"{text!r}: 底 (a month's end) does not read with a daily or weekly rhythm")
    day: int | str | None = "last" if m.group("end") else None
    if m.group("end") == "年底":
        if freq != "annual":
            raise ctx.error("unknown-phrase", f"{text!r}: 年底 only reads with 每年")
        months = (12,)
    if m.group("qm"):
        if freq != "quarterly":
            raise ctx.error("unknown-phrase", f"{text!r}: 首月/末月 only read with 每季度")
        months = _QUARTER_MONTH[m.group("qm")]
    if m.group("am"):
        if freq != "annual" or months is not None:
            raise ctx.error("unknown-phrase", f"{text!r}: a month after the rhythm only reads with 每年 (每年3月)")
        months = (int(m.group("am")),)
        ctx.check_month(months[0], text)
    if m.group("d"):
        day = int(m.group("d"))
        if freq == "annual" and months and len(months) == 1:
            ctx.check_day(months[0], day, text)
        elif freq not in ("monthly", "quarterly") or (freq == "quarterly" and not m.group("qm")):
            raise ctx.error("unknown-phrase", f"{text!r}: a day of the month only reads with 每月 or 每年M月")
        elif not 1 <= day <= 31:
            raise ctx.error("impossible-date", f"{text!r}: there is no day {day} in a month")
    weekday = _WEEKDAYS[m.group("wd")] if m.group("wd") else None
    start = _start_date(m, ctx) if m.group("sy") else None
    return Recurring(freq=freq, months=months, day=day, start=start, interval=interval,  # type: ignore[arg-type]
                     weekday=weekday)


def _b_weekday(m: re.Match[str], ctx: _Ctx) -> _Piece:
    """"周六召开例会", "下周一报送": a weekly rhythm on that day."""
    return Recurring(freq="weekly", weekday=_WEEKDAYS[m.group("wd")])


_INTERVAL_FREQ = {"周": ("weekly", 1), "个周": ("weekly", 1), "个月": ("monthly", 1), "月": ("monthly", 1),
                  "天": ("daily", 1), "日": ("daily", 1), "年": ("annual", 1)}


def _b_interval(m: re.Match[str], ctx: _Ctx) -> _Piece:
    """"更新时间间隔不得超过2周": at most N apart, read as every N (the latest each one may fall)."""
    freq, _ = _INTERVAL_FREQ[m.group("u")]
    n = int(m.group("n"))
    if n < 1:
        raise ctx.error("unknown-phrase", f"{m.group(0)!r}: an interval of {n}")
    return Recurring(freq=freq, interval=n, note=f"{m.group(0)}: at most {n} apart, read as every {n}")  # type: ignore[arg-type]


def _b_lag(m: re.Match[str], ctx: _Ctx) -> _Piece:
    """"次月5日前", "每季度结束后10日内": each period's occurrence falls due N after the period ends."""
    from .events import _UNITS  # the window units, shared

    freq = _FREQ[m.group("per") or "月"]
    unit = m.group("u") or "日"
    return Recurring(freq=freq, lag=Offset(unit=_UNITS[unit], amount=int(m.group("n"))))  # type: ignore[arg-type]


_CADENCE_FREQ = {"日": "daily", "周": "weekly", "月": "monthly", "季": "quarterly", "季度": "quarterly",
                 "年": "annual", "半月": "weekly", "双周": "weekly"}


def _b_cadence(m: re.Match[str], ctx: _Ctx) -> _Piece:
    """"周调度、月通报", "一季度一督办", "双周例会", "逐月", "2个月召开1次": a working rhythm named by its period."""
    per = m.group("per")
    freq = _CADENCE_FREQ[per]
    interval = 2 if per in ("半月", "双周") else int(m.group("n") or 1)
    if interval < 1:
        raise ctx.error("unknown-phrase", f"{m.group(0)!r}: a rhythm of every {interval} periods")
    if per == "半月":
        return Recurring(freq="weekly", interval=2, ambiguous=True,
                         note=f"{m.group(0)}: half-monthly read as every second week")
    return Recurring(freq=freq, interval=interval)  # type: ignore[arg-type]


def _b_odd_even(m: re.Match[str], ctx: _Ctx) -> _Piece:
    """"双月之10日前" / "单月10日前": the even or odd months, on a day."""
    months = tuple(range(2, 13, 2)) if m.group("which") == "双" else tuple(range(1, 12, 2))
    day = int(m.group("d"))
    if not 1 <= day <= 31:
        raise ctx.error("impossible-date", f"{m.group(0)!r}: there is no day {day} in a month")
    return Recurring(freq="annual", months=months, day=day, ambiguous=True,
                     note=f"{m.group(0)}: every {'even' if m.group('which') == '双' else 'odd'} month")


def _start_date(m: re.Match[str], ctx: _Ctx) -> dt.date:
    """The first day a start names: "2016年7月起" → 07-01; "从2023年第二季度起" → 04-01."""
    quarter = m.groupdict().get("sq")
    if quarter is not None:
        if not 1 <= int(quarter) <= 4:
            raise ctx.error("impossible-date", f"{m.group(0)!r}: there is no quarter {quarter}")
        month = 3 * int(quarter) - 2
    else:
        month = int(m.group("sm") or 1)
    ctx.check_month(month, m.group(0))
    return ctx.date(ctx.year(m.group("sy"), m.group(0)), month, int(m.group("sd") or 1), m.group(0))


def _b_start(m: re.Match[str], ctx: _Ctx) -> _Piece:
    # A whole date + 起 alone is an effective date (no-deadline), as the date forms read it.
    return _Start(date=_start_date(m, ctx), text=m.group(0), dated=m.group("sd") is not None)


_PAIR = re.compile(r"(?P<label>[^\d,;:()年月日每季前底内起]{1,4}?)(?P<m>\d{1,2})月")


def _b_pairs(m: re.Match[str], ctx: _Ctx) -> _Piece:
    pairs = [(p.group("label"), int(p.group("m"))) for p in _PAIR.finditer(m.group(0))]
    for _, month in pairs:
        ctx.check_month(month, m.group(0))
    note = "; ".join(f"{label}: {month}月" for label, month in pairs) + " (each year)"
    return Recurring(freq="annual", months=tuple(sorted({month for _, month in pairs})), note=note)

def _b_reports(m: re.Match[str], ctx: _Ctx) -> _Piece:
    if m.group("per") == "双月":  # 双月报: a report every second month
        return Recurring(freq="monthly", interval=2)
    freq = {"月": "monthly", "季": "quarterly", "半年": "semiannual", "年": "annual"}[m.group("per")]
    return Recurring(freq=freq)  # type: ignore[arg-type]

