"""Ongoing work, vague adverbs and qualifiers: 全年工作, 长期坚持, 定期, 按…规定."""

from __future__ import annotations

import datetime as dt
import re

from ..spec import Fixed, Offset, Ongoing, Relative, Triggered
from .pieces import _Ctx, _Note, _Piece, _Vague

def _b_whole_year(m: re.Match[str], ctx: _Ctx) -> _Piece:
    """"全年工作": work through the year. Weak beside a firm deadline ("12月25日前报告全年落实情况": the
    year's results, due on the 25th); with 完成 it may mean due at the year's end (flagged)."""
    until = dt.date(ctx.year(m.group("y"), m.group(0)), 12, 31)
    if "完成" in m.string:
        return _Vague(word="全年", spec=Ongoing(
            until=until, ambiguous=True,
            note=f"{m.group(0)}…完成: read as work through the year; it may mean due at the year's end"))
    return _Vague(word="全年", spec=Ongoing(until=until))


def _b_year_tasks(m: re.Match[str], ctx: _Ctx) -> _Piece:
    """"确保年度目标任务完成", "全面完成全年各项工作任务": the year's tasks, due at its end. Without 完成 /
    实现 the words only name the tasks ("分解年度任务"); 全年 may also mean work through the year (flagged)."""
    text = m.group(0)
    if _DONE.search(m.string) is None:
        return _Note(text=f"{text}: names the year's tasks")
    due = dt.date(ctx.year(m.group("y"), text), 12, 31)
    if m.group("whole"):
        spec = Fixed(due=due, ambiguous=True,
                     note=f"{text}…完成: the year's tasks, due at its end; or work through the year (ongoing)")
    else:
        spec = Fixed(due=due, note=f"{text}…完成: the year's tasks, due at its end")
    return _Vague(word="年任务", spec=spec)  # beside a firmer date in its clause, it names what is due then


_DONE = re.compile(r"完成(?!情况)|实现")


def _b_span(m: re.Match[str], ctx: _Ctx) -> _Piece:
    """"用3-5年时间", "力争通过2年努力", "为期半年": a span counted from the document itself (the longer end)."""
    if m.group("n") is None:
        months = 6 if m.group("half") else 12 * int(m.group("whole")) if m.group("whole") else int(m.group("months"))
        return Relative(anchor="plan_published", offset=Offset(unit="months", amount=months), ambiguous=True,
                        note=f"{m.group(0)}: {months} months from the document's publication; the campaign's own "
                             "start may be stated elsewhere")
    years = int(m.group("n"))
    low = m.group("a")
    if low is not None and int(low) > years:
        raise ctx.error("unknown-phrase", f"{m.group(0)!r}: a span from {low} down to {years} years")
    span = f"{low}-{years}" if low else str(years)
    return Relative(anchor="plan_published", offset=Offset(unit="years", amount=years), ambiguous=True,
                    note=f"{m.group(0)}: {span} years from the document's publication (the longer end); "
                         "it may mean the end of the plan year + N")


_QUALIFIER_NOTES = {
    "即日起": "即日起至: a window from the document's own date (its start) to the date named",
    "期限": "期限至: the end of a period (a validity), a duty's due date only if the duty ends then",
    "有效期": "有效期至: the end of a validity, a duty's due date only if the duty ends then",
    "延长": "延长至: an extended end date (a validity or a time limit)",
}


def _b_qualifier(m: re.Match[str], ctx: _Ctx) -> _Piece:
    """Words before a date that change what the date is: 即日起至, 期限至, 延长至 (flagged)."""
    return _Note(text=_QUALIFIER_NOTES[m.group("q")], ambiguous=True)


def _b_since_until(m: re.Match[str], ctx: _Ctx) -> _Piece:
    """"自本公告发布之日起至2022年10月16日": a window from an event's day to a date; the date is due (flagged)."""
    return _Note(text=f"{m.group(0)}: a window from the day of {m.group('ev')!r} (its start) to the date named, "
                      "due on that date", ambiguous=True)


def _b_total(m: re.Match[str], ctx: _Ctx) -> _Piece:
    """"共7天", "为期3天": the length of the window beside it, not a deadline of its own."""
    return _Note(text=f"{m.group(0)}: the window's length")


def _b_year_ongoing(m: re.Match[str], ctx: _Ctx) -> _Piece:
    return Ongoing(until=dt.date(ctx.year(None, m.group(0)), 12, 31))


def _b_ongoing(m: re.Match[str], ctx: _Ctx) -> _Piece:
    return Ongoing(until=None)


_VAGUE_NOTES = {
    "定时": "定时 (at set times) names no time: read as open-ended ongoing work",
    "择机": "择机 (at a suitable moment): no date; read as open-ended ongoing work",
    "实时": "实时 (in real time): continuous; read as open-ended ongoing work",
    "动态调整": "动态调整 (adjusted as things change): read as open-ended ongoing work",
    "动态更新": "动态更新 (updated as things change): read as open-ended ongoing work",
    "定期": "定期 (periodically) states no rhythm: read as open-ended ongoing work with the configured "
            "check-ins; set a rhythm if the unit has one",
    "不定期": "不定期 (from time to time): no rhythm; read as open-ended ongoing work",
    "适时": "适时 (when appropriate): no date; read as open-ended ongoing work",
    "及时": "及时 (promptly) with no event named: read as open-ended ongoing work",
    "即时": "即时 (at once) with no event named: read as open-ended ongoing work",
    "视情": "视情 (as the situation requires): no date; read as open-ended ongoing work",
    "尽快": "尽快 (as soon as possible): no date; read as open-ended ongoing work; set a date",
    "随时": "随时 (at any time): no date; read as open-ended ongoing work",
}


_UPDATES = ("更新", "调整", "公开", "发布", "报送", "上报", "维护")
_AS_NEEDED_NOTE = "{word} (as things happen / as needed): no rhythm or date; read as open-ended ongoing work"


def _b_vague(m: re.Match[str], ctx: _Ctx) -> _Piece:
    word = m.group(0)
    if m.group("need"):
        # "根据需要": how often, not by when: a note beside a deadline. Alone it is no deadline, unless it
        # answers how often something is updated ("按实际更新", "按需公开"): then open-ended work (flagged).
        note = _AS_NEEDED_NOTE.format(word=word)
        updated = m.string.startswith(_UPDATES, m.end())
        return _Note(text=note, alone=Ongoing(until=None, ambiguous=True, note=note) if updated else None)
    return _Vague(word=word, spec=Ongoing(until=None, ambiguous=True, note=_VAGUE_NOTES[word]))


_BUDGET_LAW_NOTE = (
    "按预算法规定: read as the Budget Law's window (预算法第十四条): published within 20 days of "
    "the people's congress approving the budget; confirm the clause that applies to this duty")


def _b_rules(m: re.Match[str], ctx: _Ctx) -> _Piece:
    text, rule = m.group(0), m.group("rule")
    if "预算法" in rule:
        return Triggered(event="budget_approved", offset=Offset(unit="days", amount=20),
                         ambiguous=True, note=_BUDGET_LAW_NOTE)
    alone = Ongoing(until=None, ambiguous=True,
                    note=f"{text}: the deadline is whatever that sets and none is stated here; "
                         "read as open-ended until a date is set")
    return _Note(text=f"{text}: follows those arrangements; their dates, once issued, take precedence",
                 alone=alone)

