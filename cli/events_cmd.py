"""Events, completions, waivers and extensions: ``triggers``, ``event``, ``complete``, ``waive``, ``extend``.

Every state-changing command runs in one transaction and writes exactly one
audit record with it (the ``--actor`` name, source ``cli``). The CLI has no
login: it acts as the trusted operator (see :mod:`duban.engine.services.events`); the
web layer calls the same services with the logged-in user's role.
"""

from __future__ import annotations

import datetime as dt
import re

import click

from ..engine.services import extensions as ext_service
from ..engine.deadlines.spec import Offset
from ..engine.services.completions import complete, is_late, waive
from ..engine.services.events import (
    Projection,
    correct_event,
    event_dues,
    list_events,
    list_triggers,
    record_event,
    retract_event,
)
from .context import App, app, echo_json, handle_errors, parse_day

_HHMM = re.compile(r"(\d{1,2}):(\d{2})")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def projection(a: App) -> Projection:
    """The re-projection settings from the configuration (default offset, check-ins, calendar)."""
    return Projection(calendar=a.calendar,
                      default_offset=Offset(unit="working_days", amount=a.settings.trigger_default_offset_working_days),
                      checkins=a.settings.ongoing_checkins)


def _required_day(value: str, param: str) -> dt.date:
    day = parse_day(value, param)
    if day is None:  # click enforces required=True; this keeps the type checker honest
        raise click.BadParameter("a date is required", param_hint=param)
    return day


def _instant(on: dt.date, value: str | None) -> dt.datetime | None:
    """``HH:MM`` on the event's day, in the configured time zone (for hour offsets such as 24小时内)."""
    if value is None:
        return None
    m = _HHMM.fullmatch(value.strip())
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise click.BadParameter(f"{value!r} is not a time of day HH:MM", param_hint="--at")
    return dt.datetime.combine(on, dt.time(int(m.group(1)), int(m.group(2))), tzinfo=app().calendar.tz)


def _occurrence(value: str | None) -> str | dt.date | None:
    """``--occurrence`` is a due instance's key (final, 2016-Q3, event:12) or its due date."""
    if value is None:
        return None
    if _DATE.fullmatch(value):
        return _required_day(value, "--occurrence")
    return value


def _not_future(a: App, day: dt.date, param: str) -> None:
    if day > a.today():
        raise click.BadParameter(f"{day} is in the future (today is {a.today()} in {a.settings.timezone})",
                                 param_hint=param)


# --------------------------------------------------------------------------- triggers


@click.group()
def triggers() -> None:
    """Triggers: outside events that triggered duties wait for (a provincial document, a budget vote...)."""


@triggers.command("list")
@click.option("--plan", help="Only this plan id.")
@click.option("--waiting", is_flag=True, help="Only triggers no event has activated yet.")
@click.option("--json", "as_json", is_flag=True,
              help='Print JSON: [{"key","description","plan","obligation_ids","status","event_kind","events"}].')
@handle_errors
def triggers_list(plan: str | None, waiting: bool, as_json: bool) -> None:
    """Every trigger, the obligations waiting on it, and whether an event has activated it."""
    with app().sessions() as session:
        rows = [t for t in list_triggers(session, plan=plan) if not waiting or t.status == "waiting"]
    if as_json:
        echo_json([t.to_json() for t in rows])
        return
    for t in rows:
        events = ", ".join(f"event {e.id} on {e.on}" + (f" ({e.doc_number})" if e.doc_number else "") for e in t.events)
        click.echo(f"{t.plan}\t{t.key}\t{t.status}{' — ' + events if events else ''}\t"
                   f"{len(t.obligation_ids)} obligation(s)\t{t.description}")


# --------------------------------------------------------------------------- events


@click.group()
def event() -> None:
    """Record, correct, retract and list the events that start triggered deadlines."""


@event.command("record")
@click.argument("trigger_key")
@click.option("--date", "date_", required=True, help="The day the event happened (YYYY-MM-DD), e.g. the document's date.")
@click.option("--plan", help="The plan whose trigger this is (needed when several plans use the key).")
@click.option("--doc-number", help="The document's number (文号), e.g. 粤府办〔2016〕12号.")
@click.option("--title", help="The document's title or the event's name.")
@click.option("--received", help="The day the document was received (YYYY-MM-DD); not before --date.")
@click.option("--at", "at", help="Time of day HH:MM (the configured time zone), for hour offsets such as 24小时内.")
@click.option("--actor", required=True, help="Who records it (kept in the audit log).")
@click.option("--note", help="A note kept with the event.")
@click.option("--json", "as_json", is_flag=True, help="Print the event and what it activated as JSON.")
@handle_errors
def event_record(trigger_key: str, date_: str, plan: str | None, doc_number: str | None, title: str | None,
                 received: str | None, at: str | None, actor: str, note: str | None, as_json: bool) -> None:
    """Record that TRIGGER_KEY happened: every obligation waiting on it starts its clock.

    Due = the event's date + the offset the text gives, on the official
    working-day calendar; when the text gives none ("待省文件出台后", "及时")
    the configured default applies (triggers.default_offset_working_days,
    10 working days). Units are told in their next digest.
    """
    a = app()
    on = _required_day(date_, "--date")
    with a.transaction() as session:
        [(ev, stats)] = record_event(session, trigger_key=trigger_key, on=on, actor=actor, proj=projection(a),
                                     plan=plan, at=_instant(on, at), doc_number=doc_number, title=title,
                                     received=parse_day(received, "--received"), note=note, source="cli")
        dues = event_dues(session, ev.id)
        result = {"event_id": ev.id, "trigger": trigger_key, "plan": ev.trigger.plan_id, "date": on.isoformat(),
                  "activated": stats.added, "moved": stats.moved, "dues": dues}
    if as_json:
        echo_json(result)
        return
    click.echo(f"event {ev.id}: {trigger_key} ({result['plan']}) on {on}: {stats.added} due instance(s) activated"
               + (f", {stats.moved} moved" if stats.moved else ""))
    for due, ids in dues.items():
        click.echo(f"  due {due}: obligation(s) {', '.join(map(str, ids))}")
    if not stats.added and not stats.moved:
        click.echo("  nothing was waiting: the trigger was already activated by an earlier event "
                   "(one-off duties follow the earliest event)", err=True)


@event.command("correct")
@click.argument("event_id", type=int)
@click.option("--date", "date_", required=True, help="The right date (YYYY-MM-DD).")
@click.option("--at", "at", help="The right time of day HH:MM (default: keep the recorded one, if any).")
@click.option("--actor", required=True, help="Who corrects it.")
@click.option("--reason", help="Why (kept in the audit log).")
@handle_errors
def event_correct(event_id: int, date_: str, at: str | None, actor: str, reason: str | None) -> None:
    """Correct an event's date: dependent open due dates move; the old ones stay in the audit log."""
    a = app()
    on = _required_day(date_, "--date")
    kwargs = {"at": _instant(on, at)} if at is not None else {}
    with a.transaction() as session:
        stats = correct_event(session, event_id, on=on, actor=actor, proj=projection(a), reason=reason,
                              source="cli", **kwargs)
    click.echo(f"event {event_id} now on {on}: {stats.moved} due date(s) moved"
               + (f", {stats.added} activated" if stats.added else "")
               + (f", {stats.cancelled} cancelled" if stats.cancelled else ""))
    for change in stats.changes[:20]:
        if "due_before" in change:
            click.echo(f"  {change['obligation']} {change['occurrence']}: {change['due_before']} → {change['due_after']}")
    if len(stats.changes) > 20:
        click.echo(f"  … {len(stats.changes) - 20} more (duban audit list --object event:{event_id})")


@event.command("retract")
@click.argument("event_id", type=int)
@click.option("--reason", required=True, help="Why the event is withdrawn (required).")
@click.option("--actor", required=True, help="Who retracts it.")
@handle_errors
def event_retract(event_id: int, reason: str, actor: str) -> None:
    """Withdraw an event recorded in error: its open due instances are cancelled (completed ones stay)."""
    a = app()
    with a.transaction() as session:
        stats = retract_event(session, event_id, reason=reason, actor=actor, proj=projection(a), source="cli")
    click.echo(f"event {event_id} retracted: {stats.cancelled} open due instance(s) cancelled"
               + (f", {stats.moved} moved to an earlier remaining event" if stats.moved else ""))


@event.command("list")
@click.option("--plan", help="Only this plan id.")
@click.option("--trigger", help="Only this trigger key.")
@click.option("--json", "as_json", is_flag=True,
              help='Print JSON: [{"id","trigger","plan","date","at","doc_number","title","received","actor",'
                   '"note","state","recorded_at","open_dues","done_dues"}].')
@handle_errors
def event_list(plan: str | None, trigger: str | None, as_json: bool) -> None:
    """Every recorded event, retracted ones included (they are history)."""
    with app().sessions() as session:
        rows = list_events(session, plan=plan, trigger=trigger, tz=app().calendar.tz)
    if as_json:
        echo_json([r.to_json() for r in rows])
        return
    for r in rows:
        click.echo(f"{r.id}\t{r.on}\t{r.plan}\t{r.trigger}\t{r.state}\t{r.doc_number or '-'}\t{r.title or '-'}\t"
                   f"open {r.open_dues}, done {r.done_dues}\t{r.actor}")


# --------------------------------------------------------------------------- completions


@click.command("complete")
@click.argument("obligation_id", type=int)
@click.option("--occurrence", help="Which due instance: its key (final, 2016-Q3, event:12) or its due date; "
                                   "default the earliest open one.")
@click.option("--date", "date_", required=True, help="The day it was done (YYYY-MM-DD).")
@click.option("--evidence", required=True, help="Where it can be seen: the published page's URL, or a description.")
@click.option("--actor", required=True, help="Who reports it.")
@handle_errors
def complete_cmd(obligation_id: int, occurrence: str | None, date_: str, evidence: str, actor: str) -> None:
    """Record that a unit completed an obligation's due instance, with evidence.

    A completion after the due date is recorded as late (working days late);
    a completed instance gets no more reminders from the next tick on.
    """
    a = app()
    on = _required_day(date_, "--date")
    _not_future(a, on, "--date")
    with a.transaction() as session:
        occ = complete(session, obligation_id, on=on, evidence=evidence, actor=actor, calendar=a.calendar,
                       occurrence=_occurrence(occurrence), source="cli")
    late = f"late by {occ.late_by} working day(s)" if is_late(occ.due, on) else "on time"
    click.echo(f"obligation {obligation_id} {occ.key} (due {occ.due}) completed on {on}: {late}")


@click.command("waive")
@click.argument("obligation_id", type=int)
@click.option("--reason", required=True, help="Why the unit is released (required).")
@click.option("--occurrence", help="Waive only this due instance (key or due date); default the whole obligation.")
@click.option("--actor", required=True, help="The supervisor who waives it.")
@handle_errors
def waive_cmd(obligation_id: int, reason: str, occurrence: str | None, actor: str) -> None:
    """Release a unit from an obligation (免予督办, a supervisor's decision); no more reminders."""
    a = app()
    with a.transaction() as session:
        ob = waive(session, obligation_id, reason=reason, actor=actor, occurrence=_occurrence(occurrence),
                   source="cli")
    what = f"due instance {occurrence}" if occurrence else "all its open due instances"
    click.echo(f"obligation {ob.id}: {what} waived")


# --------------------------------------------------------------------------- extensions


@click.group()
def extend() -> None:
    """Extension requests (延期申请): a unit asks, another person — a supervisor — decides."""


@extend.command("request")
@click.argument("obligation_id", type=int)
@click.option("--until", required=True, help="The date asked for (YYYY-MM-DD), after the current due date.")
@click.option("--reason", required=True, help="Why (required).")
@click.option("--occurrence", help="Which due instance (key or due date); default the earliest open one.")
@click.option("--actor", required=True, help="Who asks.")
@handle_errors
def extend_request(obligation_id: int, until: str, reason: str, occurrence: str | None, actor: str) -> None:
    """Ask for a later due date; it changes nothing until a supervisor approves it."""
    a = app()
    with a.transaction() as session:
        e = ext_service.request_extension(session, obligation_id, until=_required_day(until, "--until"),
                                          reason=reason, actor=actor, occurrence=_occurrence(occurrence),
                                          source="cli", calendar=a.calendar)
    click.echo(f"extension {e.id} requested: obligation {obligation_id} from {e.original_due} to {e.until} "
               f"(waiting for a supervisor: duban extend approve {e.id} --actor NAME)")


@extend.command("approve")
@click.argument("extension_id", type=int)
@click.option("--actor", required=True, help="The supervisor who approves (not the requester).")
@click.option("--note", help="A note kept with the decision.")
@handle_errors
def extend_approve(extension_id: int, actor: str, note: str | None) -> None:
    """Approve a request: the due date moves (the old one stays in the audit log). Never self-approved."""
    a = app()
    with a.transaction() as session:
        e = ext_service.approve_extension(session, extension_id, actor=actor, note=note, source="cli",
                                          calendar=a.calendar)
    click.echo(f"extension {e.id} approved by {actor}: obligation {e.obligation_id} now due {e.until} "
               f"(was {e.original_due})")


@extend.command("reject")
@click.argument("extension_id", type=int)
@click.option("--reason", required=True, help="Why (required).")
@click.option("--actor", required=True, help="The supervisor who rejects (not the requester).")
@handle_errors
def extend_reject(extension_id: int, reason: str, actor: str) -> None:
    """Reject a request; the due date stays."""
    a = app()
    with a.transaction() as session:
        e = ext_service.reject_extension(session, extension_id, actor=actor, reason=reason, source="cli")
    click.echo(f"extension {e.id} rejected by {actor}: obligation {e.obligation_id} stays due {e.original_due}")


@extend.command("list")
@click.option("--status", type=click.Choice(ext_service.STATUSES), help="Only this status.")
@click.option("--plan", help="Only this plan id.")
@click.option("--unit", help="Only this unit.")
@click.option("--json", "as_json", is_flag=True,
              help='Print JSON: [{"id","obligation_id","plan","task","requirement","unit","occurrence",'
                   '"original_due","until","reason","status","requested_by","requested_at","decided_by",'
                   '"decided_at","decision_note"}].')
@handle_errors
def extend_list(status: str | None, plan: str | None, unit: str | None, as_json: bool) -> None:
    """Extension requests, oldest first."""
    with app().sessions() as session:
        rows = ext_service.list_extensions(session, status=status, plan=plan, unit=unit)  # type: ignore[arg-type]
    if as_json:
        echo_json([r.to_json() for r in rows])
        return
    for r in rows:
        click.echo(f"{r.id}\t{r.status}\t{r.plan} {r.task}.{r.requirement}\t{r.unit}\t{r.occurrence}\t"
                   f"{r.original_due} → {r.until}\t{r.requested_by}\t{r.decided_by or '-'}\t{r.reason}")
