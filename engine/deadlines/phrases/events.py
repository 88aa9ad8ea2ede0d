"""Event clauses and windows: "待…后", "收到…后", "自…之日起N个工作日内", "N小时内".

Any wording is accepted: the event keeps its own words as the trigger's
``description``; a small table gives well-known events a stable name, and the
rest a generic one by their verb, flagged so a person binds them.
"""

from __future__ import annotations

import re
from dataclasses import replace

from ..spec import Offset, OffsetUnit, Triggered
from .pieces import _Ctx, _Event, _Piece, _Window

_VERBS = r"修订发布|出台|发布|印发|下发|公布|颁布|施行|实施|生效|发生|出现|核准|批复|审定|下达|核定|确认|结束"
_UNITS: dict[str, OffsetUnit] = {
    "工作日": "working_days", "个工作日": "working_days", "日": "days", "天": "days",
    "小时": "hours", "个月": "months", "年": "years", "周": "days", "个周": "days", "分钟": "hours",
}
_DAYS_PER: dict[str, int] = {"周": 7, "个周": 7}

# Known event kinds, first match wins: (pattern over the event text, name, one occurrence per event).
_EVENT_KINDS: tuple[tuple[re.Pattern[str], str, bool], ...] = (
    (re.compile(r"本(?:方案|通知|意见|计划|办法|要点)"), "plan_published", False),
    (re.compile(r"突发|事故|灾情|灾害|疫情"), "major_emergency", True),
    (re.compile(r"人大.*?(?:通过|批准)|预算.*?(?:通过|批准)"), "budget_approved", False),
    (re.compile(r"税收政策"), "national_tax_policy_received", True),
    (re.compile(r"央企|中央企业"), "central_soe_rules_issued", False),
    (re.compile(r"(?:环保部|环境保护部|生态环境部|部(?!门)).*?修订"), "ministry_revision_published", False),
    (re.compile(r"省.*?(?:文件|方案|办法|制度|规定|意见|通知|标准|细则|政策)"), "provincial_document_issued", False),
    (re.compile(r"(?:国家|国务院|中央).*?(?:文件|方案|办法|制度|规定|意见|通知|政策)"),
     "national_document_issued", False),
    (re.compile(r"部(?!门).*?(?:文件|方案|办法|制度|规定|意见|通知|政策)"), "ministry_document_issued", False),
    (re.compile(r"市.*?(?:文件|方案|办法|制度|规定|意见|通知|政策)"), "city_document_issued", False),
    (re.compile(r"文件"), "policy_document_issued", True),
)

# Generic names for events the table does not know, by the verb that fires them.
_GENERIC_EVENTS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^收到"), "document_received"),
    (re.compile(r"出台|发布|印发|下发|公布|颁布|^待"), "document_issued"),
    (re.compile(r"发生|出现"), "event_occurred"),
    (re.compile(r"通过|批准"), "approval_given"),
    (re.compile(r"施行|实施|生效"), "rules_take_effect"),
)


def _event(text: str, *, offset: Offset | None = None, open_note: str | None = None,
           sync_text: str | None = None) -> _Event:
    """Name the event in ``text`` ("待省相关文件出台" → provincial_document_issued).

    An event the table does not know gets a generic name by its verb, and is
    flagged ambiguous so a person binds it to the right trigger.
    """
    known = next(((name, per_event) for pattern, name, per_event in _EVENT_KINDS if pattern.search(text)), None)
    if known is not None:
        return _Event(event=known[0], text=text, per_event=known[1], offset=offset, open_note=open_note,
                      sync_text=sync_text)
    name = next((n for p, n in _GENERIC_EVENTS if p.search(text)), "external_event")
    note = f"unrecognised event {text!r}: generic name {name!r}; bind it to a plan trigger and confirm"
    description = _LEAD.sub("", text) or text
    return _Event(event=name, text=text, offset=offset, open_note=open_note, sync_text=sync_text,
                  ambiguous=True, notes=(note,), description=description)


_LEAD = re.compile(r"^(?:应当|应|须|要|必须|可以|并)?(?:在|于|自|从)?")
"""Words before an event that are not the event ("应当自受理申请" → "受理申请")."""


def _b_wait(m: re.Match[str], ctx: _Ctx) -> _Piece:
    event = _event(m.string[m.start():m.end("ev")])  # with its lead: "待省相关文件出台", "收到…文件"
    return event.promptly(m.group("prompt")) if m.group("prompt") else event


def _b_next_day(m: re.Match[str], ctx: _Ctx) -> _Piece:
    """"收到办结工单的次日回访": the day after the event; "…的当日": the same day."""
    return _event(m.string[m.start():m.end("ev")], offset=Offset(unit="days", amount=0 if m.group("same") else 1))


def _b_since(m: re.Match[str], ctx: _Ctx) -> _Piece:
    return _event(m.group("ev"), open_note=f"{m.group(0)} states no window after the event: "
                                           "the configured default applies")


def _b_sync(m: re.Match[str], ctx: _Ctx) -> _Piece:
    return _event(m.group("ev"), offset=Offset(unit="days", amount=0), sync_text=m.group(0))


def _b_after(m: re.Match[str], ctx: _Ctx) -> _Piece:
    event = _event(m.group("ev"))
    if m.string.startswith("的时间要求", m.end()) or m.string.startswith("的要求", m.end()):
        event = replace(event, open=False, notes=event.notes + (
            f"{m.group(0)}的时间要求: the window is set by that document; none is stated here, "
            "the configured default applies",))
    return event.promptly(m.group("prompt")) if m.group("prompt") else event

def _b_condition(m: re.Match[str], ctx: _Ctx) -> _Piece:
    """"发生修改、废止等情况,及时更新", "遇重大险情,要在第一时间报告": each occurrence of a condition
    opens a window (the one after it, or 及时 / 随时: the configured default)."""
    return replace(_event(m.group("ev") or m.group("ev2") or m.group("ev3")), per_event=True)


def _b_after_any(m: re.Match[str], ctx: _Ctx) -> _Piece:
    """"国家核准考试成绩后", "验收合格后": an event of any wording, no window. Beside a firmer deadline it
    is a step before it ("审核后,于8月31日前报送") and is dropped; alone it is a generic trigger (flagged)."""
    event = replace(_event(m.group("ev")), weak=True)
    return event.promptly(m.group("prompt")) if m.group("prompt") else event


def _window_offset(unit: str, amount: int) -> Offset:
    """The offset of "N unit" (周 is 7 days; minutes round up to whole hours: the contract counts hours)."""
    if unit == "分钟":
        return Offset(unit="hours", amount=-(-amount // 60))
    return Offset(unit=_UNITS[unit], amount=amount * _DAYS_PER.get(unit, 1))


def _minutes_note(unit: str, amount: int) -> str | None:
    if unit != "分钟":
        return None
    return f"{amount}分钟: the contract counts whole hours; rounded up to {-(-amount // 60)} hour(s)"


def _b_window(m: re.Match[str], ctx: _Ctx) -> _Piece:
    unit, amount = m.group("u"), int(m.group("n"))
    return _Window(offset=_window_offset(unit, amount), text=m.group(0), note=_minutes_note(unit, amount))


def _b_window_range(m: re.Match[str], ctx: _Ctx) -> _Piece | None:
    """"5—7个工作日", "1—2年": a window given as a range, read at its upper bound (flagged)."""
    low, high, unit = int(m.group("lo")), int(m.group("n")), m.group("u")
    if not 0 < low < high:
        return None
    return _Window(offset=_window_offset(unit, high), text=m.group(0),
                   note=f"{m.group(0)}: a range, read at its upper bound ({high}{unit}); {low}{unit} may be the aim")


def _b_immediately(m: re.Match[str], ctx: _Ctx) -> _Piece:
    """"立即报告": a window of no time at all after the event named before it."""
    return _Window(offset=Offset(unit="hours", amount=0), text=m.group(0),
                   note=f"{m.group(0)} (immediately): read as 0 hours; the configured default may fit better")


def _b_extend(m: re.Match[str], ctx: _Ctx) -> _Piece:
    """"可以延长十日", "延长期限不得超过30日", "延长到10个工作日": a longer limit, granted case by case."""
    unit, amount = m.group("u") or m.group("u2"), int(m.group("n") or m.group("n2"))
    total = "到" in m.group(0) or "至" in m.group(0)
    note = (f"{m.group(0)}: the extended limit in total, counted from the first event"
            if total else f"{m.group(0)}: an extension added when it is granted (counted from the end of the "
                          "first limit); or the total counted from the first event")
    return Triggered(event="time_limit_extended", description="延长办理期限 (an extension is granted)",
                     offset=_window_offset(unit, amount), ambiguous=True, note=note)


def _b_since_any(m: re.Match[str], ctx: _Ctx) -> _Piece:
    """"自受理申请之日起", "自该政府信息形成或者变更之日起": any event wording after 自/从."""
    return _event(m.group("ev"), open_note=f"{m.group(0)} states no window after the event: "
                                           "the configured default applies")


def _b_after_window(m: re.Match[str], ctx: _Ctx) -> _Piece:
    """"信息生成后15个工作日", "接到建议、提案的10日内": an event of any wording closed by its window."""
    event = _event(m.group("ev"))
    return event.with_window(_Window(offset=_window_offset(m.group("u"), int(m.group("n"))), text=m.group("w")))


def _b_no_deadline(m: re.Match[str], ctx: _Ctx) -> _Piece:
    """Text with a time word but no deadline: an effective date, a start alone, a deadline set elsewhere."""
    raise ctx.error("no-deadline", f"{m.group(0)!r} is not a deadline (an effective date, a start, or a "
                                   "time limit set elsewhere)")

