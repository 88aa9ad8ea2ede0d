"""``duban deadline ...``: compile 完成时限 phrases to deadline specs.

The output is a contract (scripts outside the repo read it): ``explain``
prints the spec's JSON (``ensure_ascii=False``) on stdout and exits 0; an
unreadable phrase prints its message on stderr and exits 2. ``--batch``
reads JSON lines and answers each, in order, with the spec or
``{"error": ..., "code": ...}``, exiting 0 whatever the lines hold.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import IO, Any

import click

from ..errors import DubanError, PhraseError
from ..engine.deadlines.calendar import WorkingCalendar
from ..engine.deadlines.phrases import KNOWN_FORMS, compile_phrase
from .context import EXIT_INVALID, app

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class _IsoDate(click.ParamType):
    """A strict ``YYYY-MM-DD`` date: 2016-02-30 is a usage error, not March 1st."""

    name = "YYYY-MM-DD"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> dt.date:
        if isinstance(value, dt.date):
            return value
        try:
            return _parse_date(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


def _parse_date(value: Any) -> dt.date:
    if not isinstance(value, str) or not _ISO_DATE.match(value):
        raise ValueError(f"expected a date YYYY-MM-DD, got {value!r}")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a date") from None


def _parse_year(value: Any) -> int:
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 9998:
        raise ValueError(f"plan_year must be a year like 2016, got {value!r}")
    return value


def _dumps(obj: dict[str, Any]) -> str:
    return json.dumps(obj, ensure_ascii=False)


def _error_line(exc: Exception) -> dict[str, Any]:
    """The batch answer for a failed line: the message's first line and a stable code."""
    if isinstance(exc, PhraseError):
        code = exc.code
    elif isinstance(exc, DubanError):  # CalendarDataError → "calendar-data-error"
        code = re.sub(r"(?<!^)(?=[A-Z])", "-", type(exc).__name__).lower()
    else:
        code = "bad-input"
    return {"error": str(exc).splitlines()[0], "code": code}


def _answer(line: str, lineno: int, calendar: WorkingCalendar | None) -> dict[str, Any]:
    """One batch line (``{"phrase", "plan_year", "published"}``) → the spec or an error object."""
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        return {"error": f"line {lineno}: not JSON ({exc.msg})", "code": "bad-input"}
    if not isinstance(data, dict) or not isinstance(data.get("phrase"), str):
        return {"error": f"line {lineno}: expected an object with a \"phrase\" string, got {line.strip()!r}",
                "code": "bad-input"}
    try:
        plan_year = _parse_year(data["plan_year"]) if data.get("plan_year") is not None else None
        published = _parse_date(data["published"]) if data.get("published") is not None else None
        spec = compile_phrase(data["phrase"], plan_year=plan_year, published=published, calendar=calendar)
    except (DubanError, ValueError) as exc:
        answer = _error_line(exc)
        if not isinstance(exc, DubanError):
            answer["error"] = f"line {lineno}: {answer['error']}"
        return answer
    return spec.to_json()


def _calendar() -> WorkingCalendar:
    """The configured calendar (extra years from config, $DUBAN_CALENDAR_DIRS, --data-dir), as the tick uses."""
    try:
        return app().calendar
    except DubanError as exc:  # malformed calendar data: invalid input
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(EXIT_INVALID) from None


@click.group()
def deadline() -> None:
    """Deadline phrases (完成时限) and their compiled specs."""


@deadline.command("explain")
@click.argument("phrase", required=False)
@click.option("--plan-year", type=click.IntRange(1, 9998), default=None,
              help="The year that dates without a year, 年内 and 全年工作 refer to.")
@click.option("--published", type=_IsoDate(), default=None,
              help="The plan's publication date: fills `due` on relative specs (working-day calendar).")
@click.option("--batch", "batch", type=click.File("r", encoding="utf-8"), default=None,
              help='Read JSON lines {"phrase", "plan_year", "published"} from FILE (- for stdin); '
                   "print one JSON line per input, in order.")
def explain(phrase: str | None, plan_year: int | None, published: dt.date | None, batch: IO[str] | None) -> None:
    """Compile PHRASE and print its spec as JSON.

    \b
    duban deadline explain "2016年12月底前完成"
    duban deadline explain "6月30日前" --plan-year 2016
    duban deadline explain "本方案公布后30个工作日内" --published 2016-06-23
    duban deadline explain --batch phrases.jsonl

    Exit 0 with the spec on stdout; exit 2 (message on stderr) when the phrase
    cannot be read. `duban deadline forms` lists the forms it reads.
    """
    if batch is not None:
        if phrase is not None or plan_year is not None or published is not None:
            raise click.UsageError("--batch takes its phrases, plan years and dates from FILE; "
                                   "give no PHRASE, --plan-year or --published with it")
        calendar = _calendar()
        for lineno, line in enumerate(batch, start=1):
            if line.strip():
                click.echo(_dumps(_answer(line, lineno, calendar)))
        return
    if phrase is None:
        raise click.UsageError("give a PHRASE or --batch FILE")
    try:
        spec = compile_phrase(phrase, plan_year=plan_year, published=published,
                              calendar=_calendar() if published is not None else None)
    except PhraseError as exc:
        click.echo(f"error [{exc.code}]: {exc}", err=True)
        raise SystemExit(2) from None
    except DubanError as exc:  # e.g. malformed calendar data: invalid input, not an unreadable phrase
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(1) from None
    click.echo(_dumps(spec.to_json()))


@deadline.command("forms")
def forms() -> None:
    """List the phrase forms the compiler reads, with examples."""
    for form in KNOWN_FORMS:
        click.echo(f"- {form}")
