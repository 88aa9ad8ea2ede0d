"""``duban progress``: record and list progress reports (进展情况), apart from completions."""

from __future__ import annotations

import click

from ..engine.services.progress import list_progress, record_progress
from .context import app, echo_json, handle_errors, parse_day


@click.group()
def progress() -> None:
    """Progress reports (进展情况): text and evidence; a report answers the open check-in."""


@progress.command("record")
@click.argument("obligation_id", type=int)
@click.option("--text", required=True, help="What has been done so far (进展情况).")
@click.option("--evidence", help="Where it can be seen: a URL or a description (optional).")
@click.option("--date", "date_", help="The day of the report (YYYY-MM-DD); default today.")
@click.option("--actor", required=True, help="Who reports it.")
@click.option("--json", "as_json", is_flag=True, help="Print the recorded report as JSON.")
@handle_errors
def record_cmd(obligation_id: int, text: str, evidence: str | None, date_: str | None, actor: str,
               as_json: bool) -> None:
    """Record progress on an obligation; it answers (closes) the obligation's open check-in.

    The obligation itself stays open: completion is `duban complete`.
    """
    a = app()
    on = parse_day(date_, "--date") or a.today()
    if on > a.today():
        raise click.BadParameter(f"{on} is in the future (today is {a.today()})", param_hint="--date")
    with a.transaction() as session:
        report = record_progress(session, obligation_id, on=on, text=text, evidence=evidence, actor=actor,
                                 calendar=a.calendar, source="cli")
        [row] = [r for r in list_progress(session, obligation_id=obligation_id) if r.id == report.id]
    if as_json:
        echo_json(row.to_json())
        return
    answered = f"; answers the check-in due {row.checkin_due}" if row.checkin_due else "; no open check-in to answer"
    click.echo(f"progress report {row.id} on obligation {obligation_id} ({row.unit}) recorded for {on}{answered}")


@progress.command("list")
@click.option("--obligation", "obligation_id", type=int, help="Only this obligation's reports.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON: a list of reports.")
@handle_errors
def list_cmd(obligation_id: int | None, as_json: bool) -> None:
    """List progress reports, newest first."""
    with app().sessions() as session:
        rows = list_progress(session, obligation_id=obligation_id)
    if as_json:
        echo_json([r.to_json() for r in rows])
        return
    for r in rows:
        checkin = f"check-in {r.checkin_due}" if r.checkin_due else "-"
        click.echo(f"{r.id}\t{r.reported_on}\t{r.plan_id} 任务{r.task_no}第{r.requirement_no}条\t{r.unit}\t{checkin}\t"
                   f"{r.actor}\t{r.text[:60]}")
