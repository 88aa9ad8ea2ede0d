"""Triggers, the events that start them, and the re-projection that follows.

These are the state-changing services behind ``duban event ...`` and the
dashboard's event forms (completions and waivers are in
:mod:`.completions`, extensions in :mod:`.extensions`). Each runs inside the
caller's transaction and writes **exactly one** audit record, so the change
and its audit row commit or roll back together.

Recording an event (a provincial document arrives, the budget is approved, an
emergency happens) re-projects every obligation waiting on its trigger: the
due date is the event's date plus the spec's offset on the working-day
calendar, or the configured default offset (``triggers.default_offset_working_days``,
10 working days) when the text gives none ("及时", "待省文件出台后").
Correcting or retracting an event re-projects the same way; the old dates stay
in the audit log. Per-event triggers (each emergency, each important policy
document) get one due instance per event (key ``event:<id>``).

Who may do what (权限) is :mod:`.permissions`: every service takes the
caller's ``role`` (and, for a clerk, the ids of the units it acts for) and
asks :func:`.permissions.authorize` with the event's plan, so a clerk of one
directory's 督查室 cannot start another directory's deadlines.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ...store import audit, summary
from ...store.models import Event, Extension, Obligation, Occurrence, Plan, Trigger
from ..deadlines.calendar import CHINA_TZ, WorkingCalendar
from ..deadlines.offsets import local_instant
from ..deadlines.projection import PlanContext
from ..deadlines.spec import Offset
from ..plans.materialize import SyncStats, active_events, reapply_extensions, sync_occurrences
from .errors import NotFound, ServiceError
from .permissions import OPERATOR, authorize


class DuplicateEvent(ServiceError):
    """The same event (trigger, date, instant, document number, title) is already on record."""


# --------------------------------------------------------------------------- projection settings


@dataclass(frozen=True, kw_only=True, slots=True)
class Projection:
    """Settings the re-projection needs (from the configuration)."""

    calendar: WorkingCalendar
    default_offset: Offset
    checkins: Sequence[tuple[int, int]]


# --------------------------------------------------------------------------- triggers


@dataclass(frozen=True, kw_only=True, slots=True)
class EventInfo:
    id: int
    on: dt.date
    doc_number: str | None
    title: str | None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "date": self.on.isoformat(), "doc_number": self.doc_number, "title": self.title}


@dataclass(frozen=True, kw_only=True, slots=True)
class TriggerStatus:
    """A trigger of a plan and the obligations waiting on it (``duban triggers list``)."""

    key: str
    description: str
    plan: str
    event_kind: str
    obligation_ids: tuple[int, ...]
    status: Literal["waiting", "activated"]
    events: tuple[EventInfo, ...]

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "description": self.description, "plan": self.plan,
                "obligation_ids": list(self.obligation_ids), "status": self.status,
                "event_kind": self.event_kind, "events": [e.to_json() for e in self.events]}


def list_triggers(session: Session, *, plan: str | None = None) -> list[TriggerStatus]:
    """Every trigger with its live obligations; ``activated`` once an active event is on record."""
    stmt = select(Trigger).order_by(Trigger.plan_id, Trigger.id)
    if plan:
        stmt = stmt.where(Trigger.plan_id == plan)
    triggers = list(session.scalars(stmt))
    obligations: dict[tuple[str, str], list[int]] = defaultdict(list)
    ob_stmt = (select(Obligation.plan_id, Obligation.trigger_key, Obligation.id)
               .where(Obligation.trigger_key.is_not(None), Obligation.state == "active").order_by(Obligation.id))
    if plan:
        ob_stmt = ob_stmt.where(Obligation.plan_id == plan)
    for plan_id, key, oid in session.execute(ob_stmt):
        obligations[(plan_id, key)].append(oid)
    events: dict[int, list[EventInfo]] = defaultdict(list)
    for ev in session.scalars(select(Event).where(Event.state == "active").order_by(Event.occurred_on, Event.id)):
        events[ev.trigger_id].append(EventInfo(id=ev.id, on=ev.occurred_on, doc_number=ev.doc_number,
                                               title=ev.title))
    return [TriggerStatus(key=t.key, description=t.description, plan=t.plan_id, event_kind=t.event_kind,
                          obligation_ids=tuple(obligations.get((t.plan_id, t.key), ())),
                          status="activated" if events.get(t.id) else "waiting",
                          events=tuple(events.get(t.id, ())))
            for t in triggers]


def _trigger(session: Session, key: str, plan: str | None) -> Trigger:
    stmt = select(Trigger).where(Trigger.key == key)
    if plan:
        stmt = stmt.where(Trigger.plan_id == plan)
    found = list(session.scalars(stmt.order_by(Trigger.plan_id)))
    if not found:
        known = session.scalars(select(Trigger.key).distinct().order_by(Trigger.key)).all()
        raise NotFound(f"no trigger {key!r}{' in plan ' + repr(plan) if plan else ''}; "
                       f"known triggers: {', '.join(known) or '(none)'}")
    if len(found) > 1:
        raise ServiceError(f"trigger {key!r} is in several plans ({', '.join(t.plan_id for t in found)}): "
                           f"name one with --plan (record the event once per plan)")
    return found[0]


# --------------------------------------------------------------------------- re-projection


def _reproject(session: Session, trigger: Trigger, proj: Projection) -> SyncStats:
    """Bring every live obligation on ``trigger`` in line with the events on record.

    Approved extensions (延期) survive a re-projection: an open due instance
    keeps the later of its projected date and its approved ``until``.
    """
    plan = session.get(Plan, trigger.plan_id)
    if plan is None:  # the foreign key makes this impossible short of a broken database
        raise NotFound(f"trigger {trigger.key!r} names a missing plan {trigger.plan_id!r}")
    refs = [(oid, okey, spec, tkey) for oid, okey, spec, tkey in session.execute(
        select(Obligation.id, Obligation.okey, Obligation.spec, Obligation.trigger_key)
        .where(Obligation.plan_id == plan.id, Obligation.trigger_key == trigger.key, Obligation.state == "active")
        .order_by(Obligation.id))]
    events = active_events(session, {trigger.key: trigger.id})
    stats = sync_occurrences(session, refs, ctx=PlanContext(plan_year=plan.plan_year, published=plan.published),
                             calendar=proj.calendar, events=events, default_offset=proj.default_offset,
                             checkins=proj.checkins)
    reapply_extensions(session, stats, plan_id=plan.id, trigger_key=trigger.key)
    summary.refresh_obligations(session, [ref[0] for ref in refs])
    return stats


def _event_json(ev: Event, trigger: Trigger | None = None) -> dict[str, Any]:
    out = {"id": ev.id, "trigger_id": ev.trigger_id, "occurred_on": ev.occurred_on.isoformat(),
           "occurred_at": ev.occurred_at.isoformat() if ev.occurred_at else None, "doc_number": ev.doc_number,
           "title": ev.title, "received_on": ev.received_on.isoformat() if ev.received_on else None,
           "note": ev.note, "state": ev.state}
    if trigger is not None:
        out.update(trigger=trigger.key, plan=trigger.plan_id)
    return out


def event_dues(session: Session, event_id: int) -> dict[str, list[int]]:
    """Open due instances that follow from an event, as {due date: [obligation ids]}."""
    out: dict[str, list[int]] = defaultdict(list)
    for oid, due in session.execute(select(Occurrence.obligation_id, Occurrence.due)
                                    .where(Occurrence.event_id == event_id, Occurrence.state == "open")
                                    .order_by(Occurrence.due, Occurrence.obligation_id)):
        out[due.isoformat()].append(oid)
    return dict(out)


def _local_at(on: dt.date, at: dt.datetime | None, tz: dt.tzinfo) -> dt.datetime | None:
    """Check that an event's instant falls on its date in the calendar's zone; naive means local time."""
    if at is None:
        return None
    local = local_instant(at, tz)
    if local.date() != on:
        raise ServiceError(f"the event's time {local.isoformat()!r} is on {local.date()} in {tz}, "
                           f"not on its date {on.isoformat()!r}")
    return local.astimezone(dt.timezone.utc)


def _check_in_calendar(calendar: WorkingCalendar, on: dt.date) -> None:
    """An event date the calendar cannot count from is refused where it enters (issue 14, row 7)."""
    first, last = calendar.span
    if not first <= on.year <= last:
        raise ServiceError(f"the event date {on.isoformat()} is outside the working-day calendar "
                           f"({first}–{last}); add the year's calendar first (docs/calendar.md)")


# --------------------------------------------------------------------------- events


def record_event(session: Session, *, trigger_key: str, on: dt.date, actor: str, proj: Projection,
                 plan: str | None = None, at: dt.datetime | None = None, doc_number: str | None = None,
                 title: str | None = None, received: dt.date | None = None, note: str | None = None,
                 source: audit.Source = "cli", role: str = OPERATOR,
                 unit_ids: Collection[int] | None = None) -> list[tuple[Event, SyncStats]]:
    """Record that a trigger happened and activate every obligation waiting on it.

    Returns one ``(event, stats)`` pair (a list, for callers written when one
    key could span plans: a key found in several plans must now be narrowed
    with ``plan``, so that one command is one event and one audit record).
    """
    authorize(session, "event", role=role, unit_ids=unit_ids)
    if not actor.strip():
        raise ServiceError("an event needs an actor (who records it)")
    if received is not None and received < on:
        raise ServiceError(f"received {received} is before the event date {on}")
    _check_in_calendar(proj.calendar, on)
    at_utc = _local_at(on, at, proj.calendar.tz)
    trigger = _trigger(session, trigger_key, plan)
    authorize(session, "event", role=role, unit_ids=unit_ids, plan_id=trigger.plan_id)
    same = session.scalars(select(Event).where(Event.trigger_id == trigger.id, Event.state == "active",
                                               Event.occurred_on == on)).all()
    for e in same:
        if (e.doc_number, e.title, e.occurred_at) == (doc_number, title, at_utc):
            raise DuplicateEvent(f"event {e.id} already records trigger {trigger_key!r} of plan {trigger.plan_id!r} "
                                 f"on {on} (document {doc_number!r}, title {title!r}); correct it instead "
                                 f"(duban event correct), or tell a second event apart with --doc-number, "
                                 f"--title or --at")
    ev = Event(trigger_id=trigger.id, occurred_on=on, occurred_at=at_utc, doc_number=doc_number, title=title,
               received_on=received, actor=actor, note=note, state="active")
    session.add(ev)
    session.flush()
    stats = _reproject(session, trigger, proj)
    audit.append(session, actor=actor, source=source, action="event.recorded", object_type="event",
                 object_id=ev.id,
                 after={**_event_json(ev, trigger), "activated": stats.added, "moved": stats.moved,
                        "cancelled": stats.cancelled, "dues": event_dues(session, ev.id),
                        "changes": stats.changes})
    return [(ev, stats)]


_KEEP: Any = object()


def _active_event(session: Session, event_id: int, *, role: str, unit_ids: Collection[int] | None,
                  doing: str) -> Event:
    """The active event ``event_id``, once the caller may act on its plan's events."""
    authorize(session, "event", role=role, unit_ids=unit_ids)
    ev = session.get(Event, event_id)
    if ev is None:
        raise NotFound(f"no event {event_id!r}")
    authorize(session, "event", role=role, unit_ids=unit_ids, plan_id=ev.trigger.plan_id)
    if ev.state != "active":
        raise ServiceError(f"event {event_id!r} is already {ev.state}; only an active event can be {doing}")
    return ev


def correct_event(session: Session, event_id: int, *, on: dt.date, actor: str, proj: Projection,
                  reason: str | None = None, source: audit.Source = "cli", at: dt.datetime | None = _KEEP,
                  role: str = OPERATOR, unit_ids: Collection[int] | None = None) -> SyncStats:
    """Change an event's date; dependent due dates move, the old ones stay in the audit log.

    A known time of day is kept on the new date unless ``at`` gives another
    instant (or ``None`` to forget it).
    """
    ev = _active_event(session, event_id, role=role, unit_ids=unit_ids, doing="corrected")
    _check_in_calendar(proj.calendar, on)
    if at is _KEEP:
        tz = proj.calendar.tz
        at = (dt.datetime.combine(on, ev.occurred_at.astimezone(tz).time(), tzinfo=tz)
              if ev.occurred_at is not None else None)
    at_utc = _local_at(on, at, proj.calendar.tz)
    if ev.occurred_on == on and ev.occurred_at == at_utc:
        raise ServiceError(f"event {event_id!r} is already on {on}; nothing to correct")
    before = _event_json(ev)
    ev.occurred_on, ev.occurred_at = on, at_utc
    session.flush()
    stats = _reproject(session, ev.trigger, proj)
    audit.append(session, actor=actor, source=source, action="event.corrected", object_type="event",
                 object_id=ev.id, before=before,
                 after={**_event_json(ev, ev.trigger), "moved": stats.moved, "activated": stats.added,
                        "cancelled": stats.cancelled, "changes": stats.changes}, reason=reason)
    return stats


def retract_event(session: Session, event_id: int, *, reason: str, actor: str, proj: Projection,
                  source: audit.Source = "cli", role: str = OPERATOR,
                  unit_ids: Collection[int] | None = None) -> SyncStats:
    """Undo an event recorded in error: its open due instances are cancelled (history kept).

    Instances already completed stay completed: what a unit did is history.
    """
    ev = _active_event(session, event_id, role=role, unit_ids=unit_ids, doing="retracted")
    if not reason.strip():
        raise ServiceError("a retraction needs a reason")
    before = _event_json(ev)
    ev.state = "retracted"
    session.flush()
    stats = _reproject(session, ev.trigger, proj)
    audit.append(session, actor=actor, source=source, action="event.retracted", object_type="event",
                 object_id=ev.id, before=before,
                 after={**_event_json(ev, ev.trigger), "cancelled": stats.cancelled, "moved": stats.moved,
                        "activated": stats.added, "changes": stats.changes}, reason=reason)
    return stats


@dataclass(frozen=True, kw_only=True, slots=True)
class EventRow:
    """An event as ``duban event list`` shows it."""

    id: int
    trigger: str
    plan: str
    on: dt.date
    at: dt.datetime | None
    doc_number: str | None
    title: str | None
    received: dt.date | None
    actor: str
    note: str | None
    state: str
    recorded_at: dt.datetime
    open_dues: int
    done_dues: int
    tz: dt.tzinfo = CHINA_TZ

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "trigger": self.trigger, "plan": self.plan, "date": self.on.isoformat(),
                "at": self.at.astimezone(self.tz).isoformat() if self.at else None,
                "doc_number": self.doc_number, "title": self.title,
                "received": self.received.isoformat() if self.received else None, "actor": self.actor,
                "note": self.note, "state": self.state,
                "recorded_at": self.recorded_at.isoformat(timespec="seconds"),
                "open_dues": self.open_dues, "done_dues": self.done_dues}


def list_events(session: Session, *, plan: str | None = None, trigger: str | None = None,
                tz: dt.tzinfo = CHINA_TZ) -> list[EventRow]:
    """Every event (retracted ones too: they are history), oldest first; instants shown in ``tz``."""
    counts: dict[tuple[int, str], int] = {
        (eid, state): n for eid, state, n in session.execute(
            select(Occurrence.event_id, Occurrence.state, func.count())
            .where(Occurrence.event_id.is_not(None)).group_by(Occurrence.event_id, Occurrence.state))}
    stmt = select(Event, Trigger).join(Trigger, Trigger.id == Event.trigger_id).order_by(Event.occurred_on, Event.id)
    if plan:
        stmt = stmt.where(Trigger.plan_id == plan)
    if trigger:
        stmt = stmt.where(Trigger.key == trigger)
    return [EventRow(id=ev.id, trigger=t.key, plan=t.plan_id, on=ev.occurred_on, at=ev.occurred_at,
                     doc_number=ev.doc_number, title=ev.title, received=ev.received_on, actor=ev.actor, note=ev.note,
                     state=ev.state, recorded_at=ev.recorded_at, open_dues=counts.get((ev.id, "open"), 0),
                     done_dues=counts.get((ev.id, "done"), 0), tz=tz)
            for ev, t in session.execute(stmt)]
