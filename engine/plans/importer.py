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
work is done with bulk statements. Plans (and directories) new to the store —
the bulk of a province import — have nothing to diff and skip every read of
stored rows: :mod:`duban.engine.plans.fresh` writes a batch of them with one
bulk insert per table, ids drawn up front, obligations and due instances in
one pass. A plan already in the store is diffed here, its stored rows read
with one query per table keyed by the plan. Both paths build their rows in
:mod:`duban.engine.plans.rows`, and produce the same rows and ids
(``tests/test_import_golden.py``).
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from ...store import audit, summary
from ...store.bulk import chunked, insert_tuples
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
from .fresh import BATCH_OBLIGATIONS, estimated_obligations, write_new_directories, write_new_plans
from .materialize import active_events, reapply_extensions, sync_occurrences
from ..deadlines.projection import PlanContext
from .rows import ASSIGNMENT_COLUMNS, DEADLINE_COLUMNS, OBLIGATION_COLUMNS, REQUIREMENT_COLUMNS, TASK_COLUMNS
from .rows import SPEC_AT, TRIGGER_AT, Units, deadline_row, requirement_row, unit_values
from .units import UnitDirectory

ProgressFn = Callable[[str, int, int], None]

@dataclass(kw_only=True)
class StructureIds:
    """The ids of a plan's requirements (by task no, requirement no) and deadline entries (… and ordinal)."""

    requirements: dict[tuple[int, int], int]
    deadlines: dict[tuple[int, int, int], int] = field(default_factory=dict)


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
        self.units = Units(self.directories, self.unit_ids)

    # ------------------------------------------------------------------ entry point

    def run(self, result: LoadResult) -> ImportReport:
        """Import the directories, then the plans in file order.

        Consecutive plans new to the store are written together
        (:func:`duban.engine.plans.fresh.write_new_plans`); a plan already in
        the store goes through the per-plan diff (:meth:`_plan`).
        """
        result.raise_for_errors()
        self.directories = dict(result.directories)
        report = ImportReport()
        self._directories(list(result.directories.values()), report)
        self.unit_ids = {(d, n): i for d, n, i in self.s.execute(select(Unit.directory, Unit.name, Unit.id)).tuples()}
        self.units = Units(self.directories, self.unit_ids)
        stored = set(self.s.scalars(select(Plan.id).where(Plan.id.in_([p.id for p in result.plans]))))
        batch: list[PlanData] = []
        size = 0
        for plan in result.plans:
            if plan.id in stored:  # (or met earlier in this import: written with its batch first)
                self._done(report, self._new_plans(batch), len(result.plans))
                batch, size = [], 0
                self._done(report, [self._plan(plan)], len(result.plans))
            else:
                stored.add(plan.id)
                batch.append(plan)
                size += estimated_obligations(plan)
                if size >= BATCH_OBLIGATIONS:
                    self._done(report, self._new_plans(batch), len(result.plans))
                    batch, size = [], 0
        self._done(report, self._new_plans(batch), len(result.plans))
        return report

    def _done(self, report: ImportReport, changes: list[PlanChange], total: int) -> None:
        """Add imported plans to the report; tell the progress callback."""
        if changes:
            report.plans.extend(changes)
            self.progress("plans", len(report.plans), total)

    # ------------------------------------------------------------------ units

    def _directories(self, directories: Sequence[UnitDirectory], report: ImportReport) -> None:
        """Import the units directories in order: consecutive new ones together, a stored one by its diff."""
        stored = set(self.s.scalars(select(Unit.directory).distinct()
                                    .where(Unit.directory.in_([d.id for d in directories]))))
        batch: list[UnitDirectory] = []
        for directory in [*directories, None]:
            if directory is not None and directory.id not in stored:
                stored.add(directory.id)
                batch.append(directory)
                continue
            officials = write_new_directories(self.s, batch)
            for new, n in zip(batch, officials):
                audit.append(self.s, actor=self.actor, source=self.source, action="directory.created",
                             object_type="directory", object_id=f"directory:{new.id}",
                             after={"hash": content_hash(directory_document(new)), "units": len(new.units),
                                    "groups": len(new.groups), "officials": n})
                report.directories[new.id] = "created"
            batch = []
            if directory is not None:
                report.directories[directory.id] = self._directory(directory)

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
        for name, values in unit_values(directory).items():
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

    def _new_plans(self, batch: Sequence[PlanData]) -> list[PlanChange]:
        """Write plans new to the store together (:mod:`duban.engine.plans.fresh`); one audit record each."""
        if not batch:
            return []
        digests = [content_hash(plan_document(data)) for data in batch]
        for data, digest in zip(batch, digests):
            self.s.add(Plan(id=data.id, **_plan_meta(data, digest)))
        self.s.flush()
        for data in batch:
            for t in data.triggers:
                self.s.add(Trigger(plan_id=data.id, key=t.key, event_kind=t.event, description=t.description))
        self.s.flush()
        written = write_new_plans(self.s, batch, self.units, calendar=self.calendar,
                                  default_offset=self.default_offset, checkins=self.checkins)
        summary.refresh_plans(self.s, [data.id for data in batch])
        changes = []
        for data, digest, w in zip(batch, digests, written):
            change = PlanChange(plan_id=data.id, status="created", obligations_added=w.obligations,
                                occurrences_added=w.occurrences)
            audit.append(self.s, actor=self.actor, source=self.source, action="plan.created", object_type="plan",
                         object_id=data.id, before=None, after={"hash": digest, **change.to_json()})
            changes.append(change)
        return changes

    def _plan(self, data: PlanData) -> PlanChange:
        doc = plan_document(data)
        digest = content_hash(doc)
        row = self.s.get(Plan, data.id)
        if row is not None and row.content_hash == digest:
            return PlanChange(plan_id=data.id, status="unchanged")
        # A plan not in the store has nothing in it either (every row below refers to its plan): a
        # fresh plan skips every look-up of stored rows.
        fresh = row is None
        change = PlanChange(plan_id=data.id, status="updated" if row is not None else "created")
        before = None
        meta = _plan_meta(data, digest)
        if row is None:
            row = Plan(id=data.id, **meta)
            self.s.add(row)
        else:
            before = {"content_hash": row.content_hash, "title": row.title, "published": row.published.isoformat()}
            for key, value in meta.items():
                setattr(row, key, value)
        self.s.flush()
        trigger_ids = self._triggers(data)
        ids = self._structure(data, fresh)
        self._obligations(data, ids, trigger_ids, change, fresh)
        summary.refresh_plans(self.s, [data.id])
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

    # ------------------------------------------------------------------ tasks, requirements, deadlines

    def _structure(self, data: PlanData, fresh: bool) -> StructureIds:
        """Upsert tasks, requirements, deadline entries and assignments in bulk; return their ids.

        Stored rows are read with one query per table keyed by the plan (none
        for a fresh plan); new rows go in with one bulk insert per table and
        changed rows with one executemany UPDATE, so the cost does not grow
        with round trips.
        """
        tasks = {} if fresh else {no: (tid, title) for tid, no, title in self.s.execute(
            select(Task.id, Task.no, Task.title).where(Task.plan_id == data.id)).tuples()}
        new = [(data.id, t.no, t.title) for t in data.tasks if t.no not in tasks]
        for tid, (_plan, no, _title) in zip(self._insert(Task, TASK_COLUMNS, new), new):
            tasks[no] = (tid, "")
        self._update(Task, [{"id": tasks[t.no][0], "title": t.title} for t in data.tasks
                            if tasks[t.no][1] not in ("", t.title)])
        task_ids = {no: tid for no, (tid, _title) in tasks.items()}
        req_ids = self._requirements(data, task_ids, fresh)
        ids = StructureIds(requirements={(t.no, r.no): req_ids[(task_ids[t.no], r.no)]
                                         for t, r in data.requirements()})
        ids.deadlines = self._deadline_entries(data, ids.requirements, fresh)
        # Assignments are derived data: replace the plan's set (one DELETE keyed by the plan, one insert).
        if not fresh:
            self.s.execute(delete(Assignment).where(Assignment.requirement_id.in_(
                select(Requirement.id).join(Task, Task.id == Requirement.task_id).where(Task.plan_id == data.id))))
        rows = [row for t, r in data.requirements()
                for row in self.units.assignments(ids.requirements[(t.no, r.no)], r, data.units_id)]
        insert_tuples(self.s, Assignment.__table__, ASSIGNMENT_COLUMNS, rows)
        return ids

    def _requirements(self, data: PlanData, task_ids: Mapping[int, int], fresh: bool) -> dict[tuple[int, int], int]:
        """Upsert the plan's requirements; their ids by (task id, requirement no)."""
        cols = REQUIREMENT_COLUMNS[2:]
        stored: dict[tuple[int, int], Any] = {} if fresh else {
            (row.task_id, row.no): row for row in self.s.execute(
                select(Requirement.id, Requirement.task_id, Requirement.no, *(getattr(Requirement, c) for c in cols))
                .join(Task, Task.id == Requirement.task_id).where(Task.plan_id == data.id))}
        wanted: dict[tuple[int, int], tuple[Any, ...]] = {}
        for task, req in data.requirements():
            wanted[(task_ids[task.no], req.no)] = requirement_row(task_ids[task.no], req)
        return self._upsert(Requirement, REQUIREMENT_COLUMNS, stored, wanted)

    def _deadline_entries(self, data: PlanData, req_ids: Mapping[tuple[int, int], int],
                          fresh: bool) -> dict[tuple[int, int, int], int]:
        """Upsert the plan's deadline entries; their ids by (task no, requirement no, ordinal)."""
        cols = DEADLINE_COLUMNS[2:]
        stored: dict[tuple[int, int], Any] = {} if fresh else {
            (row.requirement_id, row.ordinal): row for row in self.s.execute(
                select(DeadlineEntry.id, DeadlineEntry.requirement_id, DeadlineEntry.ordinal,
                       *(getattr(DeadlineEntry, c) for c in cols))
                .join(Requirement, Requirement.id == DeadlineEntry.requirement_id)
                .join(Task, Task.id == Requirement.task_id).where(Task.plan_id == data.id))}
        wanted: dict[tuple[int, int], tuple[Any, ...]] = {}
        where: dict[tuple[int, int], tuple[int, int, int]] = {}
        for task, req in data.requirements():
            rid = req_ids[(task.no, req.no)]
            for ordinal, entry in enumerate(req.deadlines, 1):
                wanted[(rid, ordinal)] = deadline_row(rid, ordinal, entry)
                where[(rid, ordinal)] = (task.no, req.no, ordinal)
        ids = self._upsert(DeadlineEntry, DEADLINE_COLUMNS, stored, wanted)
        return {where[k]: v for k, v in ids.items() if k in where}

    def _upsert(self, model: Any, columns: Sequence[str], stored: Mapping[tuple[int, int], Any],
                wanted: Mapping[tuple[int, int], tuple[Any, ...]]) -> dict[tuple[int, int], int]:
        """Insert the ``wanted`` rows not ``stored`` and update the stored ones that differ; ids by key.

        ``columns`` starts with the two key columns (parent id, number); the rest are compared.
        """
        cols = columns[2:]
        ids = {key: row.id for key, row in stored.items()}
        new = [(key, values) for key, values in wanted.items() if key not in stored]
        for rid, (key, _) in zip(self._insert(model, columns, [values for _, values in new]), new):
            ids[key] = rid
        self._update(model, [
            {"id": stored[key].id, **dict(zip(cols, values[2:]))} for key, values in wanted.items()
            if key in stored and any(getattr(stored[key], c) != v for c, v in zip(cols, values[2:]))])
        return ids

    def _insert(self, model: Any, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> list[int]:
        """Bulk INSERT (:func:`duban.store.bulk.insert_tuples`); the new ids in row order."""
        return insert_tuples(self.s, model.__table__, columns, rows, want_ids=True)

    def _update(self, model: Any, rows: list[dict[str, Any]]) -> None:
        """Bulk UPDATE by primary key (an executemany)."""
        if rows:
            self.s.execute(update(model), rows)

    # ------------------------------------------------------------------ obligations

    def _obligations(self, data: PlanData, ids: StructureIds, trigger_ids: Mapping[str, int], change: PlanChange,
                     fresh: bool) -> None:
        """Materialise the plan's obligations (one per requirement × lead unit × deadline part) and their dues."""
        wanted = self.units.obligations(data, ids.requirements, ids.deadlines)
        stored = {} if fresh else {row.okey: row for row in self.s.execute(
            select(Obligation.id, Obligation.okey, Obligation.spec, Obligation.state, Obligation.kind,
                   Obligation.trigger_key, Obligation.deadline_id, Obligation.requirement_id, Obligation.unit_id)
            .where(Obligation.plan_id == data.id)).all()}
        new_rows = [values for okey, values in wanted.items() if okey not in stored]
        new_ids = self._insert(Obligation, OBLIGATION_COLUMNS, new_rows)
        oids: dict[str, int] = {okey: row.id for okey, row in stored.items()}
        oids.update((values[0], oid) for values, oid in zip(new_rows, new_ids))
        change.obligations_added = len(new_rows)
        if stored:
            self._update_obligations(wanted, stored, change)
        events = {} if fresh else active_events(self.s, trigger_ids)
        stats = sync_occurrences(
            self.s, [(oids[okey], okey, values[SPEC_AT], values[TRIGGER_AT]) for okey, values in wanted.items()],
            ctx=PlanContext(plan_year=data.plan_year, published=data.published), calendar=self.calendar,
            events=events, default_offset=self.default_offset, checkins=self.checkins, plan_id=data.id,
            new=new_ids)
        # An approved extension (延期) outlives a re-import that would move the due date back.
        if not fresh:
            reapply_extensions(self.s, stats, plan_id=data.id)
        change.occurrences_added, change.occurrences_moved = stats.added, stats.moved
        change.occurrences_cancelled = stats.cancelled
        change.changes.extend(stats.changes)

    def _update_obligations(self, wanted: Mapping[str, tuple[Any, ...]], stored: Mapping[str, Any],
                            change: PlanChange) -> None:
        """Update stored obligations whose fields changed (or that come back), retire those that left the plan."""
        fields = ("spec", "kind", "trigger_key", "deadline_id", "requirement_id", "unit_id")
        at = [OBLIGATION_COLUMNS.index(f) for f in fields]
        updates: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
        for okey, values in wanted.items():
            row = stored.get(okey)
            if row is None:
                continue
            diff = {f: values[i] for f, i in zip(fields, at) if getattr(row, f) != values[i]}
            if row.state == "retired":
                diff["state"] = "active"
            if diff:
                updates[tuple(sorted(diff))].append({"id": row.id, **diff})
                change.changes.append({"obligation": okey, "changed": sorted(diff)})
                change.obligations_updated += 1
        for rows in updates.values():  # one executemany per set of changed columns
            self._update(Obligation, rows)
        retired = [row for okey, row in stored.items() if okey not in wanted and row.state != "retired"]
        for chunk in chunked([r.id for r in retired], 5000):
            self.s.execute(update(Obligation).where(Obligation.id.in_(chunk)).values(state="retired"))
            self.s.execute(update(Occurrence).where(Occurrence.obligation_id.in_(chunk),
                                                    Occurrence.state == "open").values(state="cancelled"))
        change.obligations_retired = len(retired)
        change.changes.extend({"obligation": r.okey, "retired": True} for r in retired)


def _plan_meta(data: PlanData, digest: str) -> dict[str, Any]:
    """The plan row's columns (besides its id)."""
    return {"title": data.title, "issuer": data.issuer, "doc_number": data.doc_number, "published": data.published,
            "plan_year": data.plan_year, "units_directory": data.units_id, "source": data.source,
            "file_path": data.file, "content_hash": digest}


def import_result(session: Session, result: LoadResult, **kwargs: Any) -> ImportReport:
    """Import everything in ``result`` (which must have no errors) in the caller's transaction."""
    return Importer(session, **kwargs).run(result)
