"""Stages 2 and 3: read each clause with the forms table, then combine the pieces into one spec."""

from __future__ import annotations

from calendar import monthrange
import datetime as dt
import itertools
import re
from dataclasses import replace
from functools import lru_cache

from ..spec import Composite, DeadlineSpec, Fixed, Ongoing, Recurring, Relative, Spec, Triggered
from ....errors import CalendarYearMissing, PhraseError
from ..offsets import OffsetRangeError, WorkdayCounter, add_offset
from .forms import _FORMS, FORM_KEYS
from .normalise import normalise
from .pieces import _Ctx, _Event, _join, _Note, _Piece, _Start, _Vague, _Window, _with_notes

# --- reading a phrase

_AFTER_DATE = ("后", "之后", "以后")
_CLAUSE_BREAK = re.compile(r"[,;:。]+")
_TIME_WORD = re.compile(
    r"\d(?![\d.]*(?:次|个(?!工作日|月|小时|周)|人|家|条|件|项|篇|名|万|亿|%|倍|批|所|户|座|公里|米|元|以上|周年))"
    r"|年|月|季度|半年|工作日|小时|旬|之日|周[一二三四五六日天]")
"""Words that carry time: a part of a clause holding one must be read, never dropped. A number
that counts things ("100个社区", "800人", "不少于1次") is not one."""
_NAMING = re.compile(r"本(?:年|月|周|季度)(?![底内前初中上下\d])"
                     r"|(?<![\d今本当明次每全上下])年(?=工作|目标|任务|总结|报告|计划|指标|考核|空气)")
"""Time words that name a period's contents ("对本月所有项目", "本年工作总结", "年空气质量指标"),
not a deadline: left-over text holding only these may be dropped."""
_SOFT_HEDGES = re.compile(r"原则上|力争|争取|力求|尽量|尽可能")
_COUNT = re.compile(r"(?:不少于|不低于|至少)要?[^\d,;:。()]{0,8}?(?P<n>\d+)次")
_MANY = re.compile(r"(?<!\d)(?P<n>\d+)次以上|(?:不少于|不低于|至少)(?P<n2>\d+)次")
"""Several occurrences a period ("每年…4次以上"): the rhythm gives one due a period, so flag it."""
_SCHEDULED = re.compile(r"(?:将|定|拟)于(?=\d|[今本明次]年|年)")
_START_AFTER = ("自", "从")


def _scan(clause: str, ctx: _Ctx) -> list[_Piece]:
    """Read one clause left to right: the first form that matches, then the text around it."""
    if not clause:
        return []
    present = {key for key in FORM_KEYS if key in clause}
    for form in _FORMS:
        if form.keys.isdisjoint(present) or (form.anchor is not None and form.anchor.search(clause) is None):
            continue
        m = form.pattern.search(clause)
        if m is None:
            continue
        piece = form.build(m, ctx)
        if isinstance(piece, Fixed):
            piece = _fixed_in_context(piece, clause, m, ctx)
        return [*_scan(clause[:m.start()], ctx), piece, *_scan(clause[m.end():], ctx)]
    if _TIME_WORD.search(_NAMING.sub("", clause) if "本" in clause or "年" in clause else clause):
        raise ctx.error("unknown-phrase", f"cannot read {clause!r} (no known form matches it)")
    return []


def _fixed_in_context(piece: Fixed, clause: str, m: re.Match[str], ctx: _Ctx) -> _Piece:
    """A date read with the words right around it: 起 / 以后 make it a start; 为 a stated fact."""
    after = clause[m.end():]
    if after.startswith(_AFTER_DATE):
        if clause[:m.start()].endswith(_START_AFTER) and piece.start is None:
            return _Start(date=piece.due, text=m.group(0) + "以后", dated=True,
                          note=f"{clause[:m.start()][-1]}{m.group(0)}以后: read as the rhythm's start; "
                               "the first due may be one period later")
        raise ctx.error("unknown-phrase", f"{clause!r}: '…后' after a date is a start, not a deadline")
    if after.startswith(("起", "开始")) and piece.start is None:
        return _Start(date=piece.due, text=m.group(0) + "起", dated=True)
    if after.startswith("为") and not after.startswith(("为止", "为期", "为准")):
        return replace(piece, ambiguous=True, note=_join([
            piece.note or "", f"{m.group(0)}为{after[1:9]}: the dates say when something is (a fact or a "
                              "season), perhaps not when a duty is due"]))
    return piece


def _read_clause(clause: str, ctx: _Ctx) -> list[_Piece]:
    """One clause's pieces, with its hedges, counts and 顺延 applied to them."""
    notes: list[str] = []
    for hedge in dict.fromkeys(_SOFT_HEDGES.findall(clause)):
        notes.append(f"{hedge}: a softened deadline (a target, not a hard limit)"
                     if hedge != "原则上" else "原则上: 'in principle' — exceptions are allowed")
    many = None
    if "次" in clause:
        many = next((c for c in _MANY.finditer(clause) if int(c.group("n") or c.group("n2")) > 1), None)
        for count in _COUNT.finditer(clause):
            notes.append(f"{count.group(0)}: at least {count.group('n')} occurrence(s)")
        clause = _COUNT.sub("", clause)
    pieces = _scan(clause, ctx)
    if many is not None:
        pieces = [replace(p, ambiguous=True, note=_join([p.note or "", f"{many.group(0)}: several a period; "
                          "read as one due each period"])) if isinstance(p, Recurring) else p for p in pieces]
    if _SCHEDULED.search(clause):
        pieces = [_with_notes(p, [f"{_SCHEDULED.search(clause).group(0)}: when something is held (a meeting, an "
                                  "activity); a duty tied to it may fall due earlier"], ambiguous=True)
                  if isinstance(p, Fixed) else p for p in pieces]
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
            if p.word == "及时" and isinstance(last, _Event) and last.open:
                parts[-1] = last.promptly()
            else:
                parts.append(p.spec)
        else:
            if start is not None and isinstance(p, Recurring) and p.start is None:
                p = replace(p, start=start.date)
                if start.note:
                    p = _with_notes(p, [start.note], ambiguous=True)
                start = None
            parts.append(p)
    if start is not None:
        if start.dated:
            raise ctx.error("no-deadline", f"{start.text!r}: a date followed by 起 is a start, not a deadline")
        raise ctx.error("unknown-phrase", f"{start.text!r} starts a rhythm, but no rhythm (每月, 每季度…) follows")
    specs = _merge([p.finish() if isinstance(p, _Event) else p for p in parts])
    if not specs:
        if not alone:
            raise ctx.error("unknown-phrase", "no deadline form found in it")
        return alone[0]  # type: ignore[return-value]
    if len(specs) == 1:
        return _with_notes(specs[0], notes, ambiguous=doubtful)  # type: ignore[return-value]
    return Composite(parts=tuple(specs), note=_join(notes), ambiguous=doubtful)


def _merge(specs: list[Spec]) -> list[Spec]:
    """Parts that explain each other become one.

    - "持续推进(2025年10月底-2025年12月底)": ongoing work over a stated window is that window (flagged).
    - "每季度末(分别在6月底、9月底、12月底)": dates that fall on a rhythm's dues say which periods
      are due: the rhythm, restricted to their months.
    """
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


def _compile(phrase: str, plan_year: int | None) -> DeadlineSpec:
    ctx = _Ctx(phrase, plan_year)
    text = normalise(phrase)
    pieces: list[_Piece] = []
    for clause in _CLAUSE_BREAK.split(text):
        if clause:
            pieces.extend(_read_clause(clause, ctx))
    if "顺延" in text:  # 遇节假日顺延: a due date on a rest day moves to the next working day
        pieces = [replace(p, roll="next_workday") if isinstance(p, Fixed) else p for p in pieces]
    if plan_year is not None:  # "2000年底前建成的小区" in a 2023 plan: a date long past is a fact
        pieces = [_with_notes(p, [f"{p.due.year} is well before the plan year {plan_year}: a past date, "
                                  "perhaps a fact rather than a deadline"], ambiguous=True)
                  if isinstance(p, Fixed) and p.due.year < plan_year - 1 else p for p in pieces]
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
    spec = _compile_cached(phrase, plan_year)
    if published is not None:
        spec = _anchor(spec, phrase, published, calendar)
    return spec

