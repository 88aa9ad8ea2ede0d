"""The pieces a clause is read into, and the context of one compilation.

A form's builder returns either a finished spec or a *piece* that still needs
its neighbours: a bare window fills the event before it, a start attaches to
the rhythm after it, a qualifier becomes a note (:mod:`.compiler` combines them).
"""

from __future__ import annotations

import datetime as dt
from calendar import monthrange
from dataclasses import dataclass, replace
from typing import TypeAlias

from ..spec import Fixed, Offset, Ongoing, Relative, Spec, Triggered
from ....errors import PhraseError

# --- pieces

@dataclass(frozen=True, slots=True)
class _Window:
    """A bare window with no event of its own ("应在24小时内", "最迟不超过3个工作日")."""

    offset: Offset
    text: str
    note: str | None = None          # a doubt about the window itself (minutes rounded up to hours)


@dataclass(frozen=True, slots=True)
class _Start:
    """"自2016年起": when a rhythm starts; attaches to the rhythm after it.

    ``dated``: read from a date form ("从今年1月1日起"); without a rhythm after it the
    phrase is a start alone (an effective date), refused with ``no-deadline``.
    ``note``: a doubt the rhythm inherits ("自5月13日以后": from that day or the day after).
    """

    date: dt.date
    text: str
    dated: bool = False
    note: str | None = None


@dataclass(frozen=True, slots=True)
class _Leftover:
    """Words of a clause that no form reads: a bare period word ("召开季度防范会议") or a year that
    labels the clause ("2021年春节放假时间为…"). Beside a reading they flag it (or, a year the clause's
    dates share, are dropped); alone they are an unknown phrase (:func:`.compiler._read_clause`)."""

    text: str
    year: int | None = None


@dataclass(frozen=True, slots=True)
class _Note:
    """A qualifier that is not a deadline ("按照省财政厅相关部署"), kept as a note.

    ``alone`` is the reading when the phrase holds nothing but the qualifier
    (``None``: then the phrase has no deadline at all, e.g. "力争完成").
    """

    text: str
    alone: Spec | None = None
    ambiguous: bool = False          # the qualifier makes the deadline beside it doubtful ("即日起至")


@dataclass(frozen=True, slots=True)
class _Vague:
    """A vague adverb (定期, 适时, 及时): a deadline only when nothing firmer is near."""

    word: str
    spec: Ongoing | Fixed


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
    description: str | None = None   # the event's own words, kept for events the table does not name
    weak: bool = False               # "审核后" read from any wording: a step before a firmer deadline, dropped beside one

    def with_window(self, window: _Window) -> _Event:
        if window.note:
            return replace(self, offset=window.offset, open=False, window_text=window.text, ambiguous=True,
                           notes=self.notes + (window.note,))
        return replace(self, offset=window.offset, open=False, window_text=window.text)

    def promptly(self, word: str = "及时") -> _Event:
        """Closed by 及时 / 随时 after it: no window, the configured default applies."""
        return replace(self, open=False, notes=self.notes + (_PROMPT_NOTE.format(word=word),))

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
                         ambiguous=ambiguous, note=_join(notes), description=self.description)


_Piece: TypeAlias = Spec | _Event | _Window | _Start | _Note | _Vague | _Leftover

_PROMPT_NOTE = "{word}: promptly; no window stated, the configured default applies"
PROMPT_WORDS = ("及时", "即时", "随时")
"""Vague words that, after an event, close it with no window ("发生…情况,及时更新")."""


def _join(notes: list[str] | tuple[str, ...]) -> str | None:
    return "; ".join(dict.fromkeys(n for n in notes if n)) or None


def _with_notes(spec: Spec, notes: list[str] | tuple[str, ...], *, ambiguous: bool = False) -> Spec:
    if not notes and not ambiguous:
        return spec
    merged = _join([spec.note or "", *notes])
    return replace(spec, note=merged, ambiguous=spec.ambiguous or ambiguous)


# --- context

_MIN_YEAR, _MAX_YEAR = 1000, 9998
"""Years the grammar reads (X月前 in January and 明年 step one year either way)."""


KNOWN_FORMS_REF: list[tuple[str, ...]] = [()]
"""Filled by :mod:`.forms` once the table exists (the table imports the builders, which import this module)."""


class _Ctx:
    """One compilation: the phrase (for error messages), the plan year and, for 本月 / 下月, the
    month of the document's date (``(year, month)`` of ``published``; None when not given).

    ``written`` is the last year the phrase wrote out ("2023年上半年完成招标,下半年开工建设"): a later date
    without a year takes it, not the plan year, and is recorded in ``carried`` (the reading is flagged)."""

    __slots__ = ("phrase", "plan_year", "this_month", "written", "carried")

    def __init__(self, phrase: str, plan_year: int | None, this_month: tuple[int, int] | None = None) -> None:
        self.phrase = phrase
        self.plan_year = plan_year
        self.this_month = this_month
        self.written: int | None = None
        self.carried: list[str] = []

    def error(self, code: str, message: str) -> PhraseError:
        forms = KNOWN_FORMS_REF[0] if code == "unknown-phrase" else ()
        return PhraseError(self.phrase, message, code=code, known_forms=forms)

    def year(self, token: str | None, what: str) -> int:
        """A year token: digits, or 今/本/当 (the plan year), 明/次 (the next), absent (the plan year)."""
        if token is not None and token.isdigit():
            year = int(token)
            if not _MIN_YEAR <= year <= _MAX_YEAR:
                raise self.error("impossible-date", f"{what!r}: year {token} is outside {_MIN_YEAR}–{_MAX_YEAR}")
            self.written = year
            return year
        if token is None and self.written is not None and self.written != self.plan_year:
            self.carried.append(f"{what}: no year of its own, read in {self.written} (written before it); "
                                f"the plan year {self.plan_year} may be meant")
            return self.written
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

