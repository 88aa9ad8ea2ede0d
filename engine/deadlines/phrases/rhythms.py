"""Rhythm forms: 每月 / 每季度 / 每年M月D日前, seasons (4-10月每月), starts (自2016年起), report rhythms (月报)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace

from ..spec import Offset, Recurring
from .pieces import _Ctx, _Piece, _Start

_FREQ = {"月": "monthly", "季度": "quarterly", "季": "quarterly", "半年": "semiannual", "年": "annual", "周": "weekly",
         "日": "daily", "天": "daily", "工作日": "daily"}
_WEEKDAYS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "日": 7, "天": 7}
_QUARTER_MONTH_WORDS = {"首": 1, "初": 1, "第1": 1, "中": 2, "中间": 2, "中间1": 2, "第2": 2, "末": 3, "第3": 3, "最后1": 3}
"""A quarter's month by its place: 首月 / 初月 / 第1个月 (its first), 中间月 / 第2个月, 末月 / 最后1个月 (its last)."""


def _quarter_months(word: str) -> tuple[int, ...]:
    """"首个月" → (1, 4, 7, 10); "末月" → (3, 6, 9, 12)."""
    place = _QUARTER_MONTH_WORDS[word.removesuffix("月").removesuffix("个")]
    return tuple(range(place, 13, 3))


def _interval(n: int, text: str, ctx: _Ctx) -> int:
    """Every ``n``-th period, as the contract allows it (1..1000); "每2023周" is no rhythm."""
    if not 1 <= n <= 1000:
        raise ctx.error("unknown-phrase", f"{text!r}: a rhythm of every {n} periods")
    return n


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
    if m.group("part"):
        notes.append(f"{text}: 初/中 (early / the middle of each period) names no day; read as its 上旬 / 中旬 "
                     "(or that month)")
    if m.group("ten") and text.endswith("前"):
        notes.append(f"{text}: read as by the end of those ten days; 前 may mean before they begin")
    if m.group("wd") and text.endswith("前"):
        notes.append(f"{text}: read as by that weekday; 前 may mean before it (the day before)")
    return replace(spec, ambiguous=True, note="; ".join(notes)) if notes else spec


_MONTHS_AS = {3: "quarterly", 6: "semiannual", 12: "annual"}
"""每3/6/12个月: the calendar's quarter, half-year or year (their dues fall on its period ends)."""


def _rhythm(m: re.Match[str], ctx: _Ctx) -> Recurring:
    text, per = m.group(0), m.group("per")
    if per in ("半月", "半个月"):  # 每半个月
        return Recurring(freq="weekly", interval=2, start=_start_date(m, ctx) if m.group("sy") else None)
    freq = _FREQ[per]
    months = _season(m, ctx)
    interval = _interval(int(m.group("n")) if m.group("n") else 1, text, ctx)
    if freq == "monthly" and interval in _MONTHS_AS and not (months or m.group("d") or m.group("end")):
        freq, interval = _MONTHS_AS[interval], 1  # "每三个月一次": quarterly, not every third month from January
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
        months = _quarter_months(m.group("qm"))
    if m.group("am") or m.group("aq") or m.group("ah"):
        if freq != "annual" or months is not None:
            raise ctx.error("unknown-phrase", f"{text!r}: a month after the rhythm only reads with 每年 (每年3月)")
        months, day = _period_of_year(m, ctx, day)
    if m.group("ten"):  # "每月上旬": the 10th, 20th or last day of each month
        if freq not in ("monthly", "annual") or (freq == "annual" and not m.group("am")):
            raise ctx.error("unknown-phrase", f"{text!r}: 上旬/中旬/下旬 only read with 每月 or 每年M月")
        day = _TEN_DAY[m.group("ten")]
    if m.group("d"):
        day = int(m.group("d"))
        if freq == "annual" and months and len(months) == 1:
            ctx.check_day(months[0], day, text)
        elif freq not in ("monthly", "quarterly") or (freq == "quarterly" and not m.group("qm")):
            raise ctx.error("unknown-phrase", f"{text!r}: a day of the month only reads with 每月 or 每年M月")
        elif not 1 <= day <= 31:
            raise ctx.error("impossible-date", f"{text!r}: there is no day {day} in a month")
    if m.group("part"):  # "每月初", "每季度初", "每年中": early in (the middle of) each period
        months, day = _early_or_middle(freq, m.group("part"), text, ctx)
    weekday = _WEEKDAYS[m.group("wd")] if m.group("wd") else None
    start = _start_date(m, ctx) if m.group("sy") else None
    return Recurring(freq=freq, months=months, day=day, start=start, interval=interval,  # type: ignore[arg-type]
                     weekday=weekday)


_EARLY_MIDDLE: dict[tuple[str, str], tuple[tuple[int, ...] | None, int | str]] = {
    ("monthly", "初"): (None, 10), ("monthly", "中"): (None, 20),
    ("quarterly", "初"): ((1, 4, 7, 10), 10), ("quarterly", "中"): ((2, 5, 8, 11), "last"),
    ("annual", "初"): ((1,), "last"), ("annual", "中"): ((6,), "last"),
}
"""每月初 → the 10th (上旬); 每季度初 → its first month's 10th; 每年初 → the end of January; 中 likewise."""


def _early_or_middle(freq: str, part: str, text: str, ctx: _Ctx) -> tuple[tuple[int, ...] | None, int | str]:
    if (freq, part) not in _EARLY_MIDDLE:
        raise ctx.error("unknown-phrase", f"{text!r}: 初/中 only read with 每月, 每季度 or 每年")
    return _EARLY_MIDDLE[(freq, part)]


_TEN_DAY: dict[str, int | str] = {"上旬": 10, "中旬": 20, "下旬": "last"}


def _period_of_year(m: re.Match[str], ctx: _Ctx, day: int | str | None) -> tuple[tuple[int, ...], int | str | None]:
    """The month (and day) of 每年 + a month, a quarter or a half: "每年3月" → (3,); "每年第一季度" → (3,),
    due at its end; "每年上半年" → (6,), due at its end."""
    if m.group("aq"):
        quarter = int(m.group("aq"))
        if not 1 <= quarter <= 4:
            raise ctx.error("impossible-date", f"{m.group(0)!r}: there is no quarter {quarter}")
        return (3 * quarter,), "last"
    if m.group("ah"):
        return ((6,) if m.group("ah") == "上" else (12,)), "last"
    month = int(m.group("am"))
    ctx.check_month(month, m.group(0))
    return (month,), day


def _b_weekday(m: re.Match[str], ctx: _Ctx) -> _Piece:
    """"周六召开例会", "下周一报送": a weekly rhythm on that day."""
    return Recurring(freq="weekly", weekday=_WEEKDAYS[m.group("wd")])


def _b_weekday_span(m: re.Match[str], ctx: _Ctx) -> _Piece:
    """"周一至周五": each day of a span of the week (working days); the contract has no weekday set: daily,
    flagged."""
    return Recurring(freq="daily", ambiguous=True,
                     note=f"{m.group(0)}: each day of that span of the week, read as daily; it may say when "
                          "something is open (office hours), not a duty")


_WEEKLY = re.compile(r"每个?(?:周|星期)|[一1]周[一1]|周报")


def _b_next_weekday(m: re.Match[str], ctx: _Ctx) -> _Piece | None:
    """"每周五汇总,下周一报送": after a weekly rhythm, next week's day is a weekly rhythm on that day. Alone,
    "下周一" is one day relative to an unknown today: declined (an unknown phrase)."""
    if _WEEKLY.search(ctx.phrase) is None:
        return None
    return Recurring(freq="weekly", weekday=_WEEKDAYS[m.group("wd")], ambiguous=True,
                     note=f"{m.group(0)} after a weekly rhythm: read as weekly on that day (the following week's)")


_INTERVAL_FREQ = {"周": ("weekly", 1), "个周": ("weekly", 1), "个月": ("monthly", 1), "月": ("monthly", 1),
                  "天": ("daily", 1), "日": ("daily", 1), "年": ("annual", 1)}


def _b_interval(m: re.Match[str], ctx: _Ctx) -> _Piece:
    """"更新时间间隔不得超过2周": at most N apart, read as every N (the latest each one may fall)."""
    freq, _ = _INTERVAL_FREQ[m.group("u")]
    n = _interval(int(m.group("n")), m.group(0), ctx)
    return Recurring(freq=freq, interval=n, note=f"{m.group(0)}: at most {n} apart, read as every {n}")  # type: ignore[arg-type]


def _b_lag(m: re.Match[str], ctx: _Ctx) -> _Piece:
    """"次月5日前", "每季度结束后10日内": each period's occurrence falls due N after the period ends."""
    from .events import _UNITS  # the window units, shared

    freq = _FREQ[m.group("per") or "月"]
    unit = m.group("u") or "日"
    return Recurring(freq=freq, lag=Offset(unit=_UNITS[unit], amount=int(m.group("n"))))  # type: ignore[arg-type]


_CADENCE_FREQ = {"日": "daily", "周": "weekly", "月": "monthly", "季": "quarterly", "季度": "quarterly",
                 "年": "annual", "半年": "semiannual", "半月": "weekly", "双周": "weekly", "双月": "monthly"}


def _b_cadence(m: re.Match[str], ctx: _Ctx) -> _Piece:
    """"周调度、月通报", "一季度一督办", "双周例会", "逐月", "2个月召开1次": a working rhythm named by its period."""
    per = m.group("per")
    freq = _CADENCE_FREQ[per]
    interval = _interval(2 if per in ("半月", "双周", "双月") else int(m.group("n") or 1), m.group(0), ctx)
    if per == "半月":
        return Recurring(freq="weekly", interval=2, ambiguous=True,
                         note=f"{m.group(0)}: half-monthly read as every second week")
    if per == "双月":
        return Recurring(freq="monthly", interval=2, ambiguous=True,
                         note=f"{m.group(0)}: every second month (the first is not given); or the even months")
    if m.group("n4") not in (None, "1"):  # "两月一签约": every second month, or February
        return Recurring(freq=freq, interval=interval, ambiguous=True,  # type: ignore[arg-type]
                         note=f"{m.group(0)}一…: read as a {freq} rhythm every {m.group('n4')} periods (the first "
                              "is not given)" + ("" if "个" in m.group(0) else f"; or {m.group(0)} as a date"))
    return Recurring(freq=freq, interval=interval)  # type: ignore[arg-type]


def _b_odd_even(m: re.Match[str], ctx: _Ctx) -> _Piece:
    """"双月之10日前" / "单月10日前": the even or odd months, on a day."""
    months = tuple(range(2, 13, 2)) if m.group("which") == "双" else tuple(range(1, 12, 2))
    if m.group("end"):  # "每双月底上报": the last day of each even month
        return Recurring(freq="annual", months=months, day="last", ambiguous=True,
                         note=f"{m.group(0)}: every {'even' if m.group('which') == '双' else 'odd'} month's end; "
                              "or every second month")
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
        month = int(m.group("sm") or m.groupdict().get("sm2") or 1)
    ctx.check_month(month, m.group(0))
    return ctx.date(ctx.year(m.group("sy"), m.group(0)), month, int(m.groupdict().get("sd") or 1), m.group(0))


def _b_start(m: re.Match[str], ctx: _Ctx) -> _Piece:
    # A whole date + 起 alone is an effective date (no-deadline), as the date forms read it.
    return _Start(date=_start_date(m, ctx), text=m.group(0), dated=m.group("sd") is not None)


_PAIR = re.compile(r"(?P<label>[^\d,;:()年月日每季前底内起、和及与]{1,4}?)(?P<m>\d{1,2})月")


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

