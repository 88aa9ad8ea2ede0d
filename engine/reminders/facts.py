"""The tick's first step: the open due occurrences near their due date, as :class:`~.compose.Fact` values.

Two kinds of data go into a fact. What differs per occurrence (its key,
label, due date, the obligation, requirement, unit and deadline it belongs
to) comes from one indexed query over ``occurrences`` and ``obligations``;
what is shared by many occurrences (a requirement's text, task and plan, a
unit's name, a deadline's phrase) is read once per distinct id and shared by
reference. Working days to a due date are counted once per distinct date.
At 1,000,000 obligations with 50,000 due this halves the step against one
six-table join that carried every text on every row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ...store.bulk import chunked
from ...store.models import DeadlineEntry, Obligation, Occurrence, Plan, Requirement, StageRecord, Task, Unit
from ..deadlines.calendar import WorkingCalendar
from .compose import Fact

#: Ids per ``IN (…)`` list.
CHUNK = 5000


def load_facts(session: Session, calendar: WorkingCalendar, as_of: dt.date, horizon: dt.date) -> dict[int, Fact]:
    """Every open occurrence of a live obligation due up to ``horizon`` (overdue included), by id, in id order.

    An occurrence whose requirement, task, plan, unit or deadline entry is
    missing is left out, as an inner join would (the foreign keys forbid it).
    """
    connection = session.connection()
    rows = connection.execute(
        select(Occurrence.id, Occurrence.key, Occurrence.label, Occurrence.due, Occurrence.checkin,
               Obligation.id, Obligation.requirement_id, Obligation.unit_id, Obligation.deadline_id)
        .join(Obligation, Obligation.id == Occurrence.obligation_id)
        .where(Occurrence.state == "open", Occurrence.due <= horizon, Obligation.state == "active")
        .order_by(Occurrence.id)).all()
    requirements = _by_id(connection, select(
        Requirement.id, Plan.units_directory, Plan.title, Task.no, Task.title, Requirement.no, Requirement.text)
        .join(Task, Task.id == Requirement.task_id).join(Plan, Plan.id == Task.plan_id), Requirement.id,
        {row[6] for row in rows})
    units = _by_id(connection, select(Unit.id, Unit.name), Unit.id, {row[7] for row in rows})
    phrases = _by_id(connection, select(DeadlineEntry.id, DeadlineEntry.phrase), DeadlineEntry.id,
                     {row[8] for row in rows})
    between = calendar.workdays_between
    wd_by_due: dict[dt.date, int] = {}
    facts: dict[int, Fact] = {}
    for oid, key, label, due, checkin, obligation_id, requirement_id, unit_id, deadline_id in rows:
        requirement, unit, phrase = requirements.get(requirement_id), units.get(unit_id), phrases.get(deadline_id)
        if requirement is None or unit is None or phrase is None:
            continue
        wd = wd_by_due.get(due)
        if wd is None:
            wd = wd_by_due[due] = between(as_of, due)
        directory, plan_title, task_no, task_title, requirement_no, requirement_text = requirement
        facts[oid] = Fact(
            occurrence_id=oid, occurrence_key=key, label=label, due=due, checkin=bool(checkin), wd=wd,
            obligation_id=obligation_id, requirement_id=requirement_id, unit_id=unit_id, unit=unit[0],
            directory=directory, plan_title=plan_title, task_no=task_no, task_title=task_title,
            requirement_no=requirement_no, requirement_text=requirement_text, phrase=phrase[0])
    return facts


def _by_id(connection: Any, stmt: Any, id_column: Any, ids: set[int]) -> dict[int, tuple[Any, ...]]:
    """The rows of ``stmt`` for ``ids`` (chunked), keyed by their first column, the rest as a tuple."""
    out: dict[int, tuple[Any, ...]] = {}
    for chunk in chunked(sorted(ids), CHUNK):
        for row in connection.execute(stmt.where(id_column.in_(chunk))):
            out[row[0]] = tuple(row[1:])
    return out


def load_recorded(session: Session, occurrence_ids: Sequence[int]) -> dict[int, tuple[frozenset[str], int]]:
    """Stages already recorded per candidate occurrence, and the highest repeat index (grouped in SQL)."""
    out: dict[int, tuple[set[str], int]] = {}
    connection = session.connection()
    for chunk in chunked(list(occurrence_ids), CHUNK):
        stmt = (select(StageRecord.occurrence_id, StageRecord.stage, func.max(StageRecord.repeat))
                .where(StageRecord.occurrence_id.in_(chunk))
                .group_by(StageRecord.occurrence_id, StageRecord.stage))
        for oid, stage, repeat in connection.execute(stmt):
            stages, top = out.get(oid, (set(), 0))
            stages.add(stage)
            out[oid] = (stages, max(top, repeat or 0))
    return {oid: (frozenset(stages), top) for oid, (stages, top) in out.items()}
