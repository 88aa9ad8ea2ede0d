"""``duban calendar ...``: China's official working-day calendar.

The contract of ``add-workdays`` is fixed (scripts outside the repo rely on
it): the N-th working day strictly after START on stdout, exit 0; a year the
data does not cover → message on stderr, exit 3; bad input → exit 2. With
``--batch`` it answers one JSON line per input line and always exits 0.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any, NoReturn, TextIO

import click

from ..engine.deadlines.calendar import Notice, WorkingCalendar
from ..engine.runtime.settings import CALENDAR_DIRS_ENV
from ..errors import CalendarDataError, CalendarYearMissing
from .context import app, data_dir_option

EXIT_INVALID_DATA = 1
EXIT_YEAR_MISSING = 3

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_COUNT = re.compile(r"^\d+$")
_WEEKDAYS = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")


@click.group()
@data_dir_option
def calendar() -> None:
    """The official working-day calendar (工作日历): holidays (放假) and make-up workdays (调休上班).

    Each year comes from the State Council General Office's holiday notice
    (国务院办公厅关于YYYY年部分节假日安排的通知, 国办发明电〔…〕N号). A year
    without its notice is not guessed: commands that need it exit 3 and say
    how to add the year's data file (see docs/calendar.md). Extra years come
    from the config's calendar.extra_dirs, $DUBAN_CALENDAR_DIRS and --data-dir,
    for this and every other command.
    """


def _load(ctx: click.Context) -> WorkingCalendar:
    """The configured calendar (shipped years plus every configured folder), as every command sees it."""
    try:
        return app().calendar
    except CalendarDataError as exc:
        click.echo(f"error: {exc}", err=True)
        ctx.exit(EXIT_INVALID_DATA)


def _year_missing(ctx: click.Context, exc: CalendarYearMissing) -> NoReturn:
    click.echo(f"error: {exc}", err=True)
    click.echo(f"hint: see docs/calendar.md ('Adding a year'); the file may also go in a directory named by "
               f"calendar.extra_dirs in the config, ${CALENDAR_DIRS_ENV} or --data-dir", err=True)
    ctx.exit(EXIT_YEAR_MISSING)


def _parse_date(value: str) -> dt.date:
    """A strict ``YYYY-MM-DD``; raises ValueError with a message a person can act on."""
    if not _DATE.match(value):
        raise ValueError(f"expected a date YYYY-MM-DD, got {value!r}")
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(f"impossible date {value!r} ({exc})") from None


def _date_arg(value: str, name: str) -> dt.date:
    try:
        return _parse_date(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint=name) from None


# --------------------------------------------------------------------------- add-workdays


@calendar.command("add-workdays", context_settings={"ignore_unknown_options": True})
@click.argument("start", required=False)
@click.argument("n", required=False)
@click.option("--batch", type=click.File("r", encoding="utf-8"), metavar="FILE",
              help='Read JSON lines {"start": "YYYY-MM-DD", "working_days": N} from FILE ("-" for stdin); '
                   'print one JSON line per input, {"date": ...} or {"error": ...}, in order.')
@click.pass_context
def add_workdays(ctx: click.Context, start: str | None, n: str | None, batch: TextIO | None) -> None:
    """Print the N-th working day strictly after START (N个工作日内 → its last day).

    START itself never counts, even when it is a working day; a START on a
    holiday is fine; N = 0 prints START. Example: the plan published on
    2016-06-23 asks for measures within 30 working days:

        duban calendar add-workdays 2016-06-23 30   # → 2016-08-04

    Exit codes: 0 done, 2 bad input (impossible date, negative N),
    3 a year the calendar data does not cover.
    """
    if batch is not None:
        if start is not None or n is not None:
            raise click.UsageError("give either START N or --batch FILE, not both")
        _batch(_load(ctx), batch)
        return
    if start is None or n is None:
        raise click.UsageError("missing START and N (or use --batch FILE)")
    start_date = _date_arg(start, "START")
    if not _COUNT.match(n):
        raise click.BadParameter(f"expected a whole number of working days >= 0, got {n!r}", param_hint="N")
    cal = _load(ctx)
    try:
        click.echo(cal.add_workdays(start_date, int(n)).isoformat())
    except CalendarYearMissing as exc:
        _year_missing(ctx, exc)


def _batch_line(cal: WorkingCalendar, line: str, number: int) -> dict[str, str]:
    try:
        item: Any = json.loads(line)
    except json.JSONDecodeError as exc:
        return {"error": f"line {number}: not JSON ({exc.msg})"}
    if not isinstance(item, dict):
        return {"error": f'line {number}: expected an object {{"start", "working_days"}}, got {item!r}'}
    missing = [key for key in ("start", "working_days") if key not in item]
    if missing:
        return {"error": f"line {number}: missing {', '.join(map(repr, missing))}"}
    start, count = item["start"], item["working_days"]
    if not isinstance(start, str):
        return {"error": f"line {number}: start: expected a date YYYY-MM-DD, got {start!r}"}
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        return {"error": f"line {number}: working_days: expected a whole number >= 0, got {count!r}"}
    try:
        return {"date": cal.add_workdays(_parse_date(start), count).isoformat()}
    except ValueError as exc:
        return {"error": f"line {number}: start: {exc}"}
    except CalendarYearMissing as exc:
        return {"error": f"line {number}: {exc}"}


def _batch(cal: WorkingCalendar, source: TextIO) -> None:
    """One answer per non-blank input line, in order, flushed as it goes (usable as a coprocess)."""
    out = click.get_text_stream("stdout")
    for number, line in enumerate(source, start=1):
        if not line.strip():
            continue
        out.write(json.dumps(_batch_line(cal, line, number), ensure_ascii=False) + "\n")
        out.flush()


# --------------------------------------------------------------------------- years / show / is-workday


def _notice_json(notice: Notice) -> dict[str, Any]:
    return {
        "number": notice.number,
        "title": notice.title,
        "date": notice.date.isoformat(),
        "published": notice.published.isoformat() if notice.published else None,
        "amendments": [
            {"number": a.number, "title": a.title, "date": a.date.isoformat(), "summary": a.summary}
            for a in notice.amendments
        ],
        "source": notice.source,
    }


@calendar.command("years")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document instead of a table.")
@click.pass_context
def years(ctx: click.Context, as_json: bool) -> None:
    """List the covered years with their State Council notices (文号) and amendments."""
    cal = _load(ctx)
    if as_json:
        first, last = cal.span
        click.echo(json.dumps({
            "covered": {"first": first, "last": last},
            "years": [{"year": y, **_notice_json(cal.notice(y))} for y in cal.years],
        }, ensure_ascii=False, indent=2))
        return
    for year in cal.years:
        notice = cal.notice(year)
        click.echo(f"{year}  {notice.number}  {notice.date.isoformat()}  {notice.title}")
        for amendment in notice.amendments:
            click.echo(f"      修改 {amendment.number}  {amendment.date.isoformat()}  {amendment.summary}")
    first, last = cal.span
    click.echo(f"covered: {first}-01-01 … {last}-12-31 (add a year: docs/calendar.md)")


@calendar.command("is-workday")
@click.argument("day", metavar="DATE")
@click.option("--json", "as_json", is_flag=True, help='Print {"date", "workday", "kind", "name"}.')
@click.pass_context
def is_workday(ctx: click.Context, day: str, as_json: bool) -> None:
    """Say whether DATE is a working day, and why (周末 / 放假 / 调休上班). Exit 3 if not covered."""
    when = _date_arg(day, "DATE")
    cal = _load(ctx)
    try:
        info = cal.day_info(when)
    except CalendarYearMissing as exc:
        _year_missing(ctx, exc)
    if as_json:
        click.echo(json.dumps({"date": when.isoformat(), "workday": info.is_workday, "kind": info.kind,
                               "name": info.name}, ensure_ascii=False))
        return
    verdict = "working day" if info.is_workday else "rest day"
    click.echo(f"{when.isoformat()} {verdict}: {info.label}")


@calendar.command("show")
@click.argument("year", type=click.IntRange(1000, 9999))
@click.option("--json", "as_json", is_flag=True, help="Print the year's notice, holidays and make-up workdays as JSON.")
@click.pass_context
def show(ctx: click.Context, year: int, as_json: bool) -> None:
    """Show one year: its notice, holiday blocks (放假) and make-up workdays (调休上班)."""
    cal = _load(ctx)
    try:
        notice = cal.notice(year)
    except CalendarYearMissing as exc:
        _year_missing(ctx, exc)
    holidays, makeups = cal.holidays(year), cal.makeup_workdays(year)
    workdays = cal.workdays_between(dt.date(year - 1, 12, 31), dt.date(year, 12, 31))
    if as_json:
        click.echo(json.dumps({
            "year": year, "notice": _notice_json(notice), "working_days": workdays,
            "holidays": [{"name": h.name, "from": h.start.isoformat(), "to": h.end.isoformat(),
                          "days": h.days, "source": h.source} for h in holidays],
            "workdays": [{"date": w.date.isoformat(), "for": w.for_holiday, "source": w.source} for w in makeups],
        }, ensure_ascii=False, indent=2))
        return
    click.echo(f"{year}: {notice.title}（{notice.number}，{notice.date.isoformat()}）")
    for amendment in notice.amendments:
        click.echo(f"  修改: {amendment.title}（{amendment.number}，{amendment.date.isoformat()}）")
        click.echo(f"        {amendment.summary}")
    click.echo("  放假:")
    for h in holidays:
        source = "" if h.source == notice.number else f"  [{h.source}]"
        click.echo(f"    {h.start.isoformat()} … {h.end.isoformat()}  {h.days:>2}天  {h.name}{source}")
    click.echo("  调休上班:")
    for w in makeups:
        source = "" if w.source == notice.number else f"  [{w.source}]"
        click.echo(f"    {w.date.isoformat()}  {_WEEKDAYS[w.date.weekday()]}  {w.for_holiday}{source}")
    click.echo(f"  working days in {year}: {workdays}")
