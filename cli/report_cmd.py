"""Reports: ``report`` (落实情况 table), ``scores`` (绩效考核) and ``calendar-feed`` (.ics)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from ..engine.services import reports
from .context import app, echo_json, handle_errors, parse_day


@click.command("report")
@click.option("--plan", required=True, help="The plan id (duban plan list).")
@click.option("--as-of", "as_of", help="Status as of this day (YYYY-MM-DD); default today in the configured time zone.")
@click.option("--format", "fmt", type=click.Choice(["html", "csv", "xlsx"]), default="html", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to FILE (default stdout).")
@handle_errors
def report_cmd(plan: str, as_of: str | None, fmt: str, output: Path | None) -> None:
    """The 落实情况 table of a plan: task, requirement, unit, deadline, due, status, completion, evidence.

    HTML is a printable Chinese page for the portal; CSV opens in Excel
    (UTF-8 with BOM when written to a file); xlsx needs -o or a pipe.
    """
    a = app()
    day = parse_day(as_of, "--as-of") or a.today()
    with a.sessions() as session:
        report = reports.build_report(session, plan, as_of=day, calendar=a.calendar,
                                      due_soon_within=a.due_soon_within)
    data: str | bytes
    if fmt == "html":
        data = reports.render_html(report)
    elif fmt == "csv":
        data = reports.render_csv(report)
    else:
        data = reports.render_xlsx(report)
    if output is not None:
        reports.write_bytes(data, output)
        click.echo(f"{len(report.rows)} row(s) as of {day} written to {output}", err=True)
        return
    if isinstance(data, bytes):
        stream = click.get_binary_stream("stdout")
        if stream.isatty():
            raise click.UsageError("xlsx is binary: give -o FILE or pipe the output")
        stream.write(data)
        stream.flush()
        return
    click.echo(data, nl=False)


@click.command("scores")
@click.option("--plan", required=True, help="The plan id.")
@click.option("--as-of", "as_of", help="Scores as of this day (YYYY-MM-DD); default today in the configured time zone.")
@click.option("--json", "as_json", is_flag=True,
              help='Print JSON: [{"unit","assessed","on_time","late","overdue","waived","pending","on_time_rate",'
                   '"avg_late_working_days"}].')
@handle_errors
def scores_cmd(plan: str, as_of: str | None, as_json: bool) -> None:
    """Per-unit on-time rate, overdue count and average lateness in working days (绩效考核), best first.

    Assessed: due instances completed by the day or already past due
    (check-ins of ongoing work and waived instances are not scored).
    """
    a = app()
    day = parse_day(as_of, "--as-of") or a.today()
    with a.sessions() as session:
        scores = reports.unit_scores(reports.build_report(session, plan, as_of=day, calendar=a.calendar,
                                      due_soon_within=a.due_soon_within))
    if as_json:
        echo_json([s.to_json() for s in scores])
        return
    click.echo("unit\tassessed\ton_time\tlate\toverdue\ton_time_rate\tavg_late_wd")
    for s in scores:
        rate = f"{s.on_time_rate:.0%}" if s.on_time_rate is not None else "-"
        late = f"{s.avg_late_working_days:g}" if s.avg_late_working_days is not None else "-"
        click.echo(f"{s.unit}\t{s.assessed}\t{s.on_time}\t{s.late}\t{s.overdue}\t{rate}\t{late}")


@click.command("calendar-feed")
@click.option("--unit", required=True, help="The unit's short name (e.g. 市发展改革局) or an alias.")
@click.option("--directory", help="The units directory (e.g. jieyang), when the name is in several.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to FILE (default stdout).")
@handle_errors
def calendar_feed_cmd(unit: str, directory: str | None, output: Path | None) -> None:
    """An .ics calendar (RFC 5545) of a unit's due dates: all-day events, one per due instance.

    Subscribe to the file from a calendar app; each due instance keeps its UID,
    so a moved date updates the event instead of adding another.
    """
    a = app()
    with a.sessions() as session:
        data = reports.calendar_feed(session, unit, now=dt.datetime.now(dt.timezone.utc),
                                     domain=str(a.settings.notifier.get("message_id_domain", "duban.example")),
                                     base_url=a.settings.web_base_url, directory=directory, tz=a.settings.timezone)
    if output is not None:
        output.write_bytes(data)
        click.echo(f"calendar for {unit} written to {output}", err=True)
        return
    stream = click.get_binary_stream("stdout")
    stream.write(data)
    stream.flush()
