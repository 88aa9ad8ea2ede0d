"""Events that start triggered deadlines, and completions of obligations.

These are the state-changing services behind ``duban event ...``,
``duban complete``, ``duban waive`` and the web forms. Each runs inside the
caller's transaction and writes exactly one audit record, so the change and
its audit row commit or roll back together.

Recording an event (a provincial document arrives, the budget is approved, an
emergency happens) re-projects every obligation waiting on its trigger: the
due date is the event's date plus the spec's offset on the working-day
calendar, or the configured default offset when the text gives none.
Correcting or retracting an event re-projects the same way; the old dates stay
in the audit log.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..store import audit
from ..store.models import Event, Obligation, Occurrence, Plan, Trigger
from .calendar import WorkingCalendar
from .deadlines import Offset
from .errors import DubanError
from .materialize import SyncStats, active_events, sync_occurrences
from .projection import PlanContext


class ServiceError(DubanError, ValueError):
    """A request that cannot be carried out as asked (wrong id, wrong state)."""


class NotFound(DubanError, LookupError):
    """No such trigger, event or obligation."""


class DuplicateEvent(ServiceError):
    """The same event (trigger, date, document number) is already on record."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Projection:
    """Settings the re-projection needs (from the configuration)."""

    calendar: WorkingCalendar
    default_offset: Offset
    checkins: Sequence[tuple[int, int]]


def _triggers(session: Session, key: str, plan: str | None) -> list[Trigger]:
    stmt = select(Trigger).where(Trigger.key == key)
    if plan:
        stmt = stmt.where(Trigger.plan_id == plan)
    found = list(session.scalars(stmt))
    if not found:
        known = session.scalars(select(Trigger.key).distinct().order_by(Trigger.key)).all()
        raise NotFound(f"no trigger {key!r}{' in plan ' + repr(plan) if plan else ''}; "
                       f"known triggers: {', '.join(known) or '(none)'}")
    return found


def _reproject(session: Session, trigger: Trigger, proj: Projection) -> SyncStats:
    plan = session.get(Plan, trigger.plan_id)
    assert plan is not None  # FK
    refs = [(o.id, o.okey, o.spec, o.trigger_key) for o in session.scalars(
        select(Obligation).where(Obligation.plan_id == plan.id, Obligation.trigger_key == trigger.key,
                                 Obligation.state == "active"))]
    events = active_events(session, {trigger.key: trigger.id})
    return sync_occurrences(session, refs, ctx=PlanContext(plan_year=plan.plan_year, published=plan.published),
                            calendar=proj.calendar, events=events, default_offset=proj.default_offset,
                            checkins=proj.checkins)


def _event_json(ev: Event) -> dict[str, Any]:
    return {"id": ev.id, "trigger_id": ev.trigger_id, "occurred_on": ev.occurred_on.isoformat(),
            "occurred_at": ev.occurred_at.isoformat() if ev.occurred_at else None, "doc_number": ev.doc_number,
            "title": ev.title, "received_on": ev.received_on.isoformat() if ev.received_on else None,
            "note": ev.note, "state": ev.state}


def record_event(session: Session, *, trigger_key: str, on: dt.date, actor: str, proj: Projection,
                 plan: str | None = None, at: dt.datetime | None = None, doc_number: str | None = None,
                 title: str | None = None, received: dt.date | None = None, note: str | None = None,
                 source: audit.Source = "cli") -> list[tuple[Event, SyncStats]]:
    """Record that a trigger happened and activate every obligation waiting on it."""
    if received is not None and received < on:
        raise ServiceError(f"received {received} is before the event date {on}")
    out = []
    for trigger in _triggers(session, trigger_key, plan):
        same = session.scalars(select(Event).where(Event.trigger_id == trigger.id, Event.state == "active",
                                                   Event.occurred_on == on)).all()
        if any(e.doc_number == doc_number for e in same):
            raise DuplicateEvent(f"event {same[0].id} already records trigger {trigger_key!r} of plan "
                                 f"{trigger.plan_id!r} on {on} (document {doc_number!r}); correct it instead "
                                 f"(duban event correct)")
        ev = Event(trigger_id=trigger.id, occurred_on=on, occurred_at=at, doc_number=doc_number, title=title,
                   received_on=received, actor=actor, note=note, state="active")
        session.add(ev)
        session.flush()
        stats = _reproject(session, trigger, proj)
        audit.append(session, actor=actor, source=source, action="event.recorded", object_type="event",
                     object_id=ev.id, after={**_event_json(ev), "trigger": trigger.key, "plan": trigger.plan_id,
                                             "activated": stats.added, "changes": stats.changes})
        out.append((ev, stats))
    return out


def correct_event(session: Session, event_id: int, *, on: dt.date, actor: str, proj: Projection,
                  reason: str | None = None, source: audit.Source = "cli") -> SyncStats:
    """Change an event's date; dependent due dates move, the old ones stay in the audit log."""
    ev = session.get(Event, event_id)
    if ev is None:
        raise NotFound(f"no event {event_id!r}")
    if ev.state != "active":
        raise ServiceError(f"event {event_id!r} is {ev.state}; only an active event can be corrected")
    before = _event_json(ev)
    ev.occurred_on = on
    session.flush()
    stats = _reproject(session, ev.trigger, proj)
    audit.append(session, actor=actor, source=source, action="event.corrected", object_type="event",
                 object_id=ev.id, before=before, after={**_event_json(ev), "changes": stats.changes}, reason=reason)
    return stats


def retract_event(session: Session, event_id: int, *, reason: str, actor: str, proj: Projection,
                  source: audit.Source = "cli") -> SyncStats:
    """Undo an event recorded in error: its due instances are cancelled (history kept)."""
    ev = session.get(Event, event_id)
    if ev is None:
        raise NotFound(f"no event {event_id!r}")
    if ev.state != "active":
        raise ServiceError(f"event {event_id!r} is already {ev.state}")
    if not reason.strip():
        raise ServiceError("a retraction needs a reason")
    before = _event_json(ev)
    ev.state = "retracted"
    session.flush()
    stats = _reproject(session, ev.trigger, proj)
    audit.append(session, actor=actor, source=source, action="event.retracted", object_type="event",
                 object_id=ev.id, before=before, after={**_event_json(ev), "changes": stats.changes}, reason=reason)
    return stats


# --------------------------------------------------------------------------- completions


def _occurrence_for(session: Session, obligation: Obligation, occurrence: str | dt.date | None) -> Occurrence:
    """The due instance a completion is for: the given key/date, else the earliest open one."""
    occs = [o for o in obligation.occurrences if o.state in ("open", "done")]
    if occurrence is None:
        open_ = sorted((o for o in occs if o.state == "open"), key=lambda o: o.due)
        if not open_:
            raise ServiceError(f"obligation {obligation.id!r} has no open due instance"
                               + (" (it is dormant: its trigger has not happened)" if obligation.kind == "triggered"
                                  else ""))
        return open_[0]
    for o in occs:
        if o.key == str(occurrence) or (isinstance(occurrence, dt.date) and o.due == occurrence):
            return o
    raise NotFound(f"obligation {obligation.id!r} has no due instance {str(occurrence)!r}; "
                   f"instances: {', '.join(f'{o.key} ({o.due})' for o in occs) or '(none)'}")


def complete(session: Session, obligation_id: int, *, on: dt.date, evidence: str, actor: str,
             calendar: WorkingCalendar, occurrence: str | dt.date | None = None,
             source: audit.Source = "cli") -> Occurrence:
    """Record that a unit completed a due instance, with evidence; late is recorded as late."""
    ob = session.get(Obligation, obligation_id)
    if ob is None or ob.state == "retired":
        raise NotFound(f"no obligation {obligation_id!r}")
    if ob.state == "waived":
        raise ServiceError(f"obligation {obligation_id!r} was waived; nothing to complete")
    if not evidence.strip():
        raise ServiceError("a completion needs evidence (the URL of the published page, or a description)")
    occ = _occurrence_for(session, ob, occurrence)
    if occ.state == "done":
        raise ServiceError(f"due instance {occ.key!r} of obligation {obligation_id!r} is already done "
                           f"(on {occ.completed_on})")
    late = calendar.workdays_between(occ.due, on) if on > occ.due else 0
    before = {"state": occ.state, "due": occ.due.isoformat()}
    occ.state, occ.completed_on, occ.evidence, occ.late_by = "done", on, evidence, late
    if all(o.state in ("done", "cancelled", "waived") for o in ob.occurrences) and ob.kind in ("fixed", "relative"):
        ob.state = "done"
    session.flush()
    audit.append(session, actor=actor, source=source, action="obligation.completed", object_type="obligation",
                 object_id=ob.id, before=before,
                 after={"occurrence": occ.key, "state": "done", "completed_on": on.isoformat(), "evidence": evidence,
                        "late_by_working_days": late})
    return occ


def waive(session: Session, obligation_id: int, *, reason: str, actor: str, source: audit.Source = "cli") -> Obligation:
    """A supervisor releases a unit from an obligation; no more reminders from the next tick on."""
    ob = session.get(Obligation, obligation_id)
    if ob is None or ob.state == "retired":
        raise NotFound(f"no obligation {obligation_id!r}")
    if not reason.strip():
        raise ServiceError("a waiver needs a reason")
    if ob.state == "waived":
        raise ServiceError(f"obligation {obligation_id!r} is already waived")
    before = {"state": ob.state}
    ob.state = "waived"
    for occ in ob.occurrences:
        if occ.state == "open":
            occ.state = "waived"
    session.flush()
    audit.append(session, actor=actor, source=source, action="obligation.waived", object_type="obligation",
                 object_id=ob.id, before=before, after={"state": "waived"}, reason=reason)
    return ob
