"""Read-side services shared by the CLI and the web pages.

Status of an obligation *as of* a day (the CLI's and the dashboard's words):

========  =================================================================
dormant   a triggered duty whose event has not been recorded
open      the next due instance is more than ``due_soon_within`` working days away
due_soon  the next due instance is within ``due_soon_within`` working days (incl. the day)
overdue   the next due instance's date has passed
done      completed (every due instance done, or the obligation closed)
waived    waived by a supervisor
========  =================================================================
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ...store.models import (
    Assignment,
    Obligation,
    Occurrence,
    Official,
    Plan,
    Requirement,
    Task,
    Unit,
)
from ..deadlines.calendar import WorkingCalendar

STATUSES = ("dormant", "open", "due_soon", "overdue", "done", "waived")
DUE_SOON_WITHIN = 5


def status_of(*, state: str, kind: str, next_due: dt.date | None, any_occurrence: bool, as_of: dt.date,
              calendar: WorkingCalendar, due_soon_within: int = DUE_SOON_WITHIN) -> str:
    """The as-of status of one obligation from its state and its next open due date."""
    if state in ("done", "waived"):
        return state
    if next_due is None:
        if kind == "triggered" and not any_occurrence:
            return "dormant"
        return "done" if any_occurrence else "open"
    if next_due < as_of:
        return "overdue"
    return "due_soon" if calendar.workdays_between(as_of, next_due) <= due_soon_within else "open"


@dataclass(frozen=True, kw_only=True, slots=True)
class ObligationRow:
    id: int
    plan: str
    task: int
    requirement: int
    unit: str
    kind: str
    due: dt.date | None
    status: str

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "plan": self.plan, "task": self.task, "requirement": self.requirement,
                "unit": self.unit, "kind": self.kind, "due": self.due.isoformat() if self.due else None,
                "status": self.status}


def list_obligations(session: Session, *, calendar: WorkingCalendar, as_of: dt.date, plan: str | None = None,
                     unit: str | None = None, task: int | None = None,
                     statuses: Sequence[str] | None = None) -> list[ObligationRow]:
    """Every live (not retired) obligation with its as-of status, in plan order."""
    next_due = (
        select(Occurrence.obligation_id, func.min(Occurrence.due).label("next_due"))
        .where(Occurrence.state == "open").group_by(Occurrence.obligation_id).subquery()
    )
    any_occ = (
        select(Occurrence.obligation_id, func.count().label("n"))
        .where(Occurrence.state != "cancelled").group_by(Occurrence.obligation_id).subquery()
    )
    stmt = (
        select(Obligation.id, Obligation.plan_id, Task.no, Requirement.no, Unit.name, Obligation.kind,
               Obligation.state, next_due.c.next_due, any_occ.c.n)
        .join(Requirement, Requirement.id == Obligation.requirement_id)
        .join(Task, Task.id == Requirement.task_id)
        .join(Unit, Unit.id == Obligation.unit_id)
        .outerjoin(next_due, next_due.c.obligation_id == Obligation.id)
        .outerjoin(any_occ, any_occ.c.obligation_id == Obligation.id)
        .where(Obligation.state != "retired")
        .order_by(Obligation.plan_id, Task.no, Requirement.no, Obligation.id)
    )
    if plan:
        stmt = stmt.where(Obligation.plan_id == plan)
    if unit:
        stmt = stmt.where(Unit.name == unit)
    if task is not None:
        stmt = stmt.where(Task.no == task)
    rows = []
    for oid, plan_id, task_no, req_no, unit_name, kind, state, due, n in session.execute(stmt):
        status = status_of(state=state, kind=kind, next_due=due, any_occurrence=bool(n), as_of=as_of,
                           calendar=calendar)
        if statuses and status not in statuses:
            continue
        rows.append(ObligationRow(id=oid, plan=plan_id, task=task_no, requirement=req_no, unit=unit_name,
                                  kind=kind, due=due, status=status))
    return rows


def list_plans(session: Session) -> list[dict[str, Any]]:
    counts = dict(session.execute(
        select(Obligation.plan_id, func.count()).where(Obligation.state != "retired").group_by(Obligation.plan_id)
    ).tuples().all())
    return [
        {"id": p.id, "title": p.title, "doc_number": p.doc_number, "published": p.published.isoformat(),
         "plan_year": p.plan_year, "tasks": len(p.tasks), "obligations": counts.get(p.id, 0)}
        for p in session.scalars(select(Plan).order_by(Plan.published, Plan.id))
    ]


class PlanNotFound(LookupError):
    def __init__(self, plan_id: str, known: Sequence[str]) -> None:
        self.plan_id = plan_id
        super().__init__(f"no plan {plan_id!r} in the store; imported plans: {', '.join(known) or '(none)'}")


def show_plan(session: Session, plan_id: str) -> dict[str, Any]:
    """The ``plan show --json`` document: tasks, requirements, units after expansion, deadlines."""
    plan = session.get(Plan, plan_id)
    if plan is None:
        raise PlanNotFound(plan_id, session.scalars(select(Plan.id).order_by(Plan.id)).all())
    ordered: dict[int, list[str]] = defaultdict(list)
    for req_id, name in session.execute(
        select(Assignment.requirement_id, Unit.name).join(Unit, Unit.id == Assignment.unit_id)
        .join(Requirement, Requirement.id == Assignment.requirement_id).join(Task, Task.id == Requirement.task_id)
        .where(Task.plan_id == plan_id).order_by(Assignment.requirement_id, Assignment.id)
    ):
        ordered[req_id].append(name)
    tasks = []
    for task in plan.tasks:
        reqs = []
        for req in task.requirements:
            deadlines = [{"phrase": d.phrase, "spec": d.spec, "source": d.source,
                          **({"trigger": d.trigger_key} if d.trigger_key else {})} for d in req.deadlines]
            reqs.append({
                "no": req.no, "text": req.text, "units": ordered.get(req.id, []),
                "units_as_written": req.units_as_written,
                # The contract names one deadline per requirement; a requirement with several
                # (a cell deadline and a rhythm written in its text) lists the rest in "deadlines".
                "deadline": {"phrase": deadlines[0]["phrase"], "spec": deadlines[0]["spec"]} if deadlines else None,
                "deadlines": deadlines,
                "inherited": req.inherited,
                "review": req.review,
            })
        tasks.append({"no": task.no, "title": task.title, "requirements": reqs})
    return {"id": plan.id, "title": plan.title, "doc_number": plan.doc_number, "issuer": plan.issuer,
            "published": plan.published.isoformat(), "plan_year": plan.plan_year,
            "triggers": [{"key": t.key, "event": t.event_kind, "description": t.description} for t in plan.triggers],
            "tasks": tasks}


def list_units(session: Session) -> list[dict[str, Any]]:
    officials: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for o in session.scalars(select(Official).order_by(Official.id)):
        officials[o.unit_id].append({"name": o.name, "role": o.role, "post": o.post, "email": o.email,
                                     "demo": o.demo})
    counts = dict(session.execute(
        select(Obligation.unit_id, func.count()).where(Obligation.state != "retired").group_by(Obligation.unit_id)
    ).tuples().all())
    return [
        {"name": u.name, "full_name": u.full_name, "directory": u.directory,
         "kind": "group" if u.is_group else ("supervisor" if u.is_supervisor else "unit"),
         "aliases": u.aliases, "officials": officials.get(u.id, []), "obligations": counts.get(u.id, 0)}
        for u in session.scalars(select(Unit).order_by(Unit.directory, Unit.is_group, Unit.id))
    ]
