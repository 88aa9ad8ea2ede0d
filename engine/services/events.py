"""Events that start triggered deadlines, and completions of obligations.

These are the state-changing services behind ``duban event ...``,
``duban complete``, ``duban waive`` and the web forms. Each runs inside the
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

Who may do what (权限) is decided here, not in the CLI or the web layer, so
both go through the same check: every service takes the caller's ``role``
(and, for a clerk, the ids of the units it acts for). The CLI has no login:
it runs as the trusted :data:`OPERATOR` (whoever can run it can edit the
database anyway) and records the ``--actor`` name it is given.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ...store import audit
from ...store.models import Event, Extension, Obligation, Occurrence, Plan, Trigger, Unit
from ..deadlines.calendar import WorkingCalendar
from ..deadlines.spec import Offset
from ...errors import DubanError
from ..plans.materialize import SyncStats, active_events, sync_occurrences
from ..deadlines.projection import SHANGHAI, PlanContext


class ServiceError(DubanError, ValueError):
    """A request that cannot be carried out as asked (wrong id, wrong state)."""


class NotFound(DubanError, LookupError):
    """No such trigger, event or obligation."""


class DuplicateEvent(ServiceError):
    """The same event (trigger, date, instant, document number, title) is already on record."""


class PermissionDenied(DubanError, PermissionError):
    """The caller's role (or units) does not allow this action."""


# --------------------------------------------------------------------------- roles

Role = Literal["operator", "admin", "supervisor", "clerk", "viewer"]
ROLES: tuple[Role, ...] = ("operator", "admin", "supervisor", "clerk", "viewer")
OPERATOR: Role = "operator"
"""The CLI's role: a trusted operator on the server, with a supervisor's powers."""

Action = Literal["event", "complete", "waive", "extend.request", "extend.decide"]

#: Roles allowed outright; a clerk is allowed the actions in _CLERK_OWN_UNITS for its own units only,
#: and may record events when it acts for a supervising office (督查室).
_GRANTS: dict[str, frozenset[str]] = {
    "event": frozenset({"operator", "admin", "supervisor"}),
    "complete": frozenset({"operator", "admin", "supervisor"}),
    "waive": frozenset({"operator", "admin", "supervisor"}),
    "extend.request": frozenset({"operator", "admin", "supervisor"}),
    "extend.decide": frozenset({"operator", "admin", "supervisor"}),
}
_CLERK_OWN_UNITS = frozenset({"complete", "extend.request"})
_ACTION_ZH = {"event": "登记触发事件", "complete": "报告完成", "waive": "免予督办",
              "extend.request": "申请延期", "extend.decide": "审批延期"}


def authorize(session: Session, action: Action, *, role: Role, unit_ids: Collection[int] | None = None,
              obligation: Obligation | None = None) -> None:
    """Refuse ``action`` unless ``role`` (with ``unit_ids`` for a clerk) allows it.

    A clerk acts only for its own units: it may report completion of, or ask
    for an extension on, its units' obligations, and may record events only
    when one of its units is a supervising office. A viewer changes nothing.
    """
    if role not in ROLES:
        raise PermissionDenied(f"unknown role {role!r}; roles: {', '.join(ROLES)}")
    if role in _GRANTS[action]:
        return
    what = _ACTION_ZH[action]
    if role == "clerk":
        units = set(unit_ids or ())
        if action in _CLERK_OWN_UNITS and obligation is not None:
            if obligation.unit_id in units:
                return
            unit = session.get(Unit, obligation.unit_id)
            raise PermissionDenied(f"a clerk may {action} ({what}) only for its own units; obligation "
                                   f"{obligation.id!r} belongs to {unit.name if unit else obligation.unit_id!r}")
        if action == "event" and units and session.scalar(
                select(func.count()).select_from(Unit).where(Unit.id.in_(units), Unit.is_supervisor.is_(True))):
            return
    raise PermissionDenied(f"role {role!r} may not {action} ({what})")


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
    return stats


def reapply_extensions(session: Session, stats: SyncStats | None = None, *, plan_id: str,
                       trigger_key: str | None = None) -> int:
    """Restore approved extensions that a re-projection moved back; returns how many it restored.

    The plan import re-projects too: it should call this after its own sync
    (with ``trigger_key=None`` for the whole plan).
    """
    stmt = (select(Occurrence.id, Occurrence.due, Occurrence.key, Obligation.okey, func.max(Extension.until))
            .join(Extension, Extension.occurrence_id == Occurrence.id)
            .join(Obligation, Obligation.id == Occurrence.obligation_id)
            .where(Extension.status == "approved", Occurrence.state == "open", Obligation.plan_id == plan_id)
            .group_by(Occurrence.id, Occurrence.due, Occurrence.key, Obligation.okey))
    if trigger_key is not None:
        stmt = stmt.where(Obligation.trigger_key == trigger_key)
    restored = 0
    for occ_id, due, key, okey, until in session.execute(stmt).all():
        if until > due:
            session.execute(update(Occurrence).where(Occurrence.id == occ_id).values(due=until))
            restored += 1
            if stats is not None:
                _drop_change(stats, okey, key, until)
    return restored


def _drop_change(stats: SyncStats, okey: str, key: str, due: dt.date) -> None:
    """Forget a "moved" change that the restored extension undid (it did not happen, in effect)."""
    for i, change in enumerate(stats.changes):
        if change.get("obligation") == okey and change.get("occurrence") == key and "due_before" in change:
            if change["due_before"] == due.isoformat():
                del stats.changes[i]
                stats.moved -= 1
            else:
                stats.changes[i] = {**change, "due_after": due.isoformat(), "kept_extension": True}
            return


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


def _local_at(on: dt.date, at: dt.datetime | None) -> dt.datetime | None:
    """Check that an event's instant falls on its (Asia/Shanghai) date; naive means Shanghai time."""
    if at is None:
        return None
    local = at.replace(tzinfo=SHANGHAI) if at.tzinfo is None else at.astimezone(SHANGHAI)
    if local.date() != on:
        raise ServiceError(f"the event's time {local.isoformat()!r} is on {local.date()} in Asia/Shanghai, "
                           f"not on its date {on.isoformat()!r}")
    return local.astimezone(dt.timezone.utc)


# --------------------------------------------------------------------------- events


def record_event(session: Session, *, trigger_key: str, on: dt.date, actor: str, proj: Projection,
                 plan: str | None = None, at: dt.datetime | None = None, doc_number: str | None = None,
                 title: str | None = None, received: dt.date | None = None, note: str | None = None,
                 source: audit.Source = "cli", role: Role = OPERATOR,
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
    at_utc = _local_at(on, at)
    trigger = _trigger(session, trigger_key, plan)
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


def correct_event(session: Session, event_id: int, *, on: dt.date, actor: str, proj: Projection,
                  reason: str | None = None, source: audit.Source = "cli", at: dt.datetime | None = _KEEP,
                  role: Role = OPERATOR, unit_ids: Collection[int] | None = None) -> SyncStats:
    """Change an event's date; dependent due dates move, the old ones stay in the audit log.

    A known time of day is kept on the new date unless ``at`` gives another
    instant (or ``None`` to forget it).
    """
    authorize(session, "event", role=role, unit_ids=unit_ids)
    ev = session.get(Event, event_id)
    if ev is None:
        raise NotFound(f"no event {event_id!r}")
    if ev.state != "active":
        raise ServiceError(f"event {event_id!r} is {ev.state}; only an active event can be corrected")
    if at is _KEEP:
        at = (dt.datetime.combine(on, ev.occurred_at.astimezone(SHANGHAI).time(), tzinfo=SHANGHAI)
              if ev.occurred_at is not None else None)
    at_utc = _local_at(on, at)
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
                  source: audit.Source = "cli", role: Role = OPERATOR,
                  unit_ids: Collection[int] | None = None) -> SyncStats:
    """Undo an event recorded in error: its open due instances are cancelled (history kept).

    Instances already completed stay completed: what a unit did is history.
    """
    authorize(session, "event", role=role, unit_ids=unit_ids)
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

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "trigger": self.trigger, "plan": self.plan, "date": self.on.isoformat(),
                "at": self.at.astimezone(SHANGHAI).isoformat() if self.at else None,
                "doc_number": self.doc_number, "title": self.title,
                "received": self.received.isoformat() if self.received else None, "actor": self.actor,
                "note": self.note, "state": self.state,
                "recorded_at": self.recorded_at.isoformat(timespec="seconds"),
                "open_dues": self.open_dues, "done_dues": self.done_dues}


def list_events(session: Session, *, plan: str | None = None, trigger: str | None = None) -> list[EventRow]:
    """Every event (retracted ones too: they are history), oldest first."""
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
                     done_dues=counts.get((ev.id, "done"), 0))
            for ev, t in session.execute(stmt)]


# --------------------------------------------------------------------------- completions

_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def live_obligation(session: Session, obligation_id: int) -> Obligation:
    ob = session.get(Obligation, obligation_id)
    if ob is None or ob.state == "retired":
        raise NotFound(f"no obligation {obligation_id!r}" + (" (it was retired from its plan)" if ob else ""))
    # Re-projections write due instances with bulk statements: read them afresh, not from the identity map.
    session.expire(ob, ["occurrences"])
    return ob


def occurrence_for(obligation: Obligation, occurrence: str | dt.date | None,
                   states: Collection[str] = ("open", "done")) -> Occurrence:
    """The due instance an action is for: the given key or due date, else the earliest open one.

    A web form sends text: an empty value means "the earliest open one", and
    ``YYYY-MM-DD`` is read as a due date.
    """
    if isinstance(occurrence, str):
        occurrence = occurrence.strip() or None
        if occurrence is not None and _ISO_DAY.fullmatch(occurrence):
            try:
                occurrence = dt.date.fromisoformat(occurrence)
            except ValueError:
                pass  # not a real date: looked up as a key, and reported as missing with the instances listed
    occs = [o for o in obligation.occurrences if o.state in states]
    if occurrence is None:
        open_ = sorted((o for o in occs if o.state == "open"), key=lambda o: (o.due, o.key))
        if not open_:
            live = [o for o in obligation.occurrences if o.state != "cancelled"]
            if obligation.kind == "triggered" and not live:
                why = " (it is dormant: its trigger has not happened)"
            elif live and all(o.state == "done" for o in live):
                last = max(live, key=lambda o: o.due)
                why = f" (already completed: {last.key} due {last.due} was done on {last.completed_on})"
            else:
                why = ""
            raise ServiceError(f"obligation {obligation.id!r} has no open due instance{why}")
        return open_[0]
    matches = [o for o in occs if o.key == str(occurrence)
               or (isinstance(occurrence, dt.date) and o.due == occurrence)]
    if len(matches) > 1:  # two instances due the same day (a check-in and the final due): prefer the open one
        matches = [o for o in matches if o.state == "open"] or matches
    if matches:
        return matches[0]
    raise NotFound(f"obligation {obligation.id!r} has no due instance {str(occurrence)!r}; "
                   f"instances: {', '.join(f'{o.key} ({o.due}, {o.state})' for o in occs) or '(none)'}")


def complete(session: Session, obligation_id: int, *, on: dt.date, evidence: str, actor: str,
             calendar: WorkingCalendar, occurrence: str | dt.date | None = None,
             source: audit.Source = "cli", role: Role = OPERATOR,
             unit_ids: Collection[int] | None = None) -> Occurrence:
    """Record that a unit completed a due instance, with evidence (落实情况).

    A completion after the due date is recorded as late, by the working days
    in (due, completed] on the official calendar — completing on the Sunday
    after a Saturday due date is late by 0 working days, i.e. on time.
    """
    ob = live_obligation(session, obligation_id)
    authorize(session, "complete", role=role, unit_ids=unit_ids, obligation=ob)
    if ob.state == "waived":
        raise ServiceError(f"obligation {obligation_id!r} was waived; nothing to complete")
    if not evidence.strip():
        raise ServiceError("a completion needs evidence (the URL of the published page, or a description)")
    if not actor.strip():
        raise ServiceError("a completion needs an actor (who reports it)")
    occ = occurrence_for(ob, occurrence)
    if occ.state == "done":
        raise ServiceError(f"due instance {occ.key!r} of obligation {obligation_id!r} is already done "
                           f"(on {occ.completed_on})")
    late = max(0, calendar.workdays_between(occ.due, on)) if on > occ.due else 0
    before = {"occurrence": occ.key, "state": occ.state, "due": occ.due.isoformat()}
    occ.state, occ.completed_on, occ.evidence, occ.late_by = "done", on, evidence, late
    if ob.kind in ("fixed", "relative") and all(o.state in ("done", "cancelled", "waived") for o in ob.occurrences):
        ob.state = "done"
    session.flush()
    audit.append(session, actor=actor, source=source, action="obligation.completed", object_type="obligation",
                 object_id=ob.id, before=before,
                 after={"occurrence": occ.key, "state": "done", "due": occ.due.isoformat(),
                        "completed_on": on.isoformat(), "evidence": evidence, "late": on > occ.due,
                        "late_by_working_days": late})
    return occ


def waive(session: Session, obligation_id: int, *, reason: str, actor: str, source: audit.Source = "cli",
          occurrence: str | dt.date | None = None, role: Role = OPERATOR,
          unit_ids: Collection[int] | None = None) -> Obligation:
    """A supervisor releases a unit from an obligation (免予督办); no reminders from the next tick on.

    With ``occurrence``, only that due instance is waived (e.g. an emergency's
    press conference for a unit that did not handle it); the obligation stays
    live for its other instances and for future events.
    """
    ob = live_obligation(session, obligation_id)
    authorize(session, "waive", role=role, unit_ids=unit_ids, obligation=ob)
    if not reason.strip():
        raise ServiceError("a waiver needs a reason")
    if ob.state == "waived":
        raise ServiceError(f"obligation {obligation_id!r} is already waived")
    if occurrence is not None:
        occ = occurrence_for(ob, occurrence, states=("open", "done"))
        if occ.state != "open":
            raise ServiceError(f"due instance {occ.key!r} of obligation {obligation_id!r} is {occ.state}; "
                               f"only an open one can be waived")
        before: dict[str, Any] = {"occurrence": occ.key, "state": occ.state, "due": occ.due.isoformat()}
        occ.state = "waived"
        after: dict[str, Any] = {"occurrence": occ.key, "state": "waived"}
    else:
        waived = [o for o in ob.occurrences if o.state == "open"]
        before = {"state": ob.state, "open": [o.key for o in waived]}
        ob.state = "waived"
        for occ in waived:
            occ.state = "waived"
        after = {"state": "waived", "waived": [o.key for o in waived]}
    session.flush()
    audit.append(session, actor=actor, source=source, action="obligation.waived", object_type="obligation",
                 object_id=ob.id, before=before, after=after, reason=reason)
    return ob
