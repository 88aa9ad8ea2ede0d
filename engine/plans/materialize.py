"""Materialise due instances (occurrences) from obligations' specs.

One function serves the plan import (new and changed plans) and the event
commands (a provincial document arrives, an event is corrected or
retracted): project each obligation's leaf spec with the trigger events now
on record, then insert new due instances, move open ones whose date changed,
and cancel open ones that no longer follow from the data. Done or waived
instances are history and never touched.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import datetime as dt

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ...store.bulk import bulk_insert
from ...store.models import Event, Extension, Obligation, Occurrence
from ..deadlines.calendar import WorkingCalendar
from ..deadlines.spec import Offset, spec_from_json
from ..deadlines.projection import Due, EventOccurrence, PlanContext, project

#: (obligation id, natural key, leaf spec JSON, trigger key or None)
ObligationRef = tuple[int, str, Mapping[str, Any], str | None]


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


def sync_occurrences(
    session: Session,
    obligations: Sequence[ObligationRef],
    *,
    ctx: PlanContext,
    calendar: WorkingCalendar,
    events: Mapping[str, Sequence[EventOccurrence]],
    default_offset: Offset,
    checkins: Sequence[tuple[int, int]],
) -> SyncStats:
    """Bring the open occurrences of ``obligations`` in line with their projection."""
    stats = SyncStats()
    existing: dict[int, dict[str, Any]] = defaultdict(dict)
    ids = [ref[0] for ref in obligations]
    for start in range(0, len(ids), 5000):
        chunk = ids[start:start + 5000]
        for occ in session.execute(select(Occurrence.id, Occurrence.obligation_id, Occurrence.key, Occurrence.due,
                                          Occurrence.state, Occurrence.event_id)
                                   .where(Occurrence.obligation_id.in_(chunk))):
            existing[occ.obligation_id][occ.key] = occ
    projections: dict[tuple[str, str], list[Due]] = {}
    inserts: list[dict[str, Any]] = []
    for oid, okey, spec_json, trigger in obligations:
        cache_key = (json.dumps(spec_json, sort_keys=True), trigger or "")
        dues = projections.get(cache_key)
        if dues is None:
            spec = spec_from_json(spec_json)
            trigger_events = {getattr(spec, "event", ""): events.get(trigger, [])} if trigger else {}
            dues = project(spec, ctx, calendar, events=trigger_events, default_offset=default_offset,
                           checkins=checkins)
            projections[cache_key] = dues
        have = existing.get(oid, {})
        first_event = events.get(trigger or "", [])
        for due in dues:
            event_id = _event_id(due, first_event)
            old = have.get(due.key)
            if old is None:
                inserts.append({"obligation_id": oid, "key": due.key, "label": due.label, "due": due.due,
                                "checkin": due.checkin, "state": "open", "event_id": event_id})
            elif old.state == "cancelled":
                session.execute(update(Occurrence).where(Occurrence.id == old.id)
                                .values(state="open", due=due.due, label=due.label, event_id=event_id))
                stats.added += 1
            elif old.state == "open" and (old.due != due.due or old.event_id != event_id):
                session.execute(update(Occurrence).where(Occurrence.id == old.id)
                                .values(due=due.due, label=due.label, event_id=event_id))
                if old.due != due.due:
                    stats.moved += 1
                    stats.changes.append({"obligation": okey, "occurrence": due.key,
                                          "due_before": old.due.isoformat(), "due_after": due.due.isoformat()})
        keys = {d.key for d in dues}
        stale = [o for k, o in have.items() if k not in keys and o.state == "open"]
        if stale:
            session.execute(update(Occurrence).where(Occurrence.id.in_([o.id for o in stale])).values(state="cancelled"))
            stats.cancelled += len(stale)
            stats.changes.extend({"obligation": okey, "occurrence": o.key, "cancelled": o.due.isoformat()}
                                 for o in stale)
    bulk_insert(session, Occurrence.__table__, inserts)
    stats.added += len(inserts)
    return stats


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
