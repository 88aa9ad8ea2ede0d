"""Stages 2 and 3: read each clause with the forms table, then combine the pieces into one spec."""

from __future__ import annotations

from calendar import monthrange
import datetime as dt
import itertools
import re
from dataclasses import replace
from functools import lru_cache

from ..spec import Composite, DeadlineSpec, Fixed, Offset, Ongoing, Recurring, Relative, Spec, Triggered
from ....errors import CalendarYearMissing, PhraseError
from ..offsets import OffsetRangeError, WorkdayCounter, add_offset
from .facts import QUALIFIER, fact_doubts
from .forms import _FORMS, KEY_FORMS, KEYS_BY_CHAR
from .normalise import normalise
from .pieces import PROMPT_WORDS, _Ctx, _Event, _join, _Leftover, _Note, _Piece, _Start, _Vague, _Window, _with_notes

# --- reading a phrase

_AFTER_DATE = ("后", "之后", "以后")
_CLAUSE_SPLIT = re.compile(r"([,;:。]+)")
"""Clauses with their breaks: a label before a colon ("放假安排:") says what the dates after it are."""
_TIME_WORD = re.compile(
    r"(?<![\d.A-Za-z])(?<!附件)(?<!附表)(?<!编号)\d(?![\d.]*(?:次|个(?!工作日|月|小时|周)|人|家|条|件|项|篇|名|万|亿|千|%|倍|批|所|户|座|公里|米|元|以上|周年"
    r"|亩|吨|辆|公顷|平方米|[A-Za-z]|比|房|室|楼|层|号楼))"
    r"|年|月|季度|半年|工作日|小时|旬|之日|周[一二三四五六日天]")
"""Words that carry time: a part of a clause holding one must be read, never dropped. A number
that counts things ("100个社区", "800人", "不少于1次"), names a thing ("5G", "附件2", "415房间") or
makes a ratio ("1:3比例", read "1比3") is not one."""
_NAMING = re.compile(r"(?:本|上1?个?|去|前1|各)(?:年|月|周|季度)(?![底内前初中上下旬\d])"
                     r"|(?<![\d今本当明次每全上下])年(?=工作|目标|任务|总结|报告|计划|指标|考核|空气)")
"""Time words that name a period's contents ("对本月所有项目", "本年工作总结", "年空气质量指标",
"申报上一年度租房补贴", "去年"), not a deadline: left-over text holding only these may be dropped."""
_NAMING_CHARS = ("本", "年", "上", "各")
_SOFT_HEDGES = re.compile(r"原则上|力争|争取|力求|尽量|尽可能")
_COUNT = re.compile(r"(?:不少于|不低于|至少)要?[^\d,;:。()]{0,8}?(?P<n>\d+)次")
_MANY = re.compile(r"(?<!\d)(?P<n>\d+)次以上|(?:不少于|不低于|至少)(?P<n2>\d+)次")
"""Several occurrences a period ("每年…4次以上"): the rhythm gives one due a period, so flag it."""
_SCHEDULED = re.compile(r"预计|预期|(?:将|定|拟定?)于(?=\d|[今本明次]年|年)")
_APPROX = re.compile(r"(?<=[\d日月底旬年])(?:前后|左右)")
""""28日前后", "8月底左右": about that day, not by it."""
_PERIOD_OF = re.compile(r"放假|假期|休假|期间|活动时间")
"""A window that says when something *is* (a holiday, an inspection, an activity): maybe not a duty's."""
_REPORT_NAMES = re.compile(r"(?:年|季|月|半年)度?报(?![送批备名])|报表")
_YEAR_REPORT = re.compile(r"(?<![每\d上去])年(?:总结|报告|报(?![送批备名]))")
_BARE_PERIOD = re.compile(r"(?<![\d每按逐])(?:季度|半年|月|年|周|旬)")
_YEAR_LABEL = re.compile(r"(?<![\d.])(?P<y>\d{4})年")
_ANY_DOUBT = re.compile(r"预|于|前后|左右|假|期间|活动时间|报|总结")
"""One cheap search before the doubt patterns (:func:`_doubts`): most clauses hold none of them."""
_BEFORE_WORDS = re.compile(r"每(?:年|月|季度|周)(?:的)?(?P<x>[^\d,;:()每底内前月日旬]{1,8}?)前")
"""A rhythm due before something that names no day ("每年汛期前", "每月例会前")."""
_START_AFTER = ("自", "从")
_PERIOD_LABEL = re.compile(r"^(?:第?\d季度|\d{1,2}月|[上下]半年|年底)为")
"""A period naming the date after it, inside parentheses: "每季度末月20日前(四季度为12月15日前)"."""
_THIS_MONTH = re.compile(r"[本下]月")
_ONE_DASH = re.compile(r"(?<=\d日)一(?=\d)|(?<=\d月)一(?=\d{1,2}月)")
"""一 between two dates, a dash the extraction or the typist mistook ("6月5日一6月30日"): a range, flagged."""
_LENGTH = re.compile(r"\d{1,3}个?(?:工作日|天|日)")
"""A window's length in parentheses after it ("7月12-16日(5个工作日)"): it restates the window."""
_BASELINE = re.compile(r"(?:比|较|相比|与)\d{4}年(?:相比|比)?")
"""A baseline year ("比2015年削减3%"): what a target is measured against, not when it is due."""
_TREND = re.compile(r"逐年(?=提高|增长|下降|减少|改善|上升|增加|降低|扩大|提升)")
"""A trend ("优良天数逐年提高"): how a measure moves year by year, not a yearly duty."""
_TARGET = re.compile(r"\d(?:[\d.]*)(?:%|万|亿|个|户|家|所|人次|人|辆|吨|亩|公里|千米|平方米|座|项|条|套)"
                     r"|不低于|不少于|达到|以上|削减|降低|下降|提高|增长|控制在|实现|建成|完成")
"""A target a year's clause sets (a count, a share, a goal verb): "2018年全县秸秆综合利用率不低于84%"."""


def _scan(clause: str, ctx: _Ctx, keys: tuple[str, ...] | None = None) -> list[_Piece]:
    """Read one clause left to right: the first form that matches, then the text around it.

    Only forms whose pre-filter keys occur in the clause are tried, in table order (the bits of
    :data:`KEY_FORMS`); the text around a match is a part of the clause, so only the keys found in the
    clause (``keys``) are looked for in it."""
    if not clause:
        return []
    if keys is None:  # a whole clause: only the keys that start with one of its characters
        present = tuple(key for ch in set(clause) for key in KEYS_BY_CHAR.get(ch, ()) if key in clause)
    else:
        present = tuple(key for key in keys if key in clause)
    candidates = 0
    for key in present:
        candidates |= KEY_FORMS[key]
    while candidates:
        low = candidates & -candidates
        candidates ^= low
        form = _FORMS[low.bit_length() - 1]
        if form.anchor is not None and form.anchor.search(clause) is None:
            continue
        m = form.pattern.search(clause)
        if m is None:
            continue
        piece = form.build(m, ctx)
        if piece is None:
            continue
        if isinstance(piece, Fixed):
            piece = _fixed_in_context(piece, clause, m, ctx)
        elif isinstance(piece, Recurring) and piece.lag is not None:
            piece = _after_event(piece, clause, m)
        end = m.end()
        read: list[_Piece] = [piece]
        if clause.startswith("(", end) and isinstance(piece, (Fixed, Recurring)):
            read, end = _narrowed(piece, clause, end, ctx)
        left = _scan(clause[:m.start()], ctx, present)
        if (isinstance(piece, Fixed) and left and isinstance(left[-1], (Fixed, Recurring))
                and clause[:m.start()].endswith("(") and ")" in clause[end:end + 2]):
            return [*left[:-1], *_beside(left[-1], piece, "(" + m.group(0) + ")"), *_scan(clause[end:], ctx, present)]
        return [*left, *read, *_scan(clause[end:], ctx, present)]
    rest = _NAMING.sub("", clause) if any(w in clause for w in _NAMING_CHARS) else clause
    if "年" in rest:  # "比2020年下降14%" (a baseline), "逐年提高" (a trend): no time of their own
        rest = _TREND.sub("", _BASELINE.sub("", rest))
    if _TIME_WORD.search(rest):
        return [_leftover(clause, rest, ctx)]
    return []


def _leftover(clause: str, rest: str, ctx: _Ctx) -> _Leftover:
    """Unread words holding time words: a year labelling the clause, or bare period words, may be
    weighed against the clause's reading (:func:`_settle`); anything else is an unknown phrase."""
    rest = _BASELINE.sub("", rest) if "年" in rest else rest
    years = _YEAR_LABEL.findall(rest)
    if len(years) == 1 and not _TIME_WORD.search(_BARE_PERIOD.sub("", _YEAR_LABEL.sub("", rest))):
        return _Leftover(text=clause, year=int(years[0]))
    if not years and not _TIME_WORD.search(_BARE_PERIOD.sub("", rest)):
        return _Leftover(text=clause)
    raise ctx.error("unknown-phrase", f"cannot read {clause!r} (no known form matches it)")


def _narrowed(piece: Fixed | Recurring, clause: str, at: int, ctx: _Ctx) -> tuple[list[_Piece], int]:
    """A date in parentheses right after a reading: "第四季度(11月30日前)" narrows the quarter to
    its date; beside a rhythm ("每月28日(12月25日)") it is a one-off or one period's own date: both
    stay, the date flagged (the rhythm cannot hold an exception)."""
    close = clause.find(")", at)
    if close < 0:
        return [piece], at
    if isinstance(piece, Fixed) and piece.start is not None and _LENGTH.fullmatch(clause, at + 1, close):
        return [_with_notes(piece, [f"{clause[at:close + 1]}: the window's length"])], close + 1
    try:
        inner_text = _PERIOD_LABEL.sub("", clause[at + 1:close], count=1)  # "(四季度为12月15日前)"
        inner = [p for p in _scan(inner_text, ctx) if not isinstance(p, _Leftover)]
    except PhraseError:
        return [piece], at
    if len(inner) != 1 or not isinstance(inner[0], Fixed):
        return [piece], at
    return _beside(piece, inner[0], clause[at:close + 1]), close + 1


def _beside(piece: Fixed | Recurring, date: Fixed, text: str) -> list[_Piece]:
    """A reading and the date in parentheses after it (see :func:`_narrowed`)."""
    if isinstance(piece, Recurring):
        own = _own_date(piece, date, text)
        if own is not None:
            return own
        return [piece, _with_notes(date, [f"{text}: a one-off beside the rhythm, or that period's own date "
                                          "(then the rhythm's date for it does not apply)"], ambiguous=True)]
    if piece.start is None and date.start is None and piece.due - dt.timedelta(days=366) < date.due <= piece.due:
        return [_with_notes(date, [f"{text}: the narrower date in parentheses replaces {piece.due}"])]
    return [piece, _with_notes(date, [f"{text}: a second date in parentheses (a second deadline, or a "
                                      "correction of the first); confirm"], ambiguous=True)]


_ONE_OFF = re.compile(r"本次|此次|这次|首次|今年|本年")
"""Words in the parentheses that make their date a one-off ("每月28日(本次报送于5月29日)")."""
_RHYTHM_MONTHS = {"monthly": tuple(range(1, 13)), "quarterly": (3, 6, 9, 12)}


def _own_date(rhythm: Recurring, date: Fixed, text: str) -> list[_Piece] | None:
    """"每月28日(12月25日)": a date in parentheses in one of the rhythm's own months, on another day,
    is that month's date (December closes early; a holiday moves it): the rhythm without it, plus that
    date each year (flagged: or a one-off beside the rhythm)."""
    months = rhythm.months or _RHYTHM_MONTHS.get(rhythm.freq)
    if (months is None or _ONE_OFF.search(text) or date.start is not None or date.due.month not in months
            or rhythm.interval != 1 or not isinstance(rhythm.day, int) or date.due.day == rhythm.day
            or len(months) < 2):
        return None
    note = (f"{text}: that month's own date, each year (the rhythm's date does not apply to it); "
            "or a one-off beside the rhythm")
    rest = tuple(m for m in months if m != date.due.month)
    return [_with_notes(replace(rhythm, months=rest), [note], ambiguous=True),
            Recurring(freq="annual", months=(date.due.month,), day=date.due.day, ambiguous=True, note=note)]


_QUALIFIES = "the date says which things (a qualifier), not when a duty is due"
_EVENT_OF = re.compile(r"(?:于|在)?(?P<event>[^\d,;:()每当本上下]{2,20}?)的$")
"""Words ending in 的 right before "次月25日前" ("于达到标准的次月"): the month after an event, not a period."""


def _after_event(piece: Recurring, clause: str, m: re.Match[str]) -> _Piece:
    """"于达到标准的次月25日前": 次月 counts from an event, not from each month: triggered about a month
    after it, flagged (the contract has no "the next month's day N" offset)."""
    if not m.group(0).startswith(("次月", "下月", "下1个月", "下个月")):
        return piece
    before = _EVENT_OF.search(clause[:m.start()])
    if before is None or before.group("event").endswith(("月", "季度", "年", "周")):
        return piece
    event = before.group("event")
    return Triggered(event="external_event", description=event, offset=Offset(unit="months", amount=1),
                     ambiguous=True, note=f"{event}的{m.group(0)}: the month after the event (day "
                                          f"{piece.lag.amount if piece.lag else '?'}), read as about 1 month; "
                                          "or a monthly rhythm")


def _fixed_in_context(piece: Fixed, clause: str, m: re.Match[str], ctx: _Ctx) -> _Piece:
    """A date read with the words right around it: 起 / 以后 make it a start; 为 a stated fact."""
    after = clause[m.end():]
    if after.startswith("后") and m.group(0).endswith("前"):  # "6月底前后": about then (flagged by _doubts)
        return piece
    if after.startswith(_AFTER_DATE):
        if clause[:m.start()].endswith(_START_AFTER) and piece.start is None:
            return _Start(date=piece.due, text=m.group(0) + "以后", dated=True,
                          note=f"{clause[:m.start()][-1]}{m.group(0)}以后: read as the rhythm's start; "
                               "the first due may be one period later")
        raise ctx.error("unknown-phrase", f"{clause!r}: '…后' after a date is a start, not a deadline")
    if after.startswith(("起", "开始")) and piece.start is None:
        return _Start(date=piece.due, text=m.group(0) + "起", dated=True)
    qualifier = QUALIFIER.match(after)
    if qualifier is not None:
        return replace(piece, ambiguous=True, note=_join([piece.note or "", f"{m.group(0)}{qualifier.group(0)}: "
                                                          f"{_QUALIFIES}"]))
    if after.startswith("为") and not after.startswith(("为止", "为期", "为准")):
        return replace(piece, ambiguous=True, note=_join([
            piece.note or "", f"{m.group(0)}为{after[1:9]}: the dates say when something is (a fact or a "
                              "season), perhaps not when a duty is due"]))
    return piece


def _read_clause(clause: str, ctx: _Ctx, label: str = "") -> list[_Piece]:
    """One clause's pieces, with its hedges, counts and 顺延 applied to them; ``label`` is the text before
    a colon that introduced the clause ("放假安排"), read for the doubts it casts."""
    notes: list[str] = []
    for hedge in dict.fromkeys(_SOFT_HEDGES.findall(clause)):
        notes.append(f"{hedge}: a softened deadline (a target, not a hard limit)"
                     if hedge != "原则上" else "原则上: 'in principle' — exceptions are allowed")
    many = None
    if "次" in clause:
        many = next((c for c in _MANY.finditer(clause) if int(c.group("n") or c.group("n2")) > 1), None) or \
            next((c for c in _COUNT.finditer(clause) if int(c.group("n")) > 1), None)
        for count in _COUNT.finditer(clause):
            notes.append(f"{count.group(0)}: at least {count.group('n')} occurrence(s)")
        clause = _COUNT.sub("", clause)
    pieces = _yearly_list(_settle(_scan(clause, ctx), ctx), ctx)
    if many is not None:
        pieces = [_several(p, many.group(0)) for p in pieces]
    pieces = fact_doubts(_doubts(pieces, label + clause), clause)
    firm = [p for p in pieces if not isinstance(p, _Vague)]
    if firm and len(firm) < len(pieces):
        # "每月定期发布" / "…后及时转发": the vague word adds nothing to the firm deadline beside it,
        # except 及时 after an event, which says the window is the default one.
        out: list[_Piece] = []
        for p in pieces:
            if isinstance(p, _Vague):
                if p.word in PROMPT_WORDS and out and isinstance(out[-1], _Event) and out[-1].open:
                    out[-1] = out[-1].promptly(p.word)
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


def _several(piece: _Piece, count: str) -> _Piece:
    """A rhythm (or a year's work, "全年不少于4次") with several occurrences a period: one due a period
    is read, flagged."""
    note = f"{count}: several a period; read as one due each period"
    if isinstance(piece, _Vague):
        return replace(piece, spec=_with_notes(piece.spec, [note], ambiguous=True))
    if isinstance(piece, (Recurring, Ongoing)):
        return _with_notes(piece, [note], ambiguous=True)
    return piece


def _yearly_list(pieces: list[_Piece], ctx: _Ctx) -> list[_Piece]:
    """"每年6月底、12月底前": 每年 governs the whole list of its clause: one annual rhythm in those months,
    not an annual rhythm and a one-off date. A date joins when it is in the plan year (no year of its
    own) and falls on the rhythm's day (day D, else the month's last day)."""
    out: list[_Piece] = []
    for p in pieces:
        last = out[-1] if out else None
        if (isinstance(p, Fixed) and isinstance(last, Recurring) and last.freq == "annual" and last.months
                and p.start is None and p.due.year == ctx.plan_year
                and p.due.day == (last.day if isinstance(last.day, int) else monthrange(p.due.year, p.due.month)[1])):
            out[-1] = replace(last, months=tuple(sorted({*last.months, p.due.month})))
            continue
        out.append(p)
    return out


def _settle(pieces: list[_Piece], ctx: _Ctx) -> list[_Piece]:
    """Weigh a clause's unread words (:class:`_Leftover`) against what it did read.

    Alone they are an unknown phrase, as ever. Beside a reading, a year every date of the clause
    shares labels it ("2021年春节放假时间为2月11日至17日") and goes; any other year or a bare period
    word ("每年…主持召开季度防范会议") flags the reading: the grammar did not account for every time word.
    """
    left = [p for p in pieces if isinstance(p, _Leftover)]
    if not left:
        return pieces
    read = [p for p in pieces if not isinstance(p, _Leftover)]
    if not any(isinstance(p, (Spec, _Event, _Window, _Start)) for p in read):
        target = _year_target(left, ctx.plan_year)
        if target is None:
            raise ctx.error("unknown-phrase", f"cannot read {left[0].text!r} (no known form matches it)")
        return [target]
    years = {d.year for p in read if isinstance(p, Fixed) for d in (p.due, p.start) if d is not None}
    doubtful = [x.text for x in left if x.year is None or years != {x.year}]
    if not doubtful:
        return read
    return _flag(read, f"also says {'; '.join(doubtful)!r}, which is not read as a deadline: confirm the reading")


_THIS_YEAR = re.compile(r"(?<![\d去明前上])(?:今年|本年度?)(?!度?[底末初中内前\d])")


def _year_target(left: list[_Leftover], plan_year: int | None) -> Fixed | None:
    """"全市2020年改造老旧小区49个", "确保今年我区完成4.1万座改厕任务": a clause whose only time word is a
    year (今年: the plan year), beside a target, is due at that year's end (None when it sets no target)."""
    if len(left) != 1:
        return None
    year, text = left[0].year, left[0].text
    if year is None and plan_year is not None and len(_THIS_YEAR.findall(text)) == 1:
        year, text = plan_year, _THIS_YEAR.sub("", text)
    if year is None:
        return None
    if _TARGET.search(_YEAR_LABEL.sub("", _BASELINE.sub("", text))) is None:
        return None
    return Fixed(due=dt.date(year, 12, 31), note=f"{year}年 with a target: due at that year's end")


def _flag(pieces: list[_Piece], note: str) -> list[_Piece]:
    """Every reading among ``pieces`` flagged ambiguous with ``note``."""
    return [_with_notes(p, [note], ambiguous=True) if isinstance(p, Spec) else
            replace(p, ambiguous=True, notes=p.notes + (note,)) if isinstance(p, _Event) else p for p in pieces]


def _doubts(pieces: list[_Piece], clause: str) -> list[_Piece]:
    """Words that make a clause's dates doubtful: a schedule (预计, 拟于), 前后 (about), the period
    of a holiday or an activity (放假时间, 督查期间), report names beside a date (年报, 第四季度报表)."""
    if "每" in clause and "前" in clause:
        pieces = _before_something(pieces, clause)
    if _ANY_DOUBT.search(clause) is None:
        return pieces
    sched, approx, period = _SCHEDULED.search(clause), _APPROX.search(clause), _PERIOD_OF.search(clause)
    if sched or approx or period:
        out: list[_Piece] = []
        for p in pieces:
            notes = []
            if isinstance(p, Fixed) and sched:
                notes.append(f"{sched.group(0)}: when something is held or expected (a meeting, an activity); "
                             "a duty tied to it may fall due earlier")
            if isinstance(p, (Fixed, Recurring)) and approx:
                notes.append(f"{approx.group(0)}: about that day, not by it")
            if isinstance(p, Fixed) and p.start is not None and period:
                notes.append(f"{period.group(0)}: the window says when something is (a holiday, an activity); "
                             "perhaps not when a duty is due")
            out.append(_with_notes(p, notes, ambiguous=True) if notes else p)  # type: ignore[arg-type]
        pieces = out
    if _REPORT_NAMES.search(clause):
        pieces = _report_names(pieces)
    if "每" not in clause and _YEAR_REPORT.search(clause):
        pieces = _year_report(pieces, clause)
    elif "总结" in clause and "年" not in clause:
        pieces = [_with_notes(p, ["a summary due by a date with no year: this year's, or each year's (a standing "
                                  "rule)"], ambiguous=True) if isinstance(p, Fixed) and p.start is None else p
                  for p in pieces]
    return pieces


def _year_report(pieces: list[_Piece], clause: str) -> list[_Piece]:
    """"12月31日前将年度总结上报": the year's report names what is due by the one date beside it, not a rhythm."""
    dates = [p for p in pieces if isinstance(p, Fixed) and p.start is None]
    names = [p for p in pieces if isinstance(p, Recurring) and p.freq == "annual" and _bare(p)]
    if len(dates) != 1 or not names:
        return pieces
    name = _YEAR_REPORT.search(clause)
    note = f"{name.group(0) if name else '年报'}: names the report due by the date, not a yearly rhythm"
    return [_with_notes(p, [note]) if p is dates[0] else p for p in pieces if p not in names]


def _before_something(pieces: list[_Piece], clause: str) -> list[_Piece]:
    """"每年汛期前", "每月例会前": a rhythm due before something that names no day: the period's end is
    read, flagged."""
    before = _BEFORE_WORDS.search(clause)
    if before is None:
        return pieces
    note = f"{before.group(0)}: before {before.group('x')!r} each period, which names no day; the period's end is read"
    return [_with_notes(p, [note], ambiguous=True) if isinstance(p, Recurring) and p.day is None
            and p.lag is None else p for p in pieces]


def _report_names(pieces: list[_Piece]) -> list[_Piece]:
    """"1月11日前报送2017年年报和第四季度报表": the report names say what is due; the day says when.
    Beside one day-level date, the other readings become that date's flagged alternatives."""
    specs = [p for p in pieces if isinstance(p, Spec)]
    days = [p for p in specs if isinstance(p, Fixed) and p.start is None
            and p.due.day != monthrange(p.due.year, p.due.month)[1]]
    if len(specs) < 2 or len(days) != 1:
        return pieces
    others = [p for p in specs if p is not days[0]]
    note = ("report names beside the date: " + ", ".join(_describe(p) for p in others)
            + " read as what is due, not when; confirm")
    keep = _with_notes(days[0], [note], ambiguous=True)
    return [keep if p is days[0] else p for p in pieces if p is days[0] or not isinstance(p, Spec)]


def _describe(spec: Spec) -> str:
    if isinstance(spec, Fixed):
        return f"due {spec.due}"
    if isinstance(spec, Recurring):
        return f"a {spec.freq} rhythm"
    return spec.kind


def _combine(pieces: list[_Piece], ctx: _Ctx) -> DeadlineSpec:
    """The pieces of all clauses as one spec (see the module docstring, stage 3)."""
    parts: list[Spec | _Event] = []
    notes: list[str] = []
    alone: list[Spec] = []
    doubtful = False
    start: _Start | None = None
    for p in pieces:
        if isinstance(p, _Note):
            notes.append(p.text)
            doubtful = doubtful or p.ambiguous
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
                    note=_join([f"{p.text}: a window with no event named; bind it to a plan trigger", p.note or ""])))
        elif isinstance(p, _Vague):
            last = parts[-1] if parts else None
            if p.word in PROMPT_WORDS and isinstance(last, _Event) and last.open:
                parts[-1] = last.promptly(p.word)
            else:
                parts.append(p.spec)
        else:
            if start is not None and isinstance(p, Recurring) and p.start is None:
                p = replace(p, start=start.date)
                if start.note:
                    p = _with_notes(p, [start.note], ambiguous=True)
                start = None
            parts.append(p)
    if start is not None and start.dated:
        parts, start = _campaign(parts, start)
    if start is not None:
        if not any(isinstance(p, (Fixed, Recurring, Ongoing)) for p in parts):
            if start.dated:
                raise ctx.error("no-deadline", f"{start.text!r}: a date followed by 起 is a start, not a deadline")
            raise ctx.error("unknown-phrase", f"{start.text!r} starts a rhythm, but no rhythm (每月, 每季度…) follows")
        # "9月底前完成,10月开始试运行": the start of the next stage, beside the deadline it follows.
        notes.append(f"{start.text}: the start of a later stage, not a deadline")
    specs = [_unbounded_daily(p) for p in _merge([p.finish() if isinstance(p, _Event) else p
                                                  for p in _without_steps(parts)])]
    if not specs:
        if not alone:
            raise ctx.error("unknown-phrase", "no deadline form found in it")
        return alone[0]  # type: ignore[return-value]
    if len(specs) == 1:
        return _with_notes(specs[0], notes, ambiguous=doubtful)  # type: ignore[return-value]
    return Composite(parts=tuple(specs), note=_join(notes), ambiguous=doubtful)


def _campaign(parts: list[Spec | _Event], start: _Start) -> tuple[list[Spec | _Event], _Start | None]:
    """"自12月1日起…开展为期一个月的…行动": a span from a dated start is a window from it; it ends the day
    before the same day N months on (flagged unless the start is a month's first day, when whole months are
    meant; or it ends on that day)."""
    spans = [p for p in parts if isinstance(p, Relative) and p.anchor == "plan_published" and p.offset.unit == "months"]
    if len(spans) != 1 or len(parts) != 1:
        return parts, start
    n = spans[0].offset.amount
    year, month = divmod(start.date.month - 1 + n, 12)
    year += start.date.year
    day = min(start.date.day, monthrange(year, month + 1)[1])
    due = dt.date(year, month + 1, day) - dt.timedelta(days=1)
    note = f"{start.text} for {n} month(s): through {due}"
    whole = start.date.day == 1
    return [Fixed(due=due, start=start.date, ambiguous=not whole,
                  note=note if whole else f"{note}; or through {due + dt.timedelta(days=1)} (to the day)")], None


def _unbounded_daily(spec: Spec) -> Spec:
    """"由各企业每日15时前报送": a daily duty with no window is every day of the plan year as written, but
    daily reports mostly run through a campaign, a season or a period stated elsewhere: flagged."""
    if not isinstance(spec, Recurring) or spec.freq != "daily" or spec.start is not None or spec.until is not None:
        return spec
    return _with_notes(spec, ["daily with no period stated: read as every day of the plan year; a daily duty "
                              "often runs only through a campaign or period named elsewhere: confirm"], ambiguous=True)


def _without_steps(parts: list[Spec | _Event]) -> list[Spec | _Event]:
    """Events read from any wording with no window ("审核后") are steps before the firmer deadline beside
    them ("…审核后,于2020年8月31日前报我局"): dropped when anything else is read."""
    steps = [p for p in parts if isinstance(p, _Event) and p.weak and p.open]
    return [p for p in parts if p not in steps] if steps and len(steps) < len(parts) else parts


def _merge(specs: list[Spec]) -> list[Spec]:
    """Parts that explain each other become one.

    - "持续推进(2025年10月底-2025年12月底)": ongoing work over a stated window is that window (flagged).
    - "每季度末(分别在6月底、9月底、12月底)": dates that fall on a rhythm's dues say which periods
      are due: the rhythm, restricted to their months.
    """
    if len(specs) < 2:
        return specs
    specs = _beside_a_target(_lagged(_one_rhythm(_bounded(specs))))
    out: list[Spec] = []
    i = 0
    while i < len(specs):
        p = specs[i]
        nxt = specs[i + 1] if i + 1 < len(specs) else None
        if (isinstance(p, Ongoing) and p.until is None and isinstance(nxt, Fixed) and nxt.start is not None):
            out.append(_with_notes(nxt, ["ongoing work over the window stated beside it; it may go on after"],
                                   ambiguous=True))
            i += 2
            continue
        if isinstance(p, Recurring) and p.months is None and p.freq in ("monthly", "quarterly"):
            dates = list(itertools.takewhile(lambda q: isinstance(q, Fixed) and q.start is None, specs[i + 1:]))
            months = _months_on_rhythm(p, dates)  # type: ignore[arg-type]
            if months:
                out.append(replace(p, months=months))
                i += 1 + len(dates)
                continue
        out.append(p)
        i += 1
    return out


def _year_end(spec: Spec) -> bool:
    return isinstance(spec, Fixed) and spec.start is None and (spec.due.month, spec.due.day) == (12, 31)


def _beside_a_target(specs: list[Spec]) -> list[Spec]:
    """A year's target with an open-ended reading beside it ("2018年,…水质持续改善", "到2030年,每年…保持在
    35万人以上"): the ongoing work or the bare yearly level describes the target; the year's end is read,
    flagged (or ongoing / each year until then)."""
    targets = [p for p in specs if _year_end(p)]
    vague = [p for p in specs if (isinstance(p, Ongoing) and p.until is None and not p.ambiguous) or _bare(p)]
    if len(targets) != 1 or not vague or len(targets) + len(vague) != len(specs):
        return specs
    words = ", ".join("ongoing work" if isinstance(p, Ongoing) else f"a bare {p.kind} {getattr(p, 'freq', '')}"
                      for p in vague)
    return [_with_notes(targets[0], [f"{words} beside the target year: read as describing the target due at "
                                     f"{targets[0].due}; or work (a level each period) until then"], ambiguous=True)]


_PERIOD_ENDS = {"monthly": tuple(range(1, 13)), "quarterly": (3, 6, 9, 12), "semiannual": (6, 12), "annual": (12,)}


def _lagged(specs: list[Spec]) -> list[Spec]:
    """"半年报告分别于7月15日前和下一年1月15日前报送": a bare rhythm and dates each the same number of days
    after one of its periods' ends: the rhythm with that lag."""
    rhythms = [p for p in specs if _bare(p) and p.freq in _PERIOD_ENDS and p.interval == 1]  # type: ignore[union-attr]
    dates = [p for p in specs if isinstance(p, Fixed) and p.start is None]
    if len(rhythms) != 1 or len(dates) < 2 or len(rhythms) + len(dates) != len(specs):
        return specs
    rhythm: Recurring = rhythms[0]  # type: ignore[assignment]
    lags = set()
    for d in dates:
        first = d.due.replace(day=1) - dt.timedelta(days=1)  # the end of the month before
        if first.month not in _PERIOD_ENDS[rhythm.freq] or d.due.day == monthrange(d.due.year, d.due.month)[1]:
            return specs
        lags.add((d.due - first).days)
    if len(lags) != 1 or not 1 <= min(lags) <= 31:
        return specs
    lag = lags.pop()
    return [replace(rhythm, lag=Offset(unit="days", amount=lag),
                    note=_join([rhythm.note or "", f"the dates beside it fall {lag} days after its periods end"]))]


_PER_YEAR = {"daily": 365, "weekly": 52, "monthly": 12, "quarterly": 4, "semiannual": 2, "annual": 1}


def _bare(spec: Spec) -> bool:
    return isinstance(spec, Recurring) and spec.months is None and spec.day is None and spec.lag is None \
        and spec.weekday is None and spec.start is None and spec.until is None


def _bounded(specs: list[Spec]) -> list[Spec]:
    """A window beside a rhythm bounds it: "1月24日至2月14日期间,每日报送" is daily from the 24th until
    the 14th, one duty (not a window plus an endless rhythm)."""
    windows = [p for p in specs if isinstance(p, Fixed) and p.start is not None]
    rhythms = [p for p in specs if isinstance(p, Recurring) and p.start is None and p.until is None]
    if len(windows) != 1 or not rhythms or len(specs) != len(rhythms) + 1:
        return specs
    window = windows[0]
    note = f"within {window.start}–{window.due}"
    return [replace(p, start=window.start, until=window.due, note=_join([p.note or "", note]))
            for p in specs if isinstance(p, Recurring)]


def _one_rhythm(specs: list[Spec]) -> list[Spec]:
    """One rhythm named twice is one duty: "采用双月报,并于单月5日前报送" names every second month, then
    which months and day; the bare naming goes when a fuller rhythm has as many dues a year."""
    if len(specs) < 2:
        return specs
    out = list(dict.fromkeys(specs))  # the same spec twice
    full = [p for p in out if isinstance(p, Recurring) and not _bare(p)]
    for bare in [p for p in out if _bare(p)]:
        count = _PER_YEAR.get(bare.freq, 0) / bare.interval  # type: ignore[union-attr]
        twin = next((f for f in full if _dues_a_year(f) == count), None)
        if count and twin is not None:
            out.remove(bare)
    return out


def _dues_a_year(spec: Recurring) -> float:
    if spec.months is not None and spec.freq in ("annual", "quarterly", "semiannual", "monthly"):
        return len(spec.months) / spec.interval if spec.freq == "monthly" else len(spec.months)
    return _PER_YEAR.get(spec.freq, 0) / spec.interval


def _months_on_rhythm(rhythm: Recurring, dates: list[Fixed]) -> tuple[int, ...] | None:
    """The months of ``dates`` when there are two or more, all in one year, each on one of the rhythm's dues."""
    if len(dates) < 2 or len({d.due.year for d in dates}) != 1:
        return None
    months = tuple(d.due.month for d in dates)
    if len(set(months)) != len(months):
        return None
    for d in dates:
        last = monthrange(d.due.year, d.due.month)[1]
        day = last if rhythm.day in (None, "last") else rhythm.day
        if d.due.day != day or (rhythm.freq == "quarterly" and d.due.month % 3 and rhythm.day in (None, "last")):
            return None
    return tuple(sorted(months))


def _compile(phrase: str, plan_year: int | None, this_month: tuple[int, int] | None = None) -> DeadlineSpec:
    ctx = _Ctx(phrase, plan_year, this_month)
    text = normalise(phrase)
    dashed = _ONE_DASH.search(text) is not None
    if dashed:
        text = _ONE_DASH.sub("-", text)
    pieces: list[_Piece] = []
    label = condition = ""
    chunks = _CLAUSE_SPLIT.split(text)  # clause, break, clause, break, …, clause
    for i in range(0, len(chunks), 2):
        clause = chunks[i]
        if clause:
            carried = len(ctx.carried)
            read = _read_clause(clause, ctx, label)
            if len(ctx.carried) > carried:  # "…,下半年开工建设" after "2023年上半年…"
                read = _flag(read, "; ".join(ctx.carried[carried:]))
            if condition:  # "集体财务往来较多的,…应每月公布": only where the condition holds
                read = _flag(read, f"applies where {condition!r} (a condition): not to every case")
            if "的" in clause and i + 2 < len(chunks) and _condition(clause) == clause:
                # "对11月中旬依然没有完成任务的,要进行约谈问责": the date is in the condition of a consequence
                read = _flag(read, f"{clause!r}: the date is in a condition (…的), a consequence follows; "
                                   "the duty's deadline is implied")
            pieces.extend(read)
        label = clause if i + 1 < len(chunks) and ":" in chunks[i + 1] else ""
        condition = _condition(clause) if "的" in clause else ""
    pieces = _without_qualifiers(pieces)
    if dashed:
        pieces = _flag(pieces, "一 between two dates read as a dash (a range): confirm")
    if "顺延" in text:  # 遇节假日顺延: a due date on a rest day moves to the next working day
        pieces = [replace(p, roll="next_workday") if isinstance(p, Fixed) else p for p in pieces]
    if plan_year is not None:  # "2000年底前建成的小区" in a 2023 plan: a date long past is a fact
        pieces = [_with_notes(p, [f"{p.due.year} is before the plan year {plan_year}: a past date, "
                                  "perhaps a fact rather than a deadline"], ambiguous=True)
                  if isinstance(p, Fixed) and p.due.year < plan_year else p for p in pieces]
    return _combine(pieces, ctx)


def _without_qualifiers(pieces: list[_Piece]) -> list[_Piece]:
    """"到十四五期末,完成2000年底前建成的小区改造": a date qualifying a noun goes beside another reading."""
    qualifiers = [p for p in pieces if isinstance(p, Fixed) and p.note and _QUALIFIES in p.note]
    if qualifiers and any(isinstance(p, Spec) and p not in qualifiers for p in pieces):
        return [p for p in pieces if p not in qualifiers]
    return pieces


def _condition(clause: str) -> str:
    """The condition a clause ending in 的 sets for the next one ("(集体财务往来较多的"), else ""."""
    bare = clause.rstrip(")")
    return bare.rsplit("(", 1)[-1] if bare.endswith("的") else ""


_compile_cached = lru_cache(maxsize=8192)(_compile)


def _anchor(spec: DeadlineSpec, phrase: str, published: dt.date,
            calendar: WorkdayCounter | None) -> DeadlineSpec:
    """Fill ``due`` on relative specs now that the plan's publication date is known."""
    if isinstance(spec, Composite):
        parts = tuple(_anchor(p, phrase, published, calendar) for p in spec.parts)  # type: ignore[arg-type]
        return spec if parts == spec.parts else replace(spec, parts=parts)
    if not isinstance(spec, Relative) or spec.due is not None:
        return spec
    if calendar is None and spec.offset.unit == "working_days":
        from ..calendar import WorkingCalendar

        calendar = WorkingCalendar.default()
    try:
        due = add_offset(published, spec.offset, calendar)  # type: ignore[arg-type]
    except CalendarYearMissing as exc:
        return _with_notes(spec, [f"due not computed: the working-day calendar has no data for "
                                  f"{exc.year}"])  # type: ignore[return-value]
    except OffsetRangeError as exc:
        raise PhraseError(phrase, str(exc), code="impossible-date") from None
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
    # 本月 / 下月 count from the document's date: only those phrases depend on it (and are cached by it).
    this_month = (published.year, published.month) if published is not None and _THIS_MONTH.search(phrase) else None
    spec = _compile_cached(phrase, plan_year, this_month)
    if published is not None:
        spec = _anchor(spec, phrase, published, calendar)
    return spec
