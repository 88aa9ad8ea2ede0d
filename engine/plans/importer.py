"""Import validated plans into the store: idempotent, diffed, audited.

``duban plan import`` loads plan files with :func:`duban.engine.plans.planfile.load_plans`
(nothing is written if any file has an error), then, in **one transaction**:

1. upserts the units directories (units, groups and their members, officials);
2. for each plan whose content hash changed: upserts its tasks, requirements,
   deadline entries, triggers and assignments (lead units, and co-units
   (配合单位) as ``role = 'co'`` rows); materialises obligations — one
   per requirement × lead unit (groups expanded) × deadline part — under a natural
   key, so a re-import updates rows in place; retires obligations that left
   the plan (never deletes: their history stays); projects occurrences (due
   instances) and re-projects open ones whose due date moved;
3. writes one audit record per plan (and per directory) saying what changed.

Re-importing an unchanged plan changes nothing, not even an audit row. The
work is done with bulk Core statements so a province-scale plan set imports
at tens of thousands of obligations per second.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from ...store import audit
from ...store.bulk import bulk_insert, chunked
from ...store.models import (
    Assignment,
    DeadlineEntry,
    GroupMember,
    Obligation,
    Occurrence,
    Official,
    Plan,
    Requirement,
    Task,
    Trigger,
    Unit,
)
from ..deadlines.calendar import WorkingCalendar
from ..deadlines.spec import Offset
from .planfile import LoadResult
from .planfile import Plan as PlanData
from .materialize import active_events, reapply_extensions, sync_occurrences
from ..deadlines.projection import EventOccurrence, PlanContext
from .units import UnitDirectory

ProgressFn = Callable[[str, int, int], None]


@dataclass(kw_only=True)
class PlanChange:
    """What an import did to one plan (also the audit record's ``after``)."""

    plan_id: str
    status: str  # created | updated | unchanged
    obligations_added: int = 0
    obligations_updated: int = 0
    obligations_retired: int = 0
    occurrences_added: int = 0
    occurrences_moved: int = 0
    occurrences_cancelled: int = 0
    changes: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(kw_only=True)
class ImportReport:
    plans: list[PlanChange] = field(default_factory=list)
    directories: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"plans": [p.to_json() for p in self.plans], "directories": self.directories}


def content_hash(value: Any) -> str:
    """SHA-256 of a canonical JSON rendering (key order and spacing fixed)."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def plan_document(plan: PlanData) -> dict[str, Any]:
    """Everything of a plan that the store keeps, as plain JSON (for hashing and diffing).

    Co-units appear only when a requirement has them, so a plan without any
    hashes as it did before co-units existed and its re-import stays a no-op.
    """
    return {
        "id": plan.id, "title": plan.title, "issuer": plan.issuer, "doc_number": plan.doc_number,
        "published": plan.published.isoformat(), "plan_year": plan.plan_year, "units": plan.units_id,
        "source": plan.source,
        "triggers": [{"key": t.key, "event": t.event, "description": t.description} for t in plan.triggers],
        "tasks": [
            {
                "no": task.no, "title": task.title,
                "requirements": [
                    {
                        "no": r.no, "text": r.text, "units_cell": r.units_cell, "units": list(r.units),
                        "role": r.role, "inherited": list(r.inherited),
                        **({"co_units_cell": r.co_units_cell, "co_units": list(r.co_units)}
                           if r.co_units_cell or r.co_units else {}),
                        "review": [{"field": n.field, "note": n.note, "status": n.status} for n in r.review],
                        "deadlines": [
                            {"phrase": d.phrase, "source": d.source, "spec": d.spec.to_json(),
                             "overridden": d.overridden, "trigger": d.trigger}
                            for d in r.deadlines
                        ],
                    }
                    for r in task.requirements
                ],
            }
            for task in plan.tasks
        ],
    }


def directory_document(directory: UnitDirectory) -> dict[str, Any]:
    return {
        "id": directory.id, "name": directory.name, "supervisor": directory.supervisor,
        "demo_contacts": directory.demo_contacts,
        "units": [
            {"name": u.name, "full_name": u.full_name, "aliases": list(u.aliases),
             "officials": [{"name": o.name, "role": o.role, "email": o.email, "post": o.post, "phone": o.phone}
                           for o in u.officials]}
            for u in directory.units
        ],
        "groups": [{"name": g.name, "members": list(g.members), "aliases": list(g.aliases), "note": g.note}
                   for g in directory.groups],
    }


class Importer:
    """Writes a :class:`LoadResult` into the store inside the caller's transaction."""

    def __init__(self, session: Session, *, calendar: WorkingCalendar, actor: str, source: audit.Source = "cli",
                 default_offset: Offset | None = None, checkins: Sequence[tuple[int, int]] = ((6, 30), (9, 30)),
                 progress: ProgressFn | None = None) -> None:
        self.s = session
        self.calendar = calendar
        self.actor = actor
        self.source = source
        self.default_offset = default_offset or Offset(unit="working_days", amount=10)
        self.checkins = tuple(checkins)
        self.progress = progress or (lambda _what, _done, _total: None)
        self.unit_ids: dict[tuple[str, str], int] = {}  # (directory, name) → id
        self.directories: dict[str, UnitDirectory] = {}

    # ------------------------------------------------------------------ entry point

    def run(self, result: LoadResult) -> ImportReport:
        result.raise_for_errors()
        self.directories = dict(result.directories)
        report = ImportReport()
        for directory in result.directories.values():
            report.directories[directory.id] = self._directory(directory)
        self.unit_ids = {(d, n): i for d, n, i in self.s.execute(select(Unit.directory, Unit.name, Unit.id)).tuples()}
        for n, plan in enumerate(result.plans, 1):
            report.plans.append(self._plan(plan))
            self.progress("plans", n, len(result.plans))
        return report

    # ------------------------------------------------------------------ units

    def _directory(self, directory: UnitDirectory) -> str:
        doc = directory_document(directory)
        digest = content_hash(doc)
        marker = f"directory:{directory.id}"
        existing = {u.name: u for u in self.s.scalars(select(Unit).where(Unit.directory == directory.id))}
        stored_hash = self.s.execute(
            select(audit.AuditRecord.after).where(audit.AuditRecord.object_id == marker)
            .order_by(audit.AuditRecord.seq.desc()).limit(1)
        ).scalar_one_or_none()
        if existing and stored_hash and stored_hash.get("hash") == digest:
            return "unchanged"
        status = "updated" if existing else "created"
        wanted: dict[str, dict[str, Any]] = {}
        for unit in directory.units:
            wanted[unit.name] = {"full_name": unit.full_name, "is_group": False, "aliases": list(unit.aliases),
                                 "note": None, "is_supervisor": unit.name == directory.supervisor}
        for group in directory.groups:
            wanted[group.name] = {"full_name": None, "is_group": True, "aliases": list(group.aliases),
                                  "note": group.note, "is_supervisor": False}
        for name, values in wanted.items():
            row = existing.get(name)
            if row is None:
                row = Unit(name=name, directory=directory.id, **values)
                self.s.add(row)
                existing[name] = row
            else:
                for key, value in values.items():
                    setattr(row, key, value)
        self.s.flush()
        ids = {name: row.id for name, row in existing.items()}
        # Group membership and officials are small: replace them wholesale.
        group_ids = [ids[g.name] for g in directory.groups]
        if group_ids:
            self.s.execute(delete(GroupMember).where(GroupMember.group_id.in_(group_ids)))
        members = [{"group_id": ids[g.name], "member_id": ids[m]} for g in directory.groups
                   for m in dict.fromkeys(directory.expand(g.name))]
        if members:
            self.s.execute(insert(GroupMember), members)
        unit_ids = [ids[u.name] for u in directory.units]
        self.s.execute(delete(Official).where(Official.unit_id.in_(unit_ids)))
        officials = [
            {"unit_id": ids[u.name], "name": o.name, "role": o.role, "post": o.post, "email": o.email,
             "phone": o.phone, "demo": directory.demo_contacts}
            for u in directory.units for o in u.officials
        ]
        if officials:
            self.s.execute(insert(Official), officials)
        audit.append(self.s, actor=self.actor, source=self.source, action=f"directory.{status}",
                     object_type="directory", object_id=marker,
                     after={"hash": digest, "units": len(directory.units), "groups": len(directory.groups),
                            "officials": len(officials)})
        return status

    # ------------------------------------------------------------------ plans

    def _plan(self, data: PlanData) -> PlanChange:
        doc = plan_document(data)
        digest = content_hash(doc)
        row = self.s.get(Plan, data.id)
        if row is not None and row.content_hash == digest:
            return PlanChange(plan_id=data.id, status="unchanged")
        change = PlanChange(plan_id=data.id, status="updated" if row is not None else "created")
        before = None
        meta = {"title": data.title, "issuer": data.issuer, "doc_number": data.doc_number,
                "published": data.published, "plan_year": data.plan_year, "units_directory": data.units_id,
                "source": data.source, "file_path": data.file, "content_hash": digest}
        if row is None:
            row = Plan(id=data.id, **meta)
            self.s.add(row)
        else:
            before = {"content_hash": row.content_hash, "title": row.title, "published": row.published.isoformat()}
            for key, value in meta.items():
                setattr(row, key, value)
        self.s.flush()
        trigger_ids = self._triggers(data)
        deadline_ids = self._structure(data)
        self._obligations(data, deadline_ids, trigger_ids, change)
        after = {"hash": digest, **change.to_json()}
        audit.append(self.s, actor=self.actor, source=self.source, action=f"plan.{change.status}",
                     object_type="plan", object_id=data.id, before=before, after=after)
        return change

    def _triggers(self, data: PlanData) -> dict[str, int]:
        existing = {t.key: t for t in self.s.scalars(select(Trigger).where(Trigger.plan_id == data.id))}
        for t in data.triggers:
            row = existing.get(t.key)
            if row is None:
                row = Trigger(plan_id=data.id, key=t.key, event_kind=t.event, description=t.description)
                self.s.add(row)
                existing[t.key] = row
            else:
                row.event_kind, row.description = t.event, t.description
        self.s.flush()
        return {key: row.id for key, row in existing.items()}

    def _structure(self, data: PlanData) -> dict[tuple[int, int, int], int]:
        """Upsert tasks, requirements, deadline entries and assignments in bulk; return deadline ids.

        Three reads load what the plan has in the store; new rows go in with one
        multi-row INSERT … RETURNING per table and changed rows with one
        executemany UPDATE, so the cost does not grow with round trips.
        """
        tasks = {no: (tid, title) for tid, no, title in self.s.execute(
            select(Task.id, Task.no, Task.title).where(Task.plan_id == data.id)).tuples()}
        new = [{"plan_id": data.id, "no": t.no, "title": t.title} for t in data.tasks if t.no not in tasks]
        for tid, no in self._insert(Task, new, Task.id, Task.no):
            tasks[no] = (tid, "")
        self._update(Task, [{"id": tasks[t.no][0], "title": t.title} for t in data.tasks
                            if tasks[t.no][1] not in ("", t.title)])
        task_ids = {no: tid for no, (tid, _title) in tasks.items()}

        req_cols = ("text", "units_as_written", "co_units_as_written", "role", "inherited", "review")
        reqs: dict[tuple[int, int], Any] = {
            (row.task_id, row.no): row for row in self.s.execute(
                select(Requirement.id, Requirement.task_id, Requirement.no, *(getattr(Requirement, c) for c in req_cols))
                .join(Task, Task.id == Requirement.task_id).where(Task.plan_id == data.id))}
        wanted_reqs: dict[tuple[int, int], dict[str, Any]] = {}
        for task in data.tasks:
            for req in task.requirements:
                wanted_reqs[(task_ids[task.no], req.no)] = {
                    "task_id": task_ids[task.no], "no": req.no, "text": req.text, "units_as_written": req.units_cell,
                    "co_units_as_written": req.co_units_cell or None, "role": req.role, "inherited": list(req.inherited),
                    "review": [{"field": n.field, "note": n.note, "status": n.status} for n in req.review]}
        req_ids = {key: row.id for key, row in reqs.items()}
        for rid, task_id, no in self._insert(Requirement, [v for k, v in wanted_reqs.items() if k not in reqs],
                                             Requirement.id, Requirement.task_id, Requirement.no):
            req_ids[(task_id, no)] = rid
        self._update(Requirement, [{"id": reqs[k].id, **{c: v[c] for c in req_cols}} for k, v in wanted_reqs.items()
                                   if k in reqs and any(getattr(reqs[k], c) != v[c] for c in req_cols)])

        dl_cols = ("phrase", "source", "spec", "spec_overridden", "trigger_key")
        plan_req_ids = list(req_ids.values())
        entries: dict[tuple[int, int], Any] = {}
        for chunk in chunked(plan_req_ids, 5000):
            for row in self.s.execute(select(DeadlineEntry.id, DeadlineEntry.requirement_id, DeadlineEntry.ordinal,
                                             *(getattr(DeadlineEntry, c) for c in dl_cols))
                                      .where(DeadlineEntry.requirement_id.in_(chunk))):
                entries[(row.requirement_id, row.ordinal)] = row
        wanted_dl: dict[tuple[int, int], dict[str, Any]] = {}
        where: dict[tuple[int, int], tuple[int, int, int]] = {}
        for task in data.tasks:
            for req in task.requirements:
                rid = req_ids[(task_ids[task.no], req.no)]
                for ordinal, entry in enumerate(req.deadlines, 1):
                    wanted_dl[(rid, ordinal)] = {
                        "requirement_id": rid, "ordinal": ordinal, "phrase": entry.phrase, "source": entry.source,
                        "spec": entry.spec.to_json(), "spec_overridden": entry.overridden, "trigger_key": entry.trigger}
                    where[(rid, ordinal)] = (task.no, req.no, ordinal)
        dl_ids = {key: row.id for key, row in entries.items()}
        for did, rid, ordinal in self._insert(DeadlineEntry, [v for k, v in wanted_dl.items() if k not in entries],
                                              DeadlineEntry.id, DeadlineEntry.requirement_id, DeadlineEntry.ordinal):
            dl_ids[(rid, ordinal)] = did
        self._update(DeadlineEntry, [{"id": entries[k].id, **{c: v[c] for c in dl_cols}} for k, v in wanted_dl.items()
                                     if k in entries and any(getattr(entries[k], c) != v[c] for c in dl_cols)])

        # Assignments are derived data: replace the plan's set in two statements.
        for chunk in chunked(plan_req_ids, 5000):
            self.s.execute(delete(Assignment).where(Assignment.requirement_id.in_(chunk)))
        rows = []
        for task in data.tasks:
            for req in task.requirements:
                rows.extend(self._assignments(req_ids[(task_ids[task.no], req.no)], req, data.units_id))
        self._insert(Assignment, rows, Assignment.id)
        return {where[k]: v for k, v in dl_ids.items() if k in where}

    def _insert(self, model: Any, rows: list[dict[str, Any]], *returning: Any) -> list[tuple[Any, ...]]:
        """Bulk INSERT (:func:`duban.store.bulk.bulk_insert`); returns (id, *other returning fields) per row."""
        ids = bulk_insert(self.s, model.__table__, rows, want_ids=True)
        keys = [col.key for col in returning[1:]]
        return [(new_id, *(row[k] for k in keys)) for new_id, row in zip(ids, rows)]

    def _update(self, model: Any, rows: list[dict[str, Any]]) -> None:
        """Bulk UPDATE by primary key (an executemany)."""
        if rows:
            self.s.execute(update(model), rows)

    def _assignments(self, requirement_id: int, req: Any, directory_id: str) -> list[dict[str, Any]]:
        """One row per lead unit, then one ``co`` row per co-unit (配合单位) that is not also a lead.

        ``via_group`` keeps the collective name a unit was written as. The
        plan loader already drops co-units that lead; the check here keeps the
        (requirement, unit) key unique whatever the caller passes.
        """
        directory = self.directories[directory_id]
        inherited = "units" in req.inherited
        rows = [{"requirement_id": requirement_id, "unit_id": self.unit_ids[(directory_id, u)], "role": req.role,
                 "inherited": inherited, "via_group": via} for u, via in _expanded(directory, req.unit_names, req.units)]
        leads = set(req.units)
        rows.extend({"requirement_id": requirement_id, "unit_id": self.unit_ids[(directory_id, u)], "role": "co",
                     "inherited": False, "via_group": via}
                    for u, via in _expanded(directory, req.co_unit_names, req.co_units) if u not in leads)
        return rows

    # ------------------------------------------------------------------ obligations

    def _obligations(self, data: PlanData, deadline_ids: Mapping[tuple[int, int, int], int],
                     trigger_ids: Mapping[str, int], change: PlanChange) -> None:
        ctx = PlanContext(plan_year=data.plan_year, published=data.published)
        events = self._events(trigger_ids)
        wanted: dict[str, dict[str, Any]] = {}
        requirement_ids = {(t, r): i for t, r, i in self.s.execute(
            select(Task.no, Requirement.no, Requirement.id).join(Requirement, Requirement.task_id == Task.id)
            .where(Task.plan_id == data.id)).tuples()}
        for task, req in data.requirements():
            for ordinal, entry in enumerate(req.deadlines, 1):
                for part, leaf in enumerate(entry.spec.leaves()):
                    for unit in req.units:
                        okey = f"{data.id}/{task.no}/{req.no}/{unit}/{ordinal}/{part}"
                        wanted[okey] = {
                            "okey": okey, "plan_id": data.id, "requirement_id": requirement_ids[(task.no, req.no)],
                            "deadline_id": deadline_ids[(task.no, req.no, ordinal)], "unit_id": self.unit_ids[(data.units_id, unit)],
                            "part": part, "kind": leaf.kind, "spec": leaf.to_json(), "trigger_key": entry.trigger,
                        }
        existing = {row.okey: row for row in self.s.execute(
            select(Obligation.id, Obligation.okey, Obligation.spec, Obligation.state, Obligation.kind,
                   Obligation.trigger_key, Obligation.deadline_id, Obligation.requirement_id, Obligation.unit_id)
            .where(Obligation.plan_id == data.id)).all()}
        new_rows = [v for k, v in wanted.items() if k not in existing]
        ids: dict[str, int] = {k: row.id for k, row in existing.items()}
        if new_rows:
            for oid, okey in self._insert(Obligation, new_rows, Obligation.id, Obligation.okey):
                ids[okey] = oid
            change.obligations_added = len(new_rows)
        updates = []
        for okey, values in wanted.items():
            row = existing.get(okey)
            if row is None:
                continue
            fields = ("spec", "kind", "trigger_key", "deadline_id", "requirement_id", "unit_id")
            diff = {f: values[f] for f in fields if getattr(row, f) != values[f]}
            if row.state == "retired":
                diff["state"] = "active"
            if diff:
                updates.append({"id": row.id, **diff})
                change.changes.append({"obligation": okey, "changed": sorted(diff)})
        for item in updates:
            oid = item.pop("id")
            self.s.execute(update(Obligation).where(Obligation.id == oid).values(**item))
        change.obligations_updated = len(updates)
        retired = [row for okey, row in existing.items() if okey not in wanted and row.state != "retired"]
        if retired:
            self.s.execute(update(Obligation).where(Obligation.id.in_([r.id for r in retired])).values(state="retired"))
            self.s.execute(update(Occurrence).where(Occurrence.obligation_id.in_([r.id for r in retired]),
                                                    Occurrence.state == "open").values(state="cancelled"))
            change.obligations_retired = len(retired)
            change.changes.extend({"obligation": r.okey, "retired": True} for r in retired)
        stats = sync_occurrences(
            self.s, [(ids[k], k, v["spec"], v["trigger_key"]) for k, v in wanted.items()], ctx=ctx,
            calendar=self.calendar, events=events, default_offset=self.default_offset, checkins=self.checkins)
        # An approved extension (延期) outlives a re-import that would move the due date back.
        reapply_extensions(self.s, stats, plan_id=data.id)
        change.occurrences_added, change.occurrences_moved = stats.added, stats.moved
        change.occurrences_cancelled = stats.cancelled
        change.changes.extend(stats.changes)

    def _events(self, trigger_ids: Mapping[str, int]) -> dict[str, list[EventOccurrence]]:
        """Active events per trigger key (re-imports keep activated deadlines activated)."""
        return active_events(self.s, trigger_ids)


def _expanded(directory: UnitDirectory, written: Sequence[str],
              units: Sequence[str]) -> list[tuple[str, str | None]]:
    """``units`` (already expanded) each with the group name it came through, or None if named itself."""
    via: dict[str, str | None] = {}
    for name in written:
        for unit in directory.lookup(name) or ():
            via.setdefault(unit, name if directory.is_group(name) else None)
    return [(unit, via.get(unit)) for unit in units]


def import_result(session: Session, result: LoadResult, **kwargs: Any) -> ImportReport:
    """Import everything in ``result`` (which must have no errors) in the caller's transaction."""
    return Importer(session, **kwargs).run(result)
