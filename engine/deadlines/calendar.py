"""China's official working-day calendar (工作日历), read from data files.

Each year's calendar is set by the State Council General Office's holiday
notice (国务院办公厅关于YYYY年部分节假日安排的通知, 国办发明电〔…〕N号): the
public holidays (放假) and the weekend days that become working days to make
up for them (调休上班). Everything else follows the plain rule: Monday to
Friday work, Saturday and Sunday rest. A year's calendar is unknown until its
notice appears, so duban never guesses: a computation that needs a day of a
year no data file covers raises :class:`~duban.errors.CalendarYearMissing`.

The data lives in ``rules/calendars/cn/YYYY.yaml`` (one file per notice, see
``rules/calendars/README.md``); an operator adds a year by dropping a file
into that directory or into an extra directory passed to
:meth:`WorkingCalendar.load` — no code change.

Counting convention (N个工作日内): the N-th working day *strictly after* the
start; the start day itself never counts, even when it is a working day, and
a start on a holiday is fine (2016-06-23 + 30 working days = 2016-08-04).

Speed: the calendar is compiled once into prefix counts over date ordinals
(``_cum[i]`` = working days up to day ``i``, minus one) and the sorted list of
working-day ordinals, so :meth:`WorkingCalendar.add_workdays` is two list
indexings, with no loop over days.
"""

from __future__ import annotations

import datetime as dt
import difflib
import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Sequence
from zoneinfo import ZoneInfo

import yaml

from ...errors import CalendarDataError, CalendarYearMissing, DubanError
from ...rules import CALENDARS_DIR

CHINA_TZ = ZoneInfo("Asia/Shanghai")
"""The zone of China's official calendar (北京时间); the configured ``timezone`` defaults to it."""

__all__ = [
    "CALENDAR_DIRS_ENV",
    "DEFAULT_DIR",
    "Amendment",
    "CalendarArgumentError",
    "DayInfo",
    "HolidayBlock",
    "MakeupWorkday",
    "Notice",
    "WorkingCalendar",
    "data_dirs",
]

DEFAULT_DIR: Path = CALENDARS_DIR / "cn"
"""The shipped data: one file per State Council notice, 2016 onwards."""

CALENDAR_DIRS_ENV = "DUBAN_CALENDAR_DIRS"
"""Environment variable (``os.pathsep``-separated) naming extra data directories for the CLI."""

_FILE_NAME = re.compile(r"^\d{4}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_NOTICE_NUMBER = re.compile(r"^\S+〔\d{4}〕\d+号$")
_TOP_KEYS = ("year", "notice", "amendments", "holidays", "workdays")
_NOTICE_KEYS = ("number", "title", "date", "published", "url")
_AMENDMENT_KEYS = ("number", "title", "date", "published", "url", "summary")
_HOLIDAY_KEYS = ("name", "from", "to", "source", "note")
_WORKDAY_KEYS = ("date", "for", "source", "note")
_SPILL_DAYS = 7
"""A notice may reach back this many days into the old year's December (2019's 元旦 began 2018-12-30)."""

_fromordinal = dt.date.fromordinal


class CalendarArgumentError(DubanError, ValueError):
    """A calendar computation was asked something meaningless (a negative count of working days)."""


# --------------------------------------------------------------------------- values


@dataclass(frozen=True, kw_only=True, slots=True)
class Amendment:
    """A later notice that changed a year's arrangement (2019 劳动节, 2020 春节延长)."""

    number: str
    title: str
    date: dt.date
    summary: str
    published: dt.date | None = None
    url: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class Notice:
    """Provenance of one year's calendar: the State Council notice and its amendments.

    ``date`` is the notice's own date line (成文日期); ``published`` is given
    only where the public release came later. ``source`` is the data file.
    """

    year: int
    number: str
    title: str
    date: dt.date
    amendments: tuple[Amendment, ...] = ()
    published: dt.date | None = None
    url: str | None = None
    source: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class HolidayBlock:
    """A run of rest days (放假), including the weekend days inside it."""

    name: str
    start: dt.date
    end: dt.date
    source: str
    note: str | None = None

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


@dataclass(frozen=True, kw_only=True, slots=True)
class MakeupWorkday:
    """A Saturday or Sunday worked to make up for a holiday (调休上班)."""

    date: dt.date
    for_holiday: str
    source: str
    note: str | None = None


DayKind = Literal["workday", "weekend", "holiday", "makeup_workday"]


@dataclass(frozen=True, kw_only=True, slots=True)
class DayInfo:
    """What the calendar says about one day, with the holiday it belongs to."""

    date: dt.date
    is_workday: bool
    kind: DayKind
    name: str | None = None

    @property
    def label(self) -> str:
        """A short Chinese description: 工作日 / 休息日（周末）/ 放假（春节）/ 调休上班（春节）."""
        if self.kind == "holiday":
            return f"放假（{self.name}）"
        if self.kind == "makeup_workday":
            return f"调休上班（{self.name}）"
        return "休息日（周末）" if self.kind == "weekend" else "工作日"


@dataclass(frozen=True, kw_only=True, slots=True)
class _YearData:
    notice: Notice
    holidays: tuple[HolidayBlock, ...]
    workdays: tuple[MakeupWorkday, ...]
    path: Path


# --------------------------------------------------------------------------- strict YAML


class _StringLoader(yaml.SafeLoader):
    """Every plain scalar is a string: no YAML 1.1 surprises (``NO`` → False, ``010`` → 8)."""


_StringLoader.yaml_implicit_resolvers = {}

_STR = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"


class _FileReader:
    """Reads one calendar file into :class:`_YearData`, collecting every problem.

    Each problem is ``FILE:LINE: CODE field: message``; nothing is returned
    when there is any, so a half-valid file never shapes the calendar.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.errors: list[str] = []
        self.holiday_names: set[str] = set()  # every named holiday, even one whose dates are wrong

    def err(self, node: yaml.Node | None, field: str, code: str, message: str) -> None:
        self.problem(node.start_mark.line + 1 if node is not None else 1, code, field, message)

    def problem(self, line: int, code: str, field: str, message: str) -> None:
        """Record ``FILE:LINE: CODE field: message`` (the form editors jump to, as in plan files)."""
        where = f"{code} {field}" if field else code
        self.errors.append(f"{self.path}:{line}: {where}: {message}")

    # -- node helpers

    def mapping(self, node: yaml.Node, field: str, allowed: Sequence[str],
                required: Sequence[str]) -> dict[str, yaml.Node] | None:
        if not isinstance(node, yaml.MappingNode) or node.tag != _MAP:
            self.err(node, field, "bad-type", f"expected a mapping with keys {list(allowed)}")
            return None
        out: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag != _STR:
                self.err(key_node, field, "bad-key", "keys must be plain text")
                continue
            key = key_node.value
            sub = f"{field}.{key}" if field else key
            if key in out:
                self.err(key_node, sub, "duplicate-key", f"key {key!r} appears twice")
                continue
            if key not in allowed:
                hint = difflib.get_close_matches(key, allowed, n=1)
                did = f"; did you mean {hint[0]!r}?" if hint else ""
                self.err(key_node, sub, "unknown-key", f"unknown key {key!r}; allowed: {list(allowed)}{did}")
                continue
            out[key] = value_node
        for key in required:
            if key not in out:
                self.err(node, f"{field}.{key}" if field else key, "missing-key", f"missing required key {key!r}")
        return out

    def sequence(self, node: yaml.Node, field: str) -> list[yaml.Node]:
        if isinstance(node, yaml.ScalarNode) and node.tag == _STR and node.value in ("", "[]"):
            return []
        if not isinstance(node, yaml.SequenceNode) or node.tag != _SEQ:
            self.err(node, field, "bad-type", "expected a list")
            return []
        return list(node.value)

    def text(self, node: yaml.Node | None, field: str, *, optional: bool = False) -> str | None:
        if node is None:
            return None
        if not isinstance(node, yaml.ScalarNode) or node.tag != _STR:
            self.err(node, field, "bad-type", "expected text (tags such as !!int are not allowed)")
            return None
        value = str(node.value).strip()
        if not value:
            if not optional:
                self.err(node, field, "empty", "must not be empty")
            return None
        return value

    def date(self, node: yaml.Node | None, field: str) -> dt.date | None:
        value = self.text(node, field)
        if value is None:
            return None
        if not _DATE.match(value):
            self.err(node, field, "bad-date", f"expected a date YYYY-MM-DD, got {value!r}")
            return None
        try:
            return dt.date.fromisoformat(value)
        except ValueError as exc:
            self.err(node, field, "bad-date", f"impossible date {value!r} ({exc})")
            return None

    # -- the file

    def read(self) -> _YearData | None:
        try:
            text = self.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            self.err(None, "", "unreadable", f"cannot read the file: {exc}")
            return None
        try:
            for event in yaml.parse(text, Loader=_StringLoader):
                if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                    self.problem(event.start_mark.line + 1 if event.start_mark else 1, "yaml-alias", "",
                                 "anchors and aliases (&x, *x) are not allowed; write the value out in full")
                    return None
            root = yaml.compose(text, Loader=_StringLoader)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            self.problem(mark.line + 1 if mark is not None else 1, "yaml-syntax", "",
                         f"not valid YAML: {exc}".replace("\n", " "))
            return None
        if root is None:
            self.err(None, "", "empty-file", "the file is empty")
            return None
        top = self.mapping(root, "", _TOP_KEYS, ("year", "notice", "holidays"))
        if top is None:
            return None
        year = self._year(top.get("year"))
        notice = self._notice(top.get("notice"), year)
        amendments = self._amendments(top.get("amendments"), year, notice)
        sources = {n for n in [notice.number if notice else None, *(a.number for a in amendments)] if n}
        main_source = notice.number if notice else ""
        holidays = self._holidays(top.get("holidays"), year, sources, main_source)
        workdays = self._workdays(top.get("workdays"), year, sources, main_source, holidays)
        if self.errors or year is None or notice is None:
            return None
        return _YearData(
            notice=Notice(year=year, number=notice.number, title=notice.title, date=notice.date,
                          amendments=amendments, published=notice.published, url=notice.url,
                          source=str(self.path)),
            holidays=holidays, workdays=workdays, path=self.path,
        )

    def _year(self, node: yaml.Node | None) -> int | None:
        value = self.text(node, "year")
        if value is None:
            return None
        if not re.fullmatch(r"\d{4}", value):
            self.err(node, "year", "bad-year", f"expected a four-digit year, got {value!r}")
            return None
        year = int(value)
        if _FILE_NAME.match(self.path.stem) and int(self.path.stem) != year:
            self.err(node, "year", "year-mismatch",
                     f"year {year!r} does not match the file name {self.path.name!r}")
            return None
        if not _FILE_NAME.match(self.path.stem):
            self.err(node, "year", "bad-file-name", f"calendar files are named YYYY.yaml; rename to {year}.yaml")
            return None
        return year

    def _document(self, node: yaml.Node, field: str, keys: Sequence[str],
                  required: Sequence[str]) -> Amendment | None:
        """A notice or an amendment: number (文号), title, date, optional published/url/summary.

        Both come back as an :class:`Amendment`-shaped record (the notice's
        summary is empty); :meth:`read` turns the notice's into a :class:`Notice`.
        """
        fields = self.mapping(node, field, keys, required)
        if fields is None:
            return None
        number = self.text(fields.get("number"), f"{field}.number")
        if number is not None and not _NOTICE_NUMBER.match(number):
            self.err(fields.get("number"), f"{field}.number", "bad-number",
                     f"expected a document number like 国办发明电〔2015〕18号, got {number!r}")
            number = None
        title = self.text(fields.get("title"), f"{field}.title")
        date = self.date(fields.get("date"), f"{field}.date")
        published = self.date(fields.get("published"), f"{field}.published")
        url = self.text(fields.get("url"), f"{field}.url", optional=True)
        summary = self.text(fields.get("summary"), f"{field}.summary") if "summary" in keys else ""
        if date is not None and published is not None and published < date:
            self.err(fields.get("published"), f"{field}.published", "bad-date",
                     f"published {published} is before the document's date {date}")
        if number is None or title is None or date is None or summary is None:
            return None
        return Amendment(number=number, title=title, date=date, summary=summary, published=published, url=url)

    def _notice(self, node: yaml.Node | None, year: int | None) -> Amendment | None:
        if node is None:
            return None
        notice = self._document(node, "notice", _NOTICE_KEYS, ("number", "title", "date"))
        if notice is not None and year is not None and notice.date >= dt.date(year, 1, 1):
            self.err(node, "notice.date", "bad-date",
                     f"the notice for {year} must be dated before {year}-01-01, got {notice.date}")
        return notice

    def _amendments(self, node: yaml.Node | None, year: int | None,
                    notice: Amendment | None) -> tuple[Amendment, ...]:
        if node is None:
            return ()
        out: list[Amendment] = []
        for i, item in enumerate(self.sequence(node, "amendments")):
            field = f"amendments[{i}]"
            amendment = self._document(item, field, _AMENDMENT_KEYS, ("number", "title", "date", "summary"))
            if amendment is None:
                continue
            if notice is not None and amendment.date <= notice.date:
                self.err(item, f"{field}.date", "bad-date",
                         f"an amendment must come after the notice ({notice.date}), got {amendment.date}")
            if year is not None and amendment.date > dt.date(year, 12, 31):
                self.err(item, f"{field}.date", "bad-date",
                         f"an amendment to {year} dated {amendment.date} comes too late")
            if (notice is not None and amendment.number == notice.number) \
                    or any(a.number == amendment.number for a in out):
                self.err(item, f"{field}.number", "duplicate", f"document number {amendment.number!r} listed twice")
            out.append(amendment)
        return tuple(out)

    def _source(self, fields: dict[str, yaml.Node], field: str, sources: set[str], main: str) -> str:
        source = self.text(fields.get("source"), f"{field}.source", optional=True)
        if source is None:
            return main
        if sources and source not in sources:
            self.err(fields.get("source"), f"{field}.source", "unknown-source",
                     f"source {source!r} is neither the notice nor one of its amendments ({sorted(sources)})")
        return source

    def _holidays(self, node: yaml.Node | None, year: int | None, sources: set[str],
                  main: str) -> tuple[HolidayBlock, ...]:
        if node is None:
            return ()
        out: list[tuple[HolidayBlock, yaml.Node]] = []
        for i, item in enumerate(self.sequence(node, "holidays")):
            field = f"holidays[{i}]"
            fields = self.mapping(item, field, _HOLIDAY_KEYS, ("name", "from", "to"))
            if fields is None:
                continue
            name = self.text(fields.get("name"), f"{field}.name")
            start = self.date(fields.get("from"), f"{field}.from")
            end = self.date(fields.get("to"), f"{field}.to")
            source = self._source(fields, field, sources, main)
            note = self.text(fields.get("note"), f"{field}.note", optional=True)
            if name is not None:
                self.holiday_names.add(name)
            if name is None or start is None or end is None:
                continue
            if end < start:
                self.err(item, f"{field}.to", "bad-range", f"holiday {name!r} ends ({end}) before it starts ({start})")
                continue
            if year is not None:
                first_allowed = dt.date(year, 1, 1)
                if start < first_allowed and end >= first_allowed \
                        and start >= dt.date(year - 1, 12, 31 - _SPILL_DAYS + 1):
                    pass  # a New Year block that the notice starts in the old December (2019: 2018-12-30 起)
                elif start < first_allowed or end > dt.date(year, 12, 31):
                    self.err(item, field, "outside-year",
                             f"holiday {name!r} {start}..{end} lies outside {year} (only a block that runs "
                             f"into {year}-01-01 may start in the last {_SPILL_DAYS} days of {year - 1})")
                    continue
            out.append((HolidayBlock(name=name, start=start, end=end, source=source, note=note), item))
        out.sort(key=lambda pair: pair[0].start)
        for (prev, _), (cur, cur_node) in zip(out, out[1:]):
            if cur.start <= prev.end:
                self.err(cur_node, "holidays", "overlap",
                         f"holiday {cur.name!r} {cur.start}..{cur.end} overlaps {prev.name!r} {prev.start}..{prev.end}")
        return tuple(block for block, _ in out)

    def _workdays(self, node: yaml.Node | None, year: int | None, sources: set[str], main: str,
                  holidays: tuple[HolidayBlock, ...]) -> tuple[MakeupWorkday, ...]:
        if node is None:
            return ()
        names = self.holiday_names
        spill_from = min((h.start for h in holidays if year is not None and h.start.year < year), default=None)
        seen: dict[dt.date, int] = {}
        out: list[MakeupWorkday] = []
        for i, item in enumerate(self.sequence(node, "workdays")):
            field = f"workdays[{i}]"
            fields = self.mapping(item, field, _WORKDAY_KEYS, ("date", "for"))
            if fields is None:
                continue
            day = self.date(fields.get("date"), f"{field}.date")
            for_holiday = self.text(fields.get("for"), f"{field}.for")
            source = self._source(fields, field, sources, main)
            note = self.text(fields.get("note"), f"{field}.note", optional=True)
            if day is None or for_holiday is None:
                continue
            if day.weekday() < 5:
                self.err(item, f"{field}.date", "not-weekend",
                         f"{day} is a {day.strftime('%A')}: a make-up workday (调休上班) must be a Saturday or Sunday")
                continue
            if year is not None and day.year != year:
                in_spill = (spill_from is not None and day.year == year - 1
                            and spill_from - dt.timedelta(days=_SPILL_DAYS) <= day < spill_from)
                if not in_spill:
                    self.err(item, f"{field}.date", "outside-year",
                             f"make-up workday {day} lies outside {year} (the old year's December is allowed "
                             "only just before a New Year block that starts there)")
                    continue
            if names and for_holiday not in names:
                hint = difflib.get_close_matches(for_holiday, sorted(names), n=1)
                did = f"; did you mean {hint[0]!r}?" if hint else ""
                self.err(fields.get("for"), f"{field}.for", "unknown-holiday",
                         f"{for_holiday!r} is not a holiday of this file ({sorted(names)}){did}")
            if day in seen:
                self.err(item, f"{field}.date", "duplicate", f"{day} is listed twice (also workdays[{seen[day]}])")
                continue
            inside = next((h for h in holidays if h.start <= day <= h.end), None)
            if inside is not None:
                self.err(item, f"{field}.date", "overlap",
                         f"{day} is listed as a working day but lies inside holiday {inside.name!r} "
                         f"{inside.start}..{inside.end}")
                continue
            seen[day] = i
            out.append(MakeupWorkday(date=day, for_holiday=for_holiday, source=source, note=note))
        out.sort(key=lambda w: w.date)
        return tuple(out)


# --------------------------------------------------------------------------- the calendar


def data_dirs(extra: Sequence[Path | str] = ()) -> tuple[Path, ...]:
    """The shipped directory followed by an operator's extra directories (later ones win per year)."""
    return (DEFAULT_DIR, *(Path(p) for p in extra))


class WorkingCalendar:
    """The official working-day calendar over a contiguous range of years.

    Build it with :meth:`load` (data directories) or :meth:`default` (the
    shipped data, cached). It is immutable once built and safe to share
    between threads.
    """

    __slots__ = ("_base", "_span", "_cum", "_work", "_rest", "_names", "_years", "_data", "_first", "_last",
                 "_tz")

    _base: int
    _span: int
    _cum: list[int]
    _work: list[int]
    _rest: bytes
    _names: dict[int, tuple[DayKind, str]]
    _years: tuple[int, ...]
    _data: dict[int, _YearData]
    _first: int
    _last: int
    _tz: ZoneInfo

    def __init__(self, years: Sequence[_YearData], *, tz: ZoneInfo = CHINA_TZ) -> None:
        """Compile the tables; use :meth:`load` rather than calling this directly."""
        self._tz = tz
        data = {y.notice.year: y for y in years}
        if not data:
            raise CalendarDataError("no calendar data: at least one year file is needed")
        self._data = data
        self._years = tuple(sorted(data))
        self._first, self._last = self._years[0], self._years[-1]
        base = dt.date(self._first, 1, 1).toordinal()
        end = dt.date(self._last, 12, 31).toordinal()
        span = end - base + 1
        rest = bytearray(span)
        first_weekday = dt.date(self._first, 1, 1).weekday()
        for i in range(span):
            rest[i] = (first_weekday + i) % 7 >= 5
        names: dict[int, tuple[DayKind, str]] = {}
        for year in self._years:
            for block in data[year].holidays:
                for o in range(block.start.toordinal(), block.end.toordinal() + 1):
                    if base <= o <= end:
                        rest[o - base] = 1
                        names[o] = ("holiday", block.name)
            for work in data[year].workdays:
                o = work.date.toordinal()
                if base <= o <= end:
                    rest[o - base] = 0
                    names[o] = ("makeup_workday", work.for_holiday)
        cum: list[int] = []
        work_days: list[int] = []
        count = -1
        for i in range(span):
            if not rest[i]:
                count += 1
                work_days.append(base + i)
            cum.append(count)
        self._base, self._span = base, span
        self._rest = bytes(rest)
        self._cum = cum
        self._work = work_days
        self._names = names

    # -- construction

    @classmethod
    def load(cls, dirs: Sequence[Path] | None = None, *, tz: ZoneInfo = CHINA_TZ) -> WorkingCalendar:
        """Read every ``*.yaml`` of ``dirs`` (default: the shipped ``rules/calendars/cn``).

        A later directory's file for a year replaces an earlier one's (an
        operator's correction). Every problem of every file is reported at
        once in one :class:`CalendarDataError`; the years must be contiguous.
        """
        directories = tuple(Path(d) for d in (dirs if dirs is not None else (DEFAULT_DIR,)))
        errors: list[str] = []
        by_year: dict[int, _YearData] = {}
        for directory in directories:
            if not directory.is_dir():
                errors.append(f"{directory}: missing-dir: calendar data directory does not exist")
                continue
            for path in sorted(directory.glob("*.yaml")):
                reader = _FileReader(path)
                year_data = reader.read()
                errors.extend(reader.errors)
                if year_data is not None:
                    by_year[year_data.notice.year] = year_data
        if not errors and not by_year:
            errors.append(f"{', '.join(map(str, directories))}: no-data: no calendar files (YYYY.yaml) found")
        errors.extend(_cross_file_problems(by_year))
        if errors:
            raise CalendarDataError(f"{len(errors)} problem(s) in the working-day calendar data:\n"
                                    + "\n".join(errors))
        return cls(list(by_year.values()), tz=tz)

    @classmethod
    def default(cls) -> WorkingCalendar:
        """The shipped calendar (``rules/calendars/cn``), loaded once per process."""
        return _default_calendar()

    @property
    def tz(self) -> ZoneInfo:
        """The zone its days are counted in (the configured ``timezone``; 北京时间 by default).

        Every "which day is it" question (an event's instant, an hour window, an
        audit time shown to a person) is answered in this zone.
        """
        return self._tz

    # -- provenance

    @property
    def years(self) -> tuple[int, ...]:
        """The covered years, ascending and contiguous."""
        return self._years

    @property
    def span(self) -> tuple[int, int]:
        """First and last covered year."""
        return self._first, self._last

    def notice(self, year: int) -> Notice:
        """The State Council notice (and amendments) behind ``year``'s calendar."""
        data = self._data.get(year)
        if data is None:
            raise CalendarYearMissing(year, self.span)
        return data.notice

    def holidays(self, year: int) -> tuple[HolidayBlock, ...]:
        """The holiday blocks declared by ``year``'s notice (a New Year block may start in the old December)."""
        data = self._data.get(year)
        if data is None:
            raise CalendarYearMissing(year, self.span)
        return data.holidays

    def makeup_workdays(self, year: int) -> tuple[MakeupWorkday, ...]:
        """The weekend days worked (调休上班) declared by ``year``'s notice."""
        data = self._data.get(year)
        if data is None:
            raise CalendarYearMissing(year, self.span)
        return data.workdays

    # -- single days

    def covers(self, d: dt.date) -> bool:
        """Whether ``d`` falls in a year the data covers."""
        return self._first <= d.year <= self._last

    def is_workday(self, d: dt.date) -> bool:
        """Whether ``d`` is a working day (a weekday not on holiday, or a 调休 weekend day)."""
        i = d.toordinal() - self._base
        if 0 <= i < self._span:
            return not self._rest[i]
        raise CalendarYearMissing(d.year, self.span)

    def day_info(self, d: dt.date) -> DayInfo:
        """What ``d`` is (working day, weekend, holiday, make-up workday) and which holiday it belongs to."""
        workday = self.is_workday(d)
        kind_name = self._names.get(d.toordinal())
        if kind_name is not None:
            return DayInfo(date=d, is_workday=workday, kind=kind_name[0], name=kind_name[1])
        return DayInfo(date=d, is_workday=workday, kind="workday" if workday else "weekend")

    # -- arithmetic

    def add_workdays(self, start: dt.date, n: int) -> dt.date:
        """The ``n``-th working day strictly after ``start`` (N个工作日内 → its last day).

        ``start`` itself never counts, even when it is a working day, and may
        be a holiday; ``n == 0`` returns ``start``; ``n < 0`` is an error.
        Raises :class:`CalendarYearMissing` when the count runs past the data.
        """
        i = start.toordinal() - self._base
        if n > 0 and i >= 0:
            try:
                return _fromordinal(self._work[self._cum[i] + n])
            except IndexError:
                pass
        return self._add_workdays_checked(start, n)

    def _add_workdays_checked(self, start: dt.date, n: int) -> dt.date:
        """The slow path of :meth:`add_workdays`: validation and the edges of the data."""
        if isinstance(n, bool) or not isinstance(n, int):
            raise TypeError(f"the number of working days must be an integer, got {n!r}")
        if n < 0:
            raise CalendarArgumentError(f"the number of working days must be >= 0, got {n!r}")
        if n == 0:
            return start
        i = start.toordinal() - self._base
        if i < -1 or i >= self._span:
            raise CalendarYearMissing((start + dt.timedelta(days=1)).year, self.span)
        j = (self._cum[i] if i >= 0 else -1) + n
        if j >= len(self._work):
            raise CalendarYearMissing(self._last + 1, self.span)
        return _fromordinal(self._work[j])

    def workdays_between(self, a: dt.date, b: dt.date) -> int:
        """Working days in ``(a, b]``; negative (minus those in ``(b, a]``) when ``b < a``.

        The tick reads it as "working days left" (``today → due``) or, when
        negative, "working days overdue".
        """
        ia = a.toordinal() - self._base
        ib = b.toordinal() - self._base
        if ia == ib:
            return 0
        lo, hi = (ia, ib) if ia < ib else (ib, ia)
        if lo < -1:
            raise CalendarYearMissing(_fromordinal(self._base + lo + 1).year, self.span)
        if hi >= self._span:
            raise CalendarYearMissing(self._last + 1, self.span)
        count = self._cum[hi] - (self._cum[lo] if lo >= 0 else -1)
        return count if ia < ib else -count

    def next_workday(self, d: dt.date, *, inclusive: bool = True) -> dt.date:
        """The first working day on or after ``d`` (strictly after when ``inclusive`` is false)."""
        if inclusive and self.is_workday(d):
            return d
        return self.add_workdays(d, 1)

    def roll_forward(self, d: dt.date) -> dt.date:
        """``d`` if it is a working day, else the next one (遇节假日顺延)."""
        return self.next_workday(d, inclusive=True)

    def __repr__(self) -> str:
        return f"WorkingCalendar(years={self._first}–{self._last}, workdays={len(self._work)})"


def _cross_file_problems(by_year: dict[int, _YearData]) -> list[str]:
    """Problems only visible across files: gaps between years, one day declared by two notices."""
    problems: list[str] = []
    years = sorted(by_year)
    missing = [y for y in range(years[0], years[-1] + 1) if y not in by_year] if years else []
    if missing:
        problems.append(
            f"gap: the calendar years must be contiguous: {years[0]}–{years[-1]} lacks "
            f"{', '.join(map(str, missing))}; add " + ", ".join(f"{y}.yaml" for y in missing)
            + " from the State Council's holiday notice")
    claimed: dict[dt.date, Path] = {}
    for year in years:
        data = by_year[year]
        days = [d for h in data.holidays for d in _dates(h.start, h.end)] + [w.date for w in data.workdays]
        for day in days:
            other = claimed.get(day)
            if other is not None and other != data.path:
                problems.append(f"{data.path}: overlap: {day} is also declared by {other}")
            claimed.setdefault(day, data.path)
    return problems


def _dates(start: dt.date, end: dt.date) -> list[dt.date]:
    return [start + dt.timedelta(days=k) for k in range((end - start).days + 1)]


@functools.cache
def _default_calendar() -> WorkingCalendar:
    return WorkingCalendar.load((DEFAULT_DIR,))
