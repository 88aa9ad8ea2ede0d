"""Stages 2 and 3: read each clause with the forms table, then combine the pieces into one spec."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace
from functools import lru_cache

from ..spec import Composite, DeadlineSpec, Fixed, Recurring, Relative, Spec, Triggered
from ....errors import CalendarYearMissing, PhraseError
from ..offsets import OffsetRangeError, WorkdayCounter, add_offset
from .forms import _FORMS
from .normalise import normalise
from .pieces import _Ctx, _Event, _join, _Note, _Piece, _Start, _Vague, _Window, _with_notes

# --- reading a phrase

_AFTER_DATE = ("后", "之后", "以后")
_CLAUSE_BREAK = re.compile(r"[,;:。]+")
_TIME_WORD = re.compile(
    r"\d(?![\d.]*(?:次|个(?!工作日|月|小时|周)|人|家|条|件|项|篇|名|万|亿|%|倍|批|所|户|座|公里|米|元|以上|周年))"
    r"|年|月|季度|半年|工作日|小时|旬|之日")
"""Words that carry time: a part of a clause holding one must be read, never dropped. A number
that counts things ("100个社区", "800人", "不少于1次") is not one."""
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
        if isinstance(piece, Fixed) and piece.start is None and clause.startswith(("起", "开始"), m.end()):
            raise ctx.error("no-deadline", f"{clause!r}: a date followed by 起 is a start, not a deadline")
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

