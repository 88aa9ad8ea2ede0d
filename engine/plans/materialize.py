"""Materialise due instances (occurrences) from obligations' specs.

One function serves the plan import (new and changed plans) and the event
commands (a provincial document arrives, an event is corrected or
retracted): project each obligation's leaf spec with the trigger events now
on record, then insert new due instances, move open ones whose date changed,
and cancel open ones that no longer follow from the data. Done or waived
instances are history and never touched.

Cost: obligations of one deadline share their leaf spec, so a spec is
projected once (:class:`Projector`) however many units owe it. The stored
instances are read with one query keyed by the plan when the caller names it
(no long ``IN`` list of obligation ids to build and send), and not at all for
obligations the caller knows are new. New instances go in with one bulk
insert (``COPY`` on PostgreSQL), changed ones with one executemany.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import datetime as dt

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ...store.bulk import chunked, insert_tuples
from ...store.models import Event, Extension, Obligation, Occurrence
from ..deadlines.calendar import WorkingCalendar
from ..deadlines.spec import Offset, spec_from_json
from ..deadlines.projection import Due, EventOccurrence, PlanContext, project

#: (obligation id, natural key, leaf spec JSON, trigger key or None)
ObligationRef = tuple[int, str, Mapping[str, Any], str | None]
#: The columns of a new due instance, in the order :func:`sync_occurrences` builds them.
OCCURRENCE_COLUMNS = ("obligation_id", "key", "label", "due", "checkin", "state", "event_id")


@dataclass(kw_only=True)
class SyncStats:
    added: int = 0
    moved: int = 0
    cancelled: int = 0
    changes: list[dict[str, Any]] = field(default_factory=list)


def active_events(session: Session, trigger_ids: Mapping[str, int]) -> dict[str, list[EventOccurrence]]:
    """Active (not retracted) events per trigger key, oldest first."""
    by_id = {v: k for k, v in trigger_ids.items()}
    out: dict[str, list[EventOccurrence]] = defaultdict(list)
    if not by_id:
        return out
    for ev in session.scalars(select(Event).where(Event.trigger_id.in_(list(by_id)), Event.state == "active")
                              .order_by(Event.occurred_on, Event.id)):
        out[by_id[ev.trigger_id]].append(EventOccurrence(id=str(ev.id), on=ev.occurred_on, at=ev.occurred_at))
    return out


class Projector:
    """Projects leaf specs for one plan, each distinct (spec, trigger) once.

    Specs are told apart by their canonical JSON; the text of a spec object is
    computed once per object (obligations of one deadline share the object),
    keyed by ``id()`` with the object kept alive beside it so an id cannot be
    reused during the projector's life.
    """

    def __init__(self, *, ctx: PlanContext, calendar: WorkingCalendar,
                 events: Mapping[str, Sequence[EventOccurrence]], default_offset: Offset,
                 checkins: Sequence[tuple[int, int]]) -> None:
        self.ctx, self.calendar, self.events = ctx, calendar, events
        self.default_offset, self.checkins = default_offset, checkins
        self._text: dict[int, tuple[Mapping[str, Any], str]] = {}
        self._dues: dict[tuple[str, str], list[Due]] = {}

    def dues(self, spec_json: Mapping[str, Any], trigger: str | None) -> list[Due]:
        """The due instances of one leaf spec (waiting on ``trigger``'s events, if any)."""
        hit = self._text.get(id(spec_json))
        if hit is None or hit[0] is not spec_json:
            hit = self._text[id(spec_json)] = (spec_json, json.dumps(spec_json, sort_keys=True))
        key = (hit[1], trigger or "")
        dues = self._dues.get(key)
        if dues is None:
            spec = spec_from_json(spec_json)
            trigger_events = {getattr(spec, "event", ""): self.events.get(trigger, [])} if trigger else {}
            dues = self._dues[key] = project(spec, self.ctx, self.calendar, events=trigger_events,
                                             default_offset=self.default_offset, checkins=self.checkins)
        return dues


def stored_occurrences(session: Session, *, plan_id: str | None = None,
                       obligation_ids: Sequence[int] = ()) -> dict[int, dict[str, Any]]:
    """The stored due instances per obligation id and key: of a whole plan, or of the given obligations."""
    existing: dict[int, dict[str, Any]] = defaultdict(dict)
    cols = (Occurrence.id, Occurrence.obligation_id, Occurrence.key, Occurrence.due, Occurrence.state,
            Occurrence.event_id)
    if plan_id is not None:
        queries = [select(*cols).join(Obligation, Obligation.id == Occurrence.obligation_id)
                   .where(Obligation.plan_id == plan_id)]
    else:
        queries = [select(*cols).where(Occurrence.obligation_id.in_(chunk)) for chunk in chunked(obligation_ids, 5000)]
    for query in queries:
        for occ in session.execute(query):
            existing[occ.obligation_id][occ.key] = occ
    return existing


def sync_occurrences(
    session: Session,
    obligations: Sequence[ObligationRef],
    *,
    ctx: PlanContext,
    calendar: WorkingCalendar,
    events: Mapping[str, Sequence[EventOccurrence]],
    default_offset: Offset,
    checkins: Sequence[tuple[int, int]],
    plan_id: str | None = None,
    new: Collection[int] = (),
) -> SyncStats:
    """Bring the open occurrences of ``obligations`` in line with their projection.

    ``plan_id``: every obligation belongs to this plan (their stored instances
    are read with one query by plan). ``new``: ids of obligations created in
    this transaction, which have no instance yet. When every obligation is
    new nothing is read at all.
    """
    projector = Projector(ctx=ctx, calendar=calendar, events=events, default_offset=default_offset,
                          checkins=checkins)
    if len(new) >= len(obligations):
        existing: Mapping[int, Mapping[str, Any]] = {}
    else:
        existing = stored_occurrences(session, plan_id=plan_id, obligation_ids=[ref[0] for ref in obligations])
    stats = SyncStats()
    inserts: list[tuple[Any, ...]] = []
    reopened: list[dict[str, Any]] = []
    moved: list[dict[str, Any]] = []
    cancelled: list[int] = []
    for oid, okey, spec_json, trigger in obligations:
        dues = projector.dues(spec_json, trigger)
        have = existing.get(oid)
        first_event = events.get(trigger or "", [])
        if not have:
            inserts.extend(occurrence_rows(oid, dues, first_event))
            continue
        _diff(oid, okey, dues, have, first_event, stats, inserts, reopened, moved, cancelled)
    if reopened:
        session.execute(update(Occurrence), reopened)
    if moved:
        session.execute(update(Occurrence), moved)
    for chunk in chunked(cancelled, 5000):
        session.execute(update(Occurrence).where(Occurrence.id.in_(chunk)).values(state="cancelled"))
    insert_tuples(session, Occurrence.__table__, OCCURRENCE_COLUMNS, inserts)
    stats.added += len(inserts)
    return stats


def occurrence_rows(obligation_id: int, dues: Sequence[Due],
                    events: Sequence[EventOccurrence]) -> Iterator[tuple[Any, ...]]:
    """New open due instances of one obligation, as rows of :data:`OCCURRENCE_COLUMNS`."""
    return ((obligation_id, due.key, due.label, due.due, due.checkin, "open", _event_id(due, events)) for due in dues)


def _diff(oid: int, okey: str, dues: Sequence[Due], have: Mapping[str, Any], first_event: Sequence[EventOccurrence],
          stats: SyncStats, inserts: list[tuple[Any, ...]], reopened: list[dict[str, Any]],
          moved: list[dict[str, Any]], cancelled: list[int]) -> None:
    """One obligation with stored instances: what to insert, reopen, move and cancel."""
    for due in dues:
        event_id = _event_id(due, first_event)
        old = have.get(due.key)
        if old is None:
            inserts.append((oid, due.key, due.label, due.due, due.checkin, "open", event_id))
        elif old.state == "cancelled":
            reopened.append({"id": old.id, "state": "open", "due": due.due, "label": due.label, "event_id": event_id})
            stats.added += 1
        elif old.state == "open" and (old.due != due.due or old.event_id != event_id):
            moved.append({"id": old.id, "due": due.due, "label": due.label, "event_id": event_id})
            if old.due != due.due:
                stats.moved += 1
                stats.changes.append({"obligation": okey, "occurrence": due.key,
                                      "due_before": old.due.isoformat(), "due_after": due.due.isoformat()})
    keys = {d.key for d in dues}
    stale = [o for k, o in have.items() if k not in keys and o.state == "open"]
    if stale:
        cancelled.extend(o.id for o in stale)
        stats.cancelled += len(stale)
        stats.changes.extend({"obligation": okey, "occurrence": o.key, "cancelled": o.due.isoformat()}
                             for o in stale)


def _event_id(due: Due, events: Sequence[EventOccurrence]) -> int | None:
    """The event a due instance follows from: its own (per-event) or the first one."""
    if due.key.startswith("event:"):
        return int(due.key.split(":", 1)[1])
    if due.key == "final" and events:
        return int(events[0].id)
    return None


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
