"""Write plans (and units directories) that are new to the store: bulk inserts, no diff.

A province import is mostly plans the store has never seen. For those there
is nothing to diff — no stored task, requirement, obligation or due instance
can exist (each refers to its plan) — so instead of the importer's per-plan
read-diff-write, a batch of new plans is written in one pass:

1. the ids of its tasks, requirements, deadline entries and obligations are
   drawn from their sequences in one query
   (:func:`duban.store.bulk.reserve_ids`; the obligations' count is
   :func:`estimated_obligations`, exact unless a natural key repeats), so
   every row is built complete, foreign keys included, with no read-back;
2. each plan's obligations and their due instances are materialised in the
   same pass (a leaf spec is projected once for all the units that owe it);
3. the rows go in with bulk inserts (``COPY`` on PostgreSQL), parents before
   children, so every foreign-key check finds its row already written: the
   structure in one per table, obligations and due instances in chunks of
   :data:`CHUNK_OBLIGATIONS`, which a writer thread sends while the next
   chunk is built (:class:`~duban.store.bulk.BulkWriter`).

The rows, ids and their order are exactly those of the per-plan path (the
import's golden test compares the two stores table by table). Batches are cut
at about :data:`BATCH_OBLIGATIONS` obligations to bound memory.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from ...store.bulk import BulkWriter, insert_tuples, reserve_ids
from ...store.models import (Assignment, DeadlineEntry, GroupMember, Obligation, Occurrence, Official, Requirement,
                             Task, Unit)
from ..deadlines.calendar import WorkingCalendar
from ..deadlines.projection import PlanContext
from ..deadlines.spec import Offset
from .materialize import OCCURRENCE_COLUMNS, Projector, occurrence_rows
from .plan_model import Plan as PlanData
from .units import UnitDirectory
from .rows import (
    ASSIGNMENT_COLUMNS,
    DEADLINE_COLUMNS,
    OBLIGATION_COLUMNS,
    REQUIREMENT_COLUMNS,
    SPEC_AT,
    TASK_COLUMNS,
    TRIGGER_AT,
    UNIT_COLUMNS,
    Units,
    deadline_row,
    requirement_row,
    unit_values,
)

#: A batch of new plans is written once it holds about this many obligations.
BATCH_OBLIGATIONS = 50_000
#: Obligations (with their due instances) go to the writer in chunks of about this many.
CHUNK_OBLIGATIONS = 10_000


@dataclass(frozen=True, kw_only=True, slots=True)
class Written:
    """What writing one new plan added."""

    obligations: int
    occurrences: int


def estimated_obligations(plan: PlanData) -> int:
    """How many obligations a plan makes (requirement × lead unit × deadline part), for batching."""
    return sum(len(req.units) * len(entry.spec.leaves())
               for _task, req in plan.requirements() for entry in req.deadlines)


def write_new_directories(session: Session, directories: Sequence[UnitDirectory]) -> list[int]:
    """Write units directories new to the store (units, group members, officials); officials per directory.

    The units go in first (their ids come back in order: on SQLite that first
    insert also takes the write lock), then the rows that refer to them.
    """
    if not directories:
        return []
    wanted = [unit_values(d) for d in directories]
    units = [(name, directory.id, *(v[c] for c in UNIT_COLUMNS[2:]))
             for directory, values in zip(directories, wanted) for name, v in values.items()]
    unit_ids = iter(insert_tuples(session, Unit.__table__, UNIT_COLUMNS, units, want_ids=True))
    members: list[tuple[int, int]] = []
    officials: list[tuple[Any, ...]] = []
    counts = []
    for directory, values in zip(directories, wanted):
        uid = {name: next(unit_ids) for name in values}
        members.extend((uid[g.name], uid[m]) for g in directory.groups
                       for m in dict.fromkeys(directory.expand(g.name)))
        before = len(officials)
        officials.extend((uid[u.name], o.name, o.role, o.post, o.email, o.phone, directory.demo_contacts)
                         for u in directory.units for o in u.officials)
        counts.append(len(officials) - before)
    insert_tuples(session, GroupMember.__table__, ("group_id", "member_id"), members)
    insert_tuples(session, Official.__table__, ("unit_id", "name", "role", "post", "email", "phone", "demo"),
                  officials)
    return counts


def write_new_plans(session: Session, plans: Sequence[PlanData], units: Units, *, calendar: WorkingCalendar,
                    default_offset: Offset, checkins: Sequence[tuple[int, int]]) -> list[Written]:
    """Write the structure, obligations and due instances of plans whose plan rows (and triggers) are flushed.

    The rows go to a :class:`~duban.store.bulk.BulkWriter`: on PostgreSQL the
    server checks one chunk's foreign keys while the next chunk is built.
    """
    if not plans:
        return []
    tables = (Task.__table__, Requirement.__table__, DeadlineEntry.__table__, Obligation.__table__)
    ids = reserve_ids(session, dict(zip(tables, (
        sum(len(p.tasks) for p in plans), sum(len(t.requirements) for p in plans for t in p.tasks),
        sum(len(r.deadlines) for p in plans for _t, r in p.requirements()),
        sum(map(estimated_obligations, plans))))))
    task_ids, req_ids, dl_ids, oids = (iter(ids[t.name]) for t in tables)
    with BulkWriter(session) as writer:
        wanted = _structure(writer, plans, units, task_ids, req_ids, dl_ids)
        written: list[Written] = []
        obligations: list[tuple[Any, ...]] = []
        occurrences: list[tuple[Any, ...]] = []
        for plan, rows in zip(plans, wanted):
            # A new plan's triggers have no event yet: its triggered duties wait (no due instance).
            projector = Projector(ctx=PlanContext(plan_year=plan.plan_year, published=plan.published),
                                  calendar=calendar, events={}, default_offset=default_offset, checkins=checkins)
            before = len(occurrences)
            for row in rows:
                oid = next(oids)
                obligations.append((oid, *row))
                occurrences.extend(occurrence_rows(oid, projector.dues(row[SPEC_AT], row[TRIGGER_AT]), ()))
            written.append(Written(obligations=len(rows), occurrences=len(occurrences) - before))
            if len(obligations) >= CHUNK_OBLIGATIONS:
                _flush(writer, obligations, occurrences)
                obligations, occurrences = [], []
        _flush(writer, obligations, occurrences)
    return written


def _structure(writer: BulkWriter, plans: Sequence[PlanData], units: Units, task_ids: Iterator[int],
               req_ids: Iterator[int], dl_ids: Iterator[int]) -> list[list[tuple[Any, ...]]]:
    """Queue the plans' tasks, requirements, deadline entries and assignments; return their obligation rows."""
    tasks, reqs, deadlines, assignments, wanted = [], [], [], [], []
    for plan in plans:
        requirement_ids: dict[tuple[int, int], int] = {}
        deadline_ids: dict[tuple[int, int, int], int] = {}
        for task in plan.tasks:
            tid = next(task_ids)
            tasks.append((tid, plan.id, task.no, task.title))
            for req in task.requirements:
                rid = requirement_ids[(task.no, req.no)] = next(req_ids)
                reqs.append((rid, *requirement_row(tid, req)))
                for ordinal, entry in enumerate(req.deadlines, 1):
                    did = deadline_ids[(task.no, req.no, ordinal)] = next(dl_ids)
                    deadlines.append((did, *deadline_row(rid, ordinal, entry)))
        for task, req in plan.requirements():
            assignments.extend(units.assignments(requirement_ids[(task.no, req.no)], req, plan.units_id))
        wanted.append(list(units.obligations(plan, requirement_ids, deadline_ids).values()))
    writer.insert(Task.__table__, ("id", *TASK_COLUMNS), tasks)
    writer.insert(Requirement.__table__, ("id", *REQUIREMENT_COLUMNS), reqs)
    writer.insert(DeadlineEntry.__table__, ("id", *DEADLINE_COLUMNS), deadlines)
    writer.insert(Assignment.__table__, ASSIGNMENT_COLUMNS, assignments)
    return wanted


def _flush(writer: BulkWriter, obligations: list[tuple[Any, ...]], occurrences: list[tuple[Any, ...]]) -> None:
    """Queue a chunk of obligations, then their due instances (whose foreign keys need them)."""
    writer.insert(Obligation.__table__, ("id", *OBLIGATION_COLUMNS), obligations)
    writer.insert(Occurrence.__table__, OCCURRENCE_COLUMNS, occurrences)
