"""The compiler from 完成时限 (deadline) phrases to deadline specs.

A plan's deadline cell says "2016年12月底前完成", "待省相关文件出台后" or
"中考3月高考11月"; a requirement's text may carry its own rhythm or window
("每季度向社会公开", "最迟不超过3个工作日"). This module reads those phrases
into the typed specs of :mod:`duban.engine.deadlines.spec`, and finds the ones
written inside running text.

It is a small grammar in three stages, each a table rather than a pile of ifs:

1. **Normaliser** (:func:`normalise`): NFKC (full-width digits and
   punctuation become ASCII), HTML tags left by the extraction become clause
   breaks, whitespace goes (the seed has "2016 年 12 月底前", "待省相关文 件出台后"),
   Chinese numerals before a unit become digits ("二十日" → "20日", "两个工作日"
   → "2个工作日"), and synonyms collapse ("以前" → "前", "月末" → "月底").
2. **Forms** (:data:`_FORMS`): an ordered table of regular expressions, each
   with a cheap keyword pre-filter and a builder. A phrase is cut into clauses
   at ``，；。：``; each clause is read left to right: the first form (in table
   order) that matches is taken, and the text before and after it is read the
   same way. Text with no time words around a form (a subject, a verb,
   "完成", "向社会公开") is ignored; left-over time words ("6月30日前和7月")
   are an error, never silently dropped.
3. **Combination** (:func:`_combine`): the pieces become one spec. A bare
   window ("应在24小时内") fills the event before it ("…突发事件发生后"), a
   start ("自2016年起") attaches to the rhythm after it, a qualifier ("按照省财
   政厅相关部署") becomes a note, and several deadlines become a composite.

Conventions (documented with examples in ``docs/deadlines.md``): "X月前" is
*before* month X (the last day of month X-1), "X月" and "X月底" the last day of
month X; a date without a year takes the plan year, and without a plan year it
is an error (``needs-plan-year``); impossible dates are errors
(``impossible-date``), never shifted; softening hedges (力争, 原则上) are
recorded in the note; genuinely vague readings (定期, 适时, 按…规定) are flagged
``ambiguous`` with a note saying which reading was chosen.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from calendar import monthrange
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Protocol, TypeAlias

from .spec import (
    Composite,
    DeadlineSpec,
    Fixed,
    Offset,
    OffsetUnit,
    Ongoing,
    Recurring,
    Relative,
    Spec,
    Triggered,
)
from ...errors import CalendarYearMissing, PhraseError

__all__ = [
    "KNOWN_FORMS",
    "TextDeadline",
    "WorkdayCounter",
    "cn_to_int",
    "compile_phrase",
    "extract_text_deadlines",
    "normalise",
]


class WorkdayCounter(Protocol):
    """What the compiler needs of :class:`duban.engine.deadlines.calendar.WorkingCalendar`."""

    def add_workdays(self, start: dt.date, n: int) -> dt.date: ...


# =========================================================================== 1. normaliser

_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4,
              "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}


def cn_to_int(text: str) -> int:
    """A Chinese numeral as an integer: "十二" → 12, "三十一" → 31, "二〇一六" → 2016.

    Without 十/百 the characters are read digit by digit (years are written
    "二〇一六"); with them, positionally ("一百零五" → 105, "十" → 10).
    """
    if "十" not in text and "百" not in text:
        return int("".join(str(_CN_DIGITS[c]) for c in text))
    total = digit = 0
    for c in text:
        if c == "百":
            total += (digit or 1) * 100
            digit = 0
        elif c == "十":
            total += (digit or 1) * 10
            digit = 0
        else:
            digit = _CN_DIGITS[c]
    return total + digit


_LITERALS: dict[str, str] = {
    "以前": "前", "之前": "前", "以内": "内", "之内": "内", "月份": "月", "年度": "年",
    "年末": "年底", "月末": "月底", "季度末": "季度底", "个星期": "周", "星期": "周",
}
"""Synonyms that read the same; the grammar only knows the right-hand forms."""

_Step: TypeAlias = tuple[re.Pattern[str], Callable[[re.Match[str]], str]]

_STEPS: tuple[_Step, ...] = (
    # HTML left by the PDF extraction ("<p>全年工作</p> <p>2016年12月底前完成</p>"): clause breaks.
    (re.compile(r"<[^<>]*>"), lambda m: ";"),
    (re.compile(r"\s+"), lambda m: ""),
    # Chinese numerals, only before a unit, so "统一部署" and "一扇门" stay text.
    (re.compile(r"[零〇一二两三四五六七八九十百]+(?=个|年|月|日|号|季|天|小时|次|周|星期|工作日|旬)"),
     lambda m: str(cn_to_int(m.group()))),
    (re.compile(r"(?<=\d)号"), lambda m: "日"),
    (re.compile(r"(?<=[每按\d])季(?!度)"), lambda m: "季度"),  # "每季" / "一季" (not "季节")
    (re.compile("|".join(sorted(_LITERALS, key=len, reverse=True))), lambda m: _LITERALS[m.group()]),
)


def normalise(phrase: str) -> str:
    """The canonical text the grammar reads (see the module docstring, stage 1)."""
    text = unicodedata.normalize("NFKC", phrase)
    for pattern, repl in _STEPS:
        text = pattern.sub(repl, text)
    return text


def _normalise_mapped(text: str) -> tuple[str, list[int]]:
    """:func:`normalise` plus, for every output character, its index in ``text``.

    In-text extraction matches on the normalised text but must report spans
    of the original (with its spaces and full-width digits), so every step
    keeps a map. NFKC is applied per character, which equals the whole-string
    form for the CJK/ASCII text of plans.
    """
    chars: list[str] = []
    index: list[int] = []
    for i, ch in enumerate(text):
        norm = ch if ch.isascii() else unicodedata.normalize("NFKC", ch)
        chars.append(norm)
        index.extend([i] * len(norm))
    s = "".join(chars)
    for pattern, repl in _STEPS:
        if pattern.search(s) is None:
            continue
        out: list[str] = []
        new_index: list[int] = []
        pos = 0
        for m in pattern.finditer(s):
            a, b = m.span()
            out.append(s[pos:a])
            new_index.extend(index[pos:a])
            r = repl(m)
            out.append(r)
            # The replacement spans the match: its last character maps to the match's last.
            new_index.extend(index[a] if k < len(r) - 1 else index[b - 1] for k in range(len(r)))
            pos = b
        out.append(s[pos:])
        new_index.extend(index[pos:])
        s, index = "".join(out), new_index
    return s, index


# =========================================================================== pieces

@dataclass(frozen=True, slots=True)
class _Window:
    """A bare window with no event of its own ("应在24小时内", "最迟不超过3个工作日")."""

    offset: Offset
    text: str


@dataclass(frozen=True, slots=True)
class _Start:
    """"自2016年起": when a rhythm starts; attaches to the rhythm after it."""

    date: dt.date
    text: str


@dataclass(frozen=True, slots=True)
class _Note:
    """A qualifier that is not a deadline ("按照省财政厅相关部署"), kept as a note.

    ``alone`` is the reading when the phrase holds nothing but the qualifier
    (``None``: then the phrase has no deadline at all, e.g. "力争完成").
    """

    text: str
    alone: Spec | None = None


@dataclass(frozen=True, slots=True)
class _Vague:
    """A vague adverb (定期, 适时, 及时): a deadline only when nothing firmer is near."""

    word: str
    spec: Ongoing


@dataclass(frozen=True, slots=True)
class _Event:
    """An outside event, not yet closed: a window in a later clause may still set its offset.

    ``event == "plan_published"`` builds a relative spec instead of a triggered one.
    """

    event: str
    text: str
    per_event: bool = False
    offset: Offset | None = None
    open: bool = True
    ambiguous: bool = False
    notes: tuple[str, ...] = ()
    open_note: str | None = None     # added (and ambiguous set) if no window ever closes it
    sync_text: str | None = None     # "与文件同步": the same day is the aim, a window the limit
    window_text: str | None = None   # the window that closed the event, for the notes

    def with_window(self, window: _Window) -> _Event:
        return replace(self, offset=window.offset, open=False, window_text=window.text)

    def promptly(self) -> _Event:
        return replace(self, open=False, notes=self.notes + (_PROMPT_NOTE,))

    def finish(self) -> Spec:
        """The spec this event stands for, with the notes its reading needs."""
        notes, ambiguous = list(self.notes), self.ambiguous
        if self.sync_text:
            notes.insert(0, f"{self.sync_text}: the same day is the aim; {self.window_text} is the limit"
                         if self.window_text else f"{self.sync_text}: due the same day as the event")
        if self.offset is None and self.open and self.open_note:
            notes.append(self.open_note)
            ambiguous = True
        if self.event == "plan_published":
            offset = self.offset
            if offset is None:
                offset = Offset(unit="days", amount=0)
                notes.append(f"{self.text}: no window stated; read as due on the day of publication")
                ambiguous = True
            return Relative(anchor="plan_published", offset=offset, ambiguous=ambiguous, note=_join(notes))
        return Triggered(event=self.event, offset=self.offset, per_event=self.per_event,
                         ambiguous=ambiguous, note=_join(notes))


_Piece: TypeAlias = Spec | _Event | _Window | _Start | _Note | _Vague

_PROMPT_NOTE = "及时: promptly; no window stated, the configured default applies"


def _join(notes: list[str] | tuple[str, ...]) -> str | None:
    return "; ".join(dict.fromkeys(n for n in notes if n)) or None


def _with_notes(spec: Spec, notes: list[str] | tuple[str, ...], *, ambiguous: bool = False) -> Spec:
    if not notes and not ambiguous:
        return spec
    merged = _join([spec.note or "", *notes])
    return replace(spec, note=merged, ambiguous=spec.ambiguous or ambiguous)


# =========================================================================== context

_MIN_YEAR, _MAX_YEAR = 1000, 9998
"""Years the grammar reads (X月前 in January and 明年 step one year either way)."""


class _Ctx:
    """One compilation: the phrase (for error messages) and the plan year."""

    __slots__ = ("phrase", "plan_year")

    def __init__(self, phrase: str, plan_year: int | None) -> None:
        self.phrase = phrase
        self.plan_year = plan_year

    def error(self, code: str, message: str) -> PhraseError:
        forms = KNOWN_FORMS if code == "unknown-phrase" else ()
        return PhraseError(self.phrase, message, code=code, known_forms=forms)

    def year(self, token: str | None, what: str) -> int:
        """A year token: digits, or 今/本/当 (the plan year), 明/次 (the next), absent (the plan year)."""
        if token is not None and token.isdigit():
            year = int(token)
            if not _MIN_YEAR <= year <= _MAX_YEAR:
                raise self.error("impossible-date", f"{what!r}: year {token} is outside {_MIN_YEAR}–{_MAX_YEAR}")
            return year
        if self.plan_year is None:
            raise self.error("needs-plan-year",
                             f"{what!r} names no year and no plan year was given (pass plan_year / --plan-year)")
        return self.plan_year + (1 if token in ("明", "次") else 0)

    def date(self, year: int, month: int, day: int, what: str) -> dt.date:
        self.check_month(month, what)
        if not 1 <= year <= 9999:
            raise self.error("impossible-date", f"{what!r}: there is no year {year}")
        days = monthrange(year, month)[1]
        if not 1 <= day <= days:
            raise self.error("impossible-date", f"{what!r} is not a date: {year}-{month:02d} has {days} days")
        return dt.date(year, month, day)

    def check_month(self, month: int, what: str) -> None:
        if not 1 <= month <= 12:
            raise self.error("impossible-date", f"{what!r}: there is no month {month}")

    def ymd(self, token: str | None, month: int, day: int, what: str) -> dt.date:
        """A date whose year may come from the plan; impossible in every year → impossible-date first."""
        if token is None or not token.isdigit():
            self.check_day(month, day, what)  # before asking for the plan year
        return self.date(self.year(token, what), month, day, what)

    def check_day(self, month: int, day: int, what: str) -> None:
        """Day ``day`` of ``month`` exists in some year (2000 is a leap year: 2月29日 passes)."""
        self.check_month(month, what)
        if not 1 <= day <= monthrange(2000, month)[1]:
            raise self.error("impossible-date", f"{what!r} is not a date: month {month} never has day {day}")


def _month_end(year: int, month: int) -> dt.date:
    return dt.date(year, month, monthrange(year, month)[1])


# =========================================================================== 2. forms and builders

_Builder: TypeAlias = Callable[[re.Match[str], _Ctx], _Piece]


@dataclass(frozen=True, slots=True)
class _Form:
    """One phrase form: a pre-filter, a pattern, a builder, and how to explain it."""

    name: str
    keys: tuple[str, ...]          # the clause must contain one of these (cheap check first)
    pattern: re.Pattern[str]
    build: _Builder
    describe: str
    examples: tuple[str, ...]


_Y = r"(?:(?P<y>\d{4}|[今本当明次])年)?"
_EV = r"[^,;:()]"
_VERBS = r"修订发布|出台|发布|印发|下发|公布|颁布|施行|实施|生效|发生|出现"
_UNITS: dict[str, OffsetUnit] = {
    "工作日": "working_days", "个工作日": "working_days", "日": "days", "天": "days",
    "小时": "hours", "个月": "months", "年": "years", "周": "days", "个周": "days",
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
    return _Event(event=name, text=text, offset=offset, open_note=open_note, sync_text=sync_text,
                  ambiguous=True, notes=(note,))


def _b_wait(m: re.Match[str], ctx: _Ctx) -> _Piece:
    event = _event(m.string[m.start():m.end("ev")])  # with its lead: "待省相关文件出台", "收到…文件"
    return event.promptly() if m.group("prompt") else event


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
    return event.promptly() if m.group("prompt") else event


def _b_rhythm(m: re.Match[str], ctx: _Ctx) -> _Piece:
    text = m.group(0)
    freq = {"月": "monthly", "季度": "quarterly", "半年": "semiannual", "年": "annual"}[m.group("per")]
    months: tuple[int, ...] | None = None
    if m.group("m1"):
        first, last = int(m.group("m1")), int(m.group("m2"))
        ctx.check_month(first, text)
        ctx.check_month(last, text)
        # A season may wrap the year end ("11-3月": the heating season).
        months = tuple(sorted((first - 1 + k) % 12 + 1 for k in range((last - first) % 12 + 1)))
    day: int | str | None = "last" if m.group("end") else None
    if m.group("am"):
        if freq != "annual" or months is not None:
            raise ctx.error("unknown-phrase", f"{text!r}: a month after the rhythm only reads with 每年 (每年3月)")
        months = (int(m.group("am")),)
        ctx.check_month(months[0], text)
    if m.group("d"):
        day = int(m.group("d"))
        if freq == "annual" and months and len(months) == 1:
            ctx.check_day(months[0], day, text)
        elif freq != "monthly":
            raise ctx.error("unknown-phrase", f"{text!r}: a day of the month only reads with 每月 or 每年M月")
        elif not 1 <= day <= 31:
            raise ctx.error("impossible-date", f"{text!r}: there is no day {day} in a month")
    start = _start_date(m, ctx) if m.group("sy") else None
    return Recurring(freq=freq, months=months, day=day, start=start)  # type: ignore[arg-type]


def _start_date(m: re.Match[str], ctx: _Ctx) -> dt.date:
    month = int(m.group("sm") or 1)
    ctx.check_month(month, m.group(0))
    return ctx.date(int(m.group("sy")), month, int(m.group("sd") or 1), m.group(0))


def _b_start(m: re.Match[str], ctx: _Ctx) -> _Piece:
    return _Start(date=_start_date(m, ctx), text=m.group(0))


_PAIR = re.compile(r"(?P<label>[^\d,;:()年月日每季前底内起]{1,4}?)(?P<m>\d{1,2})月")


def _b_pairs(m: re.Match[str], ctx: _Ctx) -> _Piece:
    pairs = [(p.group("label"), int(p.group("m"))) for p in _PAIR.finditer(m.group(0))]
    for _, month in pairs:
        ctx.check_month(month, m.group(0))
    note = "; ".join(f"{label}: {month}月" for label, month in pairs) + " (each year)"
    return Recurring(freq="annual", months=tuple(sorted({month for _, month in pairs})), note=note)


def _b_whole_year(m: re.Match[str], ctx: _Ctx) -> _Piece:
    return Ongoing(until=dt.date(ctx.year(m.group("y"), m.group(0)), 12, 31))


def _b_ongoing(m: re.Match[str], ctx: _Ctx) -> _Piece:
    return Ongoing(until=None)


_VAGUE_NOTES = {
    "定期": "定期 (periodically) states no rhythm: read as open-ended ongoing work with the configured "
            "check-ins; set a rhythm if the unit has one",
    "不定期": "不定期 (from time to time): no rhythm; read as open-ended ongoing work",
    "适时": "适时 (when appropriate): no date; read as open-ended ongoing work",
    "及时": "及时 (promptly) with no event named: read as open-ended ongoing work",
    "视情": "视情 (as the situation requires): no date; read as open-ended ongoing work",
    "尽快": "尽快 (as soon as possible): no date; read as open-ended ongoing work; set a date",
    "随时": "随时 (at any time): no date; read as open-ended ongoing work",
}


def _b_vague(m: re.Match[str], ctx: _Ctx) -> _Piece:
    word = m.group(0)
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


def _b_iso(m: re.Match[str], ctx: _Ctx) -> _Piece:
    return Fixed(due=ctx.ymd(m.group("y"), int(m.group("m")), int(m.group("d")), m.group(0)))


_TEN_DAYS = {"上旬": 10, "中旬": 20}


def _b_month(m: re.Match[str], ctx: _Ctx) -> _Piece:
    text, month, mod = m.group(0), int(m.group("m")), m.group("mod")
    ctx.check_month(month, text)
    year = ctx.year(m.group("y"), text)
    if mod in _TEN_DAYS:
        return Fixed(due=dt.date(year, month, _TEN_DAYS[mod]))
    if m.group("b") and mod is None:  # "X月前": before month X begins
        return Fixed(due=dt.date(year - 1, 12, 31) if month == 1 else _month_end(year, month - 1))
    return Fixed(due=_month_end(year, month))


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
    return Fixed(due=dt.date(ctx.year(m.group("y"), m.group(0)) - 1, 12, 31))


def _b_reports(m: re.Match[str], ctx: _Ctx) -> _Piece:
    freq = {"月": "monthly", "季": "quarterly", "半年": "semiannual", "年": "annual"}[m.group("per")]
    return Recurring(freq=freq)  # type: ignore[arg-type]


def _b_window(m: re.Match[str], ctx: _Ctx) -> _Piece:
    unit, amount = m.group("u"), int(m.group("n"))
    return _Window(offset=Offset(unit=_UNITS[unit], amount=amount * _DAYS_PER.get(unit, 1)),
                   text=m.group(0))


def _form(name: str, keys: tuple[str, ...], pattern: str, build: _Builder, describe: str,
          *examples: str) -> _Form:
    return _Form(name=name, keys=keys, pattern=re.compile(pattern), build=build,
                 describe=describe, examples=examples)


_FORMS: tuple[_Form, ...] = (
    # -- triggered and relative: an event, then (maybe) a window
    _form("wait", ("待",), rf"待(?P<ev>{_EV}{{1,40}}?)(?:以)?后(?P<prompt>及时)?", _b_wait,
          "待…后: triggered, dormant until the thing awaited happens (offset null unless a window follows)",
          "待省相关文件出台后", "待省文件出台后20日内"),
    _form("received", ("收到",), rf"收到(?P<ev>{_EV}{{1,40}}?)(?:以)?后(?P<prompt>及时)?", _b_wait,
          "收到…后[及时]: triggered by receiving a document; 及时 → offset null (the configured default)",
          "收到国家税收政策文件后及时转发"),
    _form("since", ("之日",), rf"(?:自|从)?(?P<ev>{_EV}{{1,40}}?(?:{_VERBS}))之日(?:起)?", _b_since,
          "…之日起[N个工作日内]: triggered from the day of the event; without a window it is ambiguous",
          "省文件发布之日起", "自省文件发布之日起10个工作日内"),
    _form("sync", ("同步",), rf"与(?P<ev>{_EV}{{1,12}}?)同步", _b_sync,
          "与…同步[，最迟不超过N个工作日]: triggered per event, the same day (or the stated limit)",
          "与文件同步公开，最迟不超过3个工作日"),
    _form("after", ("后",),
          rf"(?P<ev>{_EV}{{0,40}}?(?:{_VERBS}|(?:通过|批准){_EV}{{0,12}}?))(?:以)?后(?P<prompt>及时)?",
          _b_after,
          "…(出台/发布/通过/发生)后[N日内]: triggered by the event (本方案公布后 → relative to the plan's "
          "publication)",
          "本方案公布后30个工作日内", "在市人大通过市级部门预算后20日内",
          "特别重大、重大突发事件发生后，应在24小时内", "按环保部修订发布后的时间要求完成"),
    # -- recurring
    _form("rhythm", ("每", "按"),
          r"(?:(?:自|从)?(?P<sy>\d{4})年(?:(?P<sm>\d{1,2})月(?:(?P<sd>\d{1,2})日)?)?(?:起|开始))?"
          r"(?:\(?(?P<m1>\d{1,2})月?[-~—–至到](?P<m2>\d{1,2})月\)?)?"
          r"(?:每|按(?=月|季度))(?P<per>月|季度|半年|年)"
          r"(?:(?P<am>\d{1,2})月)?(?:(?P<d>\d{1,2})日|(?P<end>底))?前?",
          _b_rhythm,
          "[自YYYY年起][M-N月]每月/每季度/每半年/每年[D日|底][前]: recurring, optionally restricted to "
          "months and to a day of the month",
          "每季度", "流行季节（4-10月）每月", "每月10日前", "自2016年起每季度", "每年3月底前"),
    _form("pairs", ("月",), r"(?:[^\d,;:()年月日每季前底内起]{1,4}?\d{1,2}月(?![底前内\d])){2,}", _b_pairs,
          "label M月 label N月…: annual in the listed months",
          "中考3月高考11月"),
    _form("start", ("起", "开始"),
          r"(?:自|从)?(?P<sy>\d{4})年(?:(?P<sm>\d{1,2})月(?:(?P<sd>\d{1,2})日)?)?(?:起|开始)", _b_start,
          "自YYYY年[M月]起, <rhythm>: the rhythm's start",
          "2016年起，每半年"),
    # -- ongoing and vague
    _form("whole-year", ("全年",), r"(?:(?P<y>\d{4}|[今本当明次])年)?全年", _b_whole_year,
          "[YYYY年]全年[工作]: ongoing until the end of the (plan) year",
          "全年工作", "2016年全年"),
    _form("ongoing", ("长期", "持续", "常态", "常年", "长效"), r"长期|持续|常态化|常年|长效", _b_ongoing,
          "长期坚持 / 持续推进 / 常态化: ongoing, open-ended (until null)",
          "长期坚持", "持续推进"),
    _form("rules", ("按",), rf"按(?:照)?(?P<rule>{_EV}{{0,30}}?)(?:的)?(?:有关|相关)?(?:规定|要求|部署|安排)",
          _b_rules,
          "按(照)…规定/要求/部署: a qualifier noted on the deadline beside it; 按预算法规定 reads as the "
          "Budget Law's 20 days after approval (ambiguous)",
          "按预算法规定完成", "按照省财政厅相关部署，全年工作"),
    # -- fixed dates
    _form("iso", ("-", "/", "."), r"(?<!\d)(?P<y>\d{4})[-./](?P<m>\d{1,2})[-./](?P<d>\d{1,2})(?!\d)前?",
          _b_iso, "YYYY-MM-DD / YYYY.M.D / YYYY/M/D: fixed", "2016-12-31", "2016.6.30前"),
    _form("date", ("日",), _Y + r"(?<![\d\-~])(?P<m>\d{1,2})月(?P<d>\d{1,2})日前?", _b_iso,
          "[YYYY年]M月D日[前]: fixed on that day (the plan year when no year is written)",
          "6月30日前", "2016年6月30日前", "六月二十日前"),
    _form("month", ("月",),
          _Y + r"(?<![\d\-~])(?P<m>\d{1,2})月(?!\d|起|开始)(?P<mod>底|上旬|中旬|下旬|内)?(?P<b>前)?",
          _b_month,
          "[YYYY年]M月[底|内|上旬|中旬|下旬][前]: the month's last day (旬: 10th/20th/last); "
          "M月前 (no 底) is before month M: the last day of month M-1",
          "2016年7月底前", "2017年2月", "2016年10月前", "十二月底前"),
    _form("quarter", ("季度",), _Y + r"(?<!\d)第?(?P<q>\d{1,2})季度(?P<mod>底|内)?(?P<b>前)?", _b_quarter,
          "[YYYY年][第]Q季度[底|内]: the quarter's last day (第Q季度前 is ambiguous: read as before it)",
          "2017年第1季度", "一季度"),
    _form("half", ("半年",), _Y + r"(?P<h>上|下)半年(?P<mod>底|内)?(?P<b>前)?", _b_half,
          "[YYYY年]上半年/下半年: June 30 / December 31",
          "上半年", "2016年下半年"),
    _form("year-end", ("年底", "年内"), r"(?<!\d)(?:(?P<y>\d{4}|[今本当明次])年年?|年)(?P<mod>底|内)(?P<b>前)?",
          _b_year_end,
          "[YYYY年]年底前 / 年内: December 31 (of the plan year when no year is written)",
          "2016年底前", "年底前", "年内"),
    _form("year-before", ("年前",), r"(?<!\d)(?P<y>\d{4})年前", _b_year_before,
          "YYYY年前: before the year begins (December 31 of the year before)",
          "2017年前"),
    _form("year", ("年",), r"^(?P<y>\d{4})年(?:完成)?$", _b_year_end,
          "YYYY年 (the whole clause): December 31 of that year",
          "2016年"),
    _form("reports", ("报",), r"(?<!\d)(?P<per>月|季|半年|年)度?报(?![送批备名])", _b_reports,
          "月报 / 季报 / 半年报 / 年报 (年度报告): the rhythm the report names (several: a composite)",
          "月报、季报"),
    # -- windows (an offset; fills the event before it, else a generic trigger)
    _form("window", ("内", "超过", "迟于", "最迟"),
          r"(?P<cap>最迟不超过|最迟不得超过|最长不超过|不得超过|不超过|不迟于|最迟)?(?:应|须|要)?(?:在|于)?"
          r"(?P<n>\d+)(?P<u>个?工作日|个月|小时|天|日|个?周|年)(?(cap)内?|内)",
          _b_window,
          "N个工作日内 / N日内 / N小时内 / 最迟不超过N个工作日: a window after the event named before it "
          "(alone: a triggered spec with an unnamed event, ambiguous)",
          "24小时内", "两个工作日内", "最迟不超过3个工作日"),
    _form("vague", ("定期", "适时", "及时", "视情", "尽快", "随时"), r"不定期|定期|适时|及时|视情|尽快|随时",
          _b_vague,
          "定期 / 适时 / 及时 / 视情 / 尽快 (alone): ongoing, open-ended, ambiguous",
          "后续定期进行目录调整"),
)

KNOWN_FORMS: tuple[str, ...] = tuple(
    f"{form.describe} — e.g. {' / '.join(form.examples)}" for form in _FORMS
) + (
    "several deadlines in one cell (separated by ，；。 or line breaks): composite — e.g. "
    "按预算法规定完成。全部部门决算公开完成时限2016年12月底前",
    "hedges 力争/争取/原则上 (noted), 确保/完成/前完成/以前 (read through); 遇节假日顺延 → roll to the next "
    "working day — e.g. 力争2016年底前完成 / 遇节假日顺延，2016年10月1日前",
)
"""The forms :func:`compile_phrase` reads, one line each with examples (``duban deadline forms``)."""


# =========================================================================== reading a phrase

_AFTER_DATE = ("后", "之后", "以后")
_CLAUSE_BREAK = re.compile(r"[,;:。]+")
_TIME_WORD = re.compile(r"\d|年|月|季度|半年|工作日|小时|旬|之日")
_SOFT_HEDGES = re.compile(r"原则上|力争|争取|力求|尽量|尽可能")
_COUNT = re.compile(r"(?:不少于|不低于|至少)要?[^\d,;:。()]{0,8}?(?P<n>\d+)次")


def _scan(clause: str, ctx: _Ctx) -> list[_Piece]:
    """Read one clause left to right: the first form that matches, then the text around it."""
    if not clause:
        return []
    for form in _FORMS:
        if not any(key in clause for key in form.keys):
            continue
        m = form.pattern.search(clause)
        if m is None:
            continue
        piece = form.build(m, ctx)
        if isinstance(piece, Fixed) and clause.startswith(_AFTER_DATE, m.end()):
            raise ctx.error("unknown-phrase", f"{clause!r}: '…后' after a date is a start, not a deadline")
        return [*_scan(clause[:m.start()], ctx), piece, *_scan(clause[m.end():], ctx)]
    if _TIME_WORD.search(clause):
        raise ctx.error("unknown-phrase", f"cannot read {clause!r} (no known form matches it)")
    return []


def _read_clause(clause: str, ctx: _Ctx) -> list[_Piece]:
    """One clause's pieces, with its hedges, counts and 顺延 applied to them."""
    notes: list[str] = []
    for hedge in dict.fromkeys(_SOFT_HEDGES.findall(clause)):
        notes.append(f"{hedge}: a softened deadline (a target, not a hard limit)"
                     if hedge != "原则上" else "原则上: 'in principle' — exceptions are allowed")
    if "次" in clause:
        for count in _COUNT.finditer(clause):
            notes.append(f"{count.group(0)}: at least {count.group('n')} occurrence(s)")
        clause = _COUNT.sub("", clause)
    pieces = _scan(clause, ctx)
    firm = [p for p in pieces if not isinstance(p, _Vague)]
    if firm and len(firm) < len(pieces):
        # "每月定期发布" / "…后及时转发": the vague word adds nothing to the firm deadline beside it,
        # except 及时 after an event, which says the window is the default one.
        out: list[_Piece] = []
        for p in pieces:
            if isinstance(p, _Vague):
                if p.word == "及时" and out and isinstance(out[-1], _Event) and out[-1].open:
                    out[-1] = out[-1].promptly()
                continue
            out.append(p)
        pieces = out
    if notes:
        targets = [i for i, p in enumerate(pieces) if isinstance(p, (Spec, _Event))]
        for i in targets:
            p = pieces[i]
            pieces[i] = (replace(p, notes=p.notes + tuple(notes)) if isinstance(p, _Event)
                         else _with_notes(p, notes))  # type: ignore[arg-type]
        if not targets:
            pieces.append(_Note(text="; ".join(notes)))
    return pieces


def _combine(pieces: list[_Piece], ctx: _Ctx) -> DeadlineSpec:
    """The pieces of all clauses as one spec (see the module docstring, stage 3)."""
    parts: list[Spec | _Event] = []
    notes: list[str] = []
    alone: list[Spec] = []
    start: _Start | None = None
    for p in pieces:
        if isinstance(p, _Note):
            notes.append(p.text)
            if p.alone is not None:
                alone.append(p.alone)
        elif isinstance(p, _Start):
            if start is not None:
                raise ctx.error("unknown-phrase", f"two starts ({start.text!r}, {p.text!r}) for one rhythm")
            start = p
        elif isinstance(p, _Window):
            last = parts[-1] if parts else None
            if isinstance(last, _Event) and last.open:
                parts[-1] = last.with_window(p)
            else:
                parts.append(Triggered(
                    event="unspecified_event", offset=p.offset, ambiguous=True,
                    note=f"{p.text}: a window with no event named; bind it to a plan trigger"))
        elif isinstance(p, _Vague):
            last = parts[-1] if parts else None
            if p.word == "及时" and isinstance(last, _Event) and last.open:
                parts[-1] = last.promptly()
            else:
                parts.append(p.spec)
        else:
            if start is not None and isinstance(p, Recurring) and p.start is None:
                p = replace(p, start=start.date)
                start = None
            parts.append(p)
    if start is not None:
        raise ctx.error("unknown-phrase", f"{start.text!r} starts a rhythm, but no rhythm (每月, 每季度…) follows")
    specs = [p.finish() if isinstance(p, _Event) else p for p in parts]
    if not specs:
        if not alone:
            raise ctx.error("unknown-phrase", "no deadline form found in it")
        return alone[0]  # type: ignore[return-value]
    if len(specs) == 1:
        return _with_notes(specs[0], notes)  # type: ignore[return-value]
    return Composite(parts=tuple(specs), note=_join(notes))


def _compile(phrase: str, plan_year: int | None) -> DeadlineSpec:
    ctx = _Ctx(phrase, plan_year)
    text = normalise(phrase)
    pieces: list[_Piece] = []
    for clause in _CLAUSE_BREAK.split(text):
        if clause:
            pieces.extend(_read_clause(clause, ctx))
    if "顺延" in text:  # 遇节假日顺延: a due date on a rest day moves to the next working day
        pieces = [replace(p, roll="next_workday") if isinstance(p, Fixed) else p for p in pieces]
    return _combine(pieces, ctx)


_compile_cached = lru_cache(maxsize=8192)(_compile)


def _anchor(spec: DeadlineSpec, phrase: str, published: dt.date,
            calendar: WorkdayCounter | None) -> DeadlineSpec:
    """Fill ``due`` on relative specs now that the plan's publication date is known."""
    if isinstance(spec, Composite):
        parts = tuple(_anchor(p, phrase, published, calendar) for p in spec.parts)  # type: ignore[arg-type]
        return spec if parts == spec.parts else replace(spec, parts=parts)
    if not isinstance(spec, Relative) or spec.due is not None:
        return spec
    unit, n = spec.offset.unit, spec.offset.amount
    try:
        if unit == "working_days":
            if calendar is None:
                from .calendar import WorkingCalendar

                calendar = WorkingCalendar.default()
            due = calendar.add_workdays(published, n)
        elif unit in ("days", "hours"):
            # A window in hours from a date (not an instant) ends on the day the last hour falls in.
            due = published + dt.timedelta(days=n if unit == "days" else -(-n // 24))
        else:
            months = n * (12 if unit == "years" else 1)
            year, month = divmod(published.month - 1 + months, 12)
            year += published.year
            due = dt.date(year, month + 1, min(published.day, monthrange(year, month + 1)[1]))
    except CalendarYearMissing as exc:
        return _with_notes(spec, [f"due not computed: the working-day calendar has no data for "
                                  f"{exc.year}"])  # type: ignore[return-value]
    except (OverflowError, ValueError):
        raise PhraseError(phrase, f"{n} {unit} after {published} runs past the last date (9999-12-31)",
                          code="impossible-date") from None
    return replace(spec, due=due)


def compile_phrase(phrase: str, *, plan_year: int | None = None, published: dt.date | None = None,
                   calendar: WorkdayCounter | None = None) -> DeadlineSpec:
    """Compile one 完成时限 phrase (a deadline cell, or a phrase found in a requirement's text).

    ``plan_year`` is the year that "6月30日前", "年内" and "全年工作" refer to;
    ``published`` the plan's publication date, which fills ``due`` on
    relative specs ("本方案公布后30个工作日内") using ``calendar`` (default: the
    shipped :class:`~duban.engine.deadlines.calendar.WorkingCalendar`). When the
    calendar lacks a year, ``due`` is left out and the note says why.

    Raises :class:`~duban.errors.PhraseError` with a stable ``code``:
    ``empty-phrase``, ``unknown-phrase`` (listing :data:`KNOWN_FORMS`),
    ``impossible-date``, ``needs-plan-year``.
    """
    if not isinstance(phrase, str):
        raise TypeError(f"a deadline phrase is text, got {phrase!r}")
    if plan_year is not None and (isinstance(plan_year, bool) or not isinstance(plan_year, int)
                                  or not 1 <= plan_year <= 9998):
        raise TypeError(f"plan_year must be a year (int), got {plan_year!r}")
    if published is not None and (isinstance(published, dt.datetime) or not isinstance(published, dt.date)):
        raise TypeError(f"published must be a datetime.date, got {published!r}")
    if not phrase.strip():
        raise PhraseError(phrase, "the phrase is empty", code="empty-phrase")
    spec = _compile_cached(phrase, plan_year)
    if published is not None:
        spec = _anchor(spec, phrase, published, calendar)
    return spec


# =========================================================================== 3. in-text deadlines

@dataclass(frozen=True, kw_only=True, slots=True)
class TextDeadline:
    """A deadline phrase written inside a requirement's text ("…每季度向社会公开").

    ``phrase`` is the verbatim slice ``text[span[0]:span[1]]`` (spaces and
    full-width characters as written); ``form`` names the in-text form that
    found it. Compile it with :func:`compile_phrase`.
    """

    phrase: str
    span: tuple[int, int]
    form: str


_XSTOP = r"[^。;,:!?()“”\"]"
_XUNIT = r"(?:个?工作日|个月|小时|天|日|个?周)"
_XWINDOW_TAIL = rf"(?:,?(?:应|须|要|并)?(?:在|于)?\d+{_XUNIT}内)?"
_XCOUNT_TAIL = r"(?:[^,;:。()]{0,16}?(?:不少于|不低于|至少)要?[^\d,;:。()]{0,8}?\d+次)?"
_XLEAD = re.compile(r"在|待|自|从|收到")

# In-text forms are stricter than cell forms: running text is full of dates and
# verbs that are not deadlines, so each needs a clear marker (前/底/内/后/每).
# Vague adverbs (及时, 定期, 适时) are not extracted: the cell's deadline governs.
_X_FORMS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("trigger", re.compile(rf"(?:待|收到){_XSTOP}{{1,30}}?(?:以)?后(?:及时)?{_XWINDOW_TAIL}")),
    ("trigger", re.compile(
        rf"(?:^|(?<=[。;,:!?()“”\"]))(?P<ev>{_XSTOP}{{1,40}}?(?:{_VERBS}|(?:通过|批准){_XSTOP}{{0,12}}?))"
        rf"(?:以)?后(?:及时)?{_XWINDOW_TAIL}")),
    ("window", re.compile(
        rf"(?:与{_XSTOP}{{1,8}}?同步(?:公开|发布)?,?)?(?:最迟不超过|最迟不得超过|最迟|不得超过|不超过|不迟于)"
        rf"\d+{_XUNIT}内?|(?:应|须|要)?(?:在|于)\d+{_XUNIT}内|\d+(?:个?工作日|小时)内")),
    ("rhythm", re.compile(
        r"(?:(?:自|从)?\d{4}年(?:\d{1,2}月)?(?:起|开始))?"
        r"(?:[\u4e00-\u9fff]{0,6}\(\d{1,2}月?[-~—–至到]\d{1,2}月\)|(?<!\d)\d{1,2}月?[-~—–至到]\d{1,2}月)?"
        r"每(?:月|季度|半年|年)(?:\d{1,2}月)?(?:\d{1,2}日|底)?前?" + _XCOUNT_TAIL)),
    ("date", re.compile(
        r"(?<!\d)(?:\d{4}年)?\d{1,2}月(?:\d{1,2}日|底|上旬|中旬|下旬)?前"
        r"|(?<!\d)(?:\d{4}年)?\d{1,2}月底"
        r"|(?<!\d)(?:\d{4}年)?(?:第?\d季度|[上下]半年)(?:底前?|前|内)")),
    ("year", re.compile(r"(?<![\d全每])(?:\d{4}|[今本当明次])?年(?:底前?|内)" + _XCOUNT_TAIL)),
    # "发布…月报、季报信息": the reports' rhythms (年报 alone is too often a document's name).
    ("reports", re.compile(r"(?<!\d)[月季]报(?:、(?:月|季|半年|年)报)*(?![送批备名])")),
)


def extract_text_deadlines(text: str) -> list[TextDeadline]:
    """The deadline phrases written inside ``text``, in order, without overlaps.

    Finds triggers ("在市人大通过市级部门预算后20日内", "（待…出台后）"), windows
    ("最迟不超过3个工作日"), rhythms ("自2016年起每季度", "流行季节（4-10月）每月",
    "每年…不少于1次"), dated deadlines ("6月30日前"), the plan year
    ("年内至少要听取1次") and report rhythms ("月报、季报"). Each phrase compiles with :func:`compile_phrase`
    (dates without a year need the plan year).
    """
    norm, index = _normalise_mapped(text)
    found: list[tuple[int, int, str]] = []
    for form, pattern in _X_FORMS:
        for m in pattern.finditer(norm):
            a, b = m.span()
            if "ev" in pattern.groupindex:
                lead = _XLEAD.search(norm, a, m.end("ev"))
                if lead is not None:
                    a = lead.start()
            if b > a:
                found.append((a, b, form))
    found.sort(key=lambda f: (f[0], -(f[1] - f[0])))
    out: list[TextDeadline] = []
    end = -1
    for a, b, form in found:
        if a < end:
            continue
        start, stop = index[a], index[b - 1] + 1
        phrase = text[start:stop]
        if not _readable(phrase):
            continue
        end = b
        out.append(TextDeadline(phrase=phrase, span=(start, stop), form=form))
    return out


def _readable(phrase: str) -> bool:
    """The finder proposes, the compiler confirms: a candidate it cannot read is prose, not a deadline.

    Any year serves as the plan year here (only readability is asked); an
    impossible date is kept, so the plan loader reports it with its line.
    """
    try:
        _compile_cached(phrase, 2000)
    except PhraseError as exc:
        return exc.code != "unknown-phrase"
    return True
