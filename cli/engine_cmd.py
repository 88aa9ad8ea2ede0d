"""The main job's commands: ``tick``, ``run``, ``simulate``, ``notifications``."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import click
from sqlalchemy import select

from ..engine.runtime.build import Runtime
from ..engine.runtime.simulate import load_scenario, simulate
from ..store.models import Notification
from .context import app, echo_json, handle_errors, parse_day


def runtime() -> Runtime:
    """The command's runtime (the one settings → runtime factory, via :func:`.context.app`)."""
    return app()


@click.command("tick")
@click.option("--as-of", "as_of", help="Evaluate as of this day (YYYY-MM-DD); default today in Asia/Shanghai.")
@click.option("--dry-run", is_flag=True, help="Print what would be sent; write nothing, send nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@handle_errors
def tick(as_of: str | None, dry_run: bool, as_json: bool) -> None:
    """Run one tick now: decide reminders and escalations, write the outbox, deliver.

    Safe to repeat and to re-run after a crash: a stage already recorded for a
    due instance is never recorded or sent again. On a rest day (weekend or
    holiday on the official calendar) nothing is sent; the next working day
    catches up.
    """
    rt = runtime()
    day = parse_day(as_of, "--as-of") or app().today()
    result, report = rt.run_tick(day, dry_run=dry_run)
    if as_json:
        out = result.to_json()
        if dry_run:
            out["would_send"] = [
                {"key": d.key, "recipient": d.recipient_email, "role": d.recipient_role,
                 "items": [{"obligation_id": i.obligation_id, "unit": i.unit, "task": i.task_no,
                            "requirement": i.requirement_no, "due": i.due.isoformat(), "stage": i.stage,
                            "working_days_left": i.working_days_left, "colour": i.colour} for i in d.items],
                 "notes": list(d.notes)}
                for d in result.previews]
        if report:
            out["delivery"] = report.to_json()
        echo_json(out)
        return
    if result.rest_day:
        click.echo(f"{day} is a rest day on the official calendar: no reminders are sent (the next working day catches up)")
        return
    click.echo(f"tick {day}: {result.candidates} candidate(s), {result.sent} reminder(s) in {result.digests} "
               f"digest(s), {result.skipped} stage(s) skipped as overtaken")
    for d in result.previews:
        click.echo(f"  would send to {d.recipient_role} {d.recipient_email}: {len(d.items)} item(s)")
        for i in d.items:
            click.echo(f"    [{i.colour}] {i.unit} 第{i.task_no}项第{i.requirement_no}条 due {i.due} "
                       f"({i.working_days_left:+d} wd) {i.stage_label}")
    if report:
        click.echo(f"delivered: {report.to_json()}")


@click.command("simulate")
@click.option("--from", "start", required=True, help="First day (YYYY-MM-DD).")
@click.option("--to", "end", required=True, help="Last day (YYYY-MM-DD).")
@click.option("--scenario", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A scenario file of dated events and completions (docs/scenarios.md).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@handle_errors
def simulate_cmd(start: str, end: str, scenario: Path | None, as_json: bool, quiet: bool) -> None:
    """Replay every day in a range as a tick at the configured hour (a time machine).

    Writes real decisions and outbox messages into the configured store: use
    a scratch database (DUBAN_DATABASE_URL) to experiment.
    """
    first, last = parse_day(start, "--from"), parse_day(end, "--to")
    if first is None or last is None:  # required options: click never passes None
        raise click.UsageError("--from and --to are required")
    if last < first:
        raise click.BadParameter("--to is before --from", param_hint="--to")
    rt = runtime()
    sc = load_scenario(scenario) if scenario else None
    total = (last - first).days + 1
    show = not quiet and not as_json
    with click.progressbar(length=total, label="simulating", file=sys.stderr,
                           item_show_func=lambda d: str(d) if d else "", hidden=not show) as bar:
        summary = simulate(rt, first, last, scenario=sc, progress=lambda d: bar.update(1, d))
    if as_json:
        echo_json(summary.to_json())
        return
    s = summary.to_json()
    click.echo(f"{s['days']} day(s): {s['ticks']} working-day tick(s), {s['rest_days']} rest day(s)")
    click.echo(f"digests written: {s['digests']}; delivery: {s['delivered']}")
    click.echo("reminders by stage:")
    for stage in rt.policy.stage_ids:
        if summary.reminders.get(stage) or summary.skipped.get(stage):
            click.echo(f"  {stage:<22} sent {summary.reminders.get(stage, 0):>5}   skipped {summary.skipped.get(stage, 0):>4}")
    click.echo("reminders by unit (top 15):")
    for unit, n in summary.per_unit.most_common(15):
        click.echo(f"  {unit:<24} {n}")
    if sc:
        click.echo(f"scenario {sc.name!r}: {dict(summary.steps_applied)}")
    v = summary.volume
    click.echo(f"volume: {v.emails} email(s) to {v.recipients} recipient(s); at most {v.max_per_recipient_day} "
               f"per recipient per day; per recipient per week median {v.weekly_median:g}, p95 {v.weekly_p95}, "
               f"max {v.weekly_max}; largest email {v.largest_email_cards} item(s); "
               f"{v.repeat_share:.0%} without a new stage (weekly repeats)")


@click.command("run")
@click.option("--no-web", is_flag=True, help="Do not serve the dashboard beside the scheduler.")
@click.option("--cluster", is_flag=True,
              help="Share the database with other `duban run --cluster` processes: one leads and ticks, all send.")
@click.option("--lease-seconds", type=click.IntRange(3), default=30, show_default=True,
              help="With --cluster: the leader lease; a killed leader is replaced within it.")
@click.option("--as-of", "as_of", help="With --cluster: tick this day once instead of today (drills, tests).")
@handle_errors
def run_cmd(no_web: bool, cluster: bool = False, lease_seconds: int = 30, as_of: str | None = None) -> None:
    """Run the daily tick on a schedule, with the dashboard beside it, until stopped.

    One cron job at schedule.hour:minute (Asia/Shanghai), coalesced, never
    overlapping; a tick missed while the process was down runs at start-up.
    A second `duban run` on the same database refuses to start. The dashboard
    (web.host:web.port) runs in a thread of the same process; SIGTERM or
    Ctrl-C stops both after the running tick.
    """

    from ..engine.runtime.scheduler import acquire_lease, holder_id, release_lease, run_scheduler

    rt = runtime()
    log = lambda m: click.echo(m, err=True)  # noqa: E731
    if cluster:  # engine/runtime/leader.py: a lease with renewal, sends claimed with SKIP LOCKED
        from ..engine.runtime.leader import NodeOptions, serve_node

        serve_node(rt, NodeOptions(lease_ttl=dt.timedelta(seconds=lease_seconds),
                                   as_of=parse_day(as_of, "--as-of")), log=log)
        return
    if no_web:
        run_scheduler(rt, log=log)
        return
    from ..web.server import start_in_thread

    # Take the lease before opening the port: a second `duban run` must refuse
    # because of the lease, not fail on a busy port.
    acquire_lease(rt.sessions, holder=holder_id(), ttl=dt.timedelta(minutes=3))
    try:
        handle = start_in_thread(rt.settings, runtime=rt)
    except BaseException:
        release_lease(rt.sessions, holder=holder_id())
        raise
    log(f"督办看板 (dashboard): {handle.url}/")
    try:
        run_scheduler(rt, log=log)
    finally:
        handle.stop()


@click.group()
def notifications() -> None:
    """The outbox: digests written by ticks and their delivery status."""


@notifications.command("list")
@click.option("--status", type=click.Choice(["pending", "retry", "sent", "failed", "expired"]), help="Only this status.")
@click.option("--json", "as_json", is_flag=True,
              help='Print JSON: [{"id","key","recipient","stage","obligation_ids","due","scheduled_for","status","attempts"}].')
@handle_errors
def notifications_list(status: str | None, as_json: bool) -> None:
    """Every outbox row, oldest first."""
    with app().sessions() as session:
        stmt = select(Notification).order_by(Notification.id)
        if status:
            stmt = stmt.where(Notification.status == status)
        rows = [{"id": n.id, "key": n.key, "recipient": n.recipient, "stage": n.stage,
                 "obligation_ids": n.obligation_ids, "due": n.due.isoformat() if n.due else None,
                 "scheduled_for": n.scheduled_for.isoformat(), "status": n.status, "attempts": n.attempts}
                for n in session.scalars(stmt)]
    if as_json:
        echo_json(rows)
        return
    for r in rows:
        click.echo(f"{r['id']}\t{r['scheduled_for']}\t{r['status']}\t{r['stage']}\t{r['recipient']}\t"
                   f"{len(r['obligation_ids'])} item(s)")
