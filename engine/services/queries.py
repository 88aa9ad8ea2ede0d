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

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from ...store.bulk import chunked
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

STATUSES = ("dormant", "open", "due_soon", "overdue", "checkin_missed", "done", "waived")


def status_of(*, state: str, kind: str, next_due: dt.date | None, any_occurrence: bool, as_of: dt.date,
              calendar: WorkingCalendar, due_soon_within: int) -> str:
    """The as-of status of one obligation from its state and its next open due date.

    ``due_soon_within`` is the reminder policy's ``yellow_within`` (the runtime passes it): the
    dashboard, the CLI, the report and the emails call the same days "due soon".
    """
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


def list_obligations(session: Session, *, calendar: WorkingCalendar, due_soon_within: int, as_of: dt.date,
                     plan: str | None = None,
                     unit: str | None = None, task: int | None = None,
                     statuses: Sequence[str] | None = None) -> list[ObligationRow]:
    """Every live (not retired) obligation with its as-of status, in plan order."""
    next_due = (
        select(Occurrence.obligation_id, func.min(Occurrence.due).label("next_due"),
               func.min(case((Occurrence.checkin.is_(False), Occurrence.due))).label("next_deadline"))
        .where(Occurrence.state == "open").group_by(Occurrence.obligation_id).subquery()
    )
    any_occ = (
        select(Occurrence.obligation_id, func.count().label("n"))
        .where(Occurrence.state != "cancelled").group_by(Occurrence.obligation_id).subquery()
    )
    stmt = (
        select(Obligation.id, Obligation.plan_id, Task.no, Requirement.no, Unit.name, Obligation.kind,
               Obligation.state, next_due.c.next_due, next_due.c.next_deadline, any_occ.c.n)
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
    for oid, plan_id, task_no, req_no, unit_name, kind, state, due, deadline, n in session.execute(stmt):
        status = refine_checkin(
            status_of(state=state, kind=kind, next_due=due, any_occurrence=bool(n), as_of=as_of,
                      calendar=calendar, due_soon_within=due_soon_within),
            next_deadline=deadline, as_of=as_of)
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
        .where(Task.plan_id == plan_id, Assignment.role != CO_ROLE).order_by(Assignment.requirement_id, Assignment.id)
    ):
        ordered[req_id].append(name)
    co = co_units_by_requirement(session, [r.id for t in plan.tasks for r in t.requirements])
    tasks = []
    for task in plan.tasks:
        reqs = []
        for req in task.requirements:
            deadlines = [{"phrase": d.phrase, "spec": d.spec, "source": d.source,
                          **({"trigger": d.trigger_key} if d.trigger_key else {})} for d in req.deadlines]
            reqs.append({
                "no": req.no, "text": req.text, "units": ordered.get(req.id, []),
                "units_as_written": req.units_as_written,
                **({"co_units": [name for _uid, name in co.get(req.id, [])],
                    "co_units_as_written": req.co_units_as_written} if req.co_units_as_written else {}),
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


# ----------------------------------------------------------------------------- co-units (配合单位)

#: ``assignments.role`` of a co-responsible unit (written by the importer).
CO_ROLE = "co"
#: Most urgent first: a co-unit's item shows the most urgent status among the lead units' duties.
_URGENCY = ("overdue", "due_soon", "open", "dormant", "done", "waived")


@dataclass(frozen=True, kw_only=True, slots=True)
class CoUnitItem:
    """A requirement a unit co-operates on (配合事项), with its lead units' progress as of a day.

    A co-unit owes no obligation of its own, so ``status`` and ``next_due``
    summarise the lead units' live obligations: the most urgent status and the
    earliest open due date (None when nothing is open).
    """

    plan: str
    task: int
    task_title: str
    requirement: int
    requirement_id: int
    text: str
    lead_units: tuple[str, ...]
    via_group: str | None
    next_due: dt.date | None
    status: str | None

    def to_json(self) -> dict[str, Any]:
        return {"plan": self.plan, "task": self.task, "task_title": self.task_title,
                "requirement": self.requirement, "text": self.text, "lead_units": list(self.lead_units),
                "via_group": self.via_group, "next_due": self.next_due.isoformat() if self.next_due else None,
                "status": self.status}


def co_units_by_requirement(session: Session, requirement_ids: Sequence[int]) -> dict[int, list[tuple[int, str]]]:
    """The co-units (unit id, name) of each requirement, in plan order: who the tick copies (cc)."""
    out: dict[int, list[tuple[int, str]]] = defaultdict(list)
    ids = list(dict.fromkeys(requirement_ids))
    for batch in chunked(ids, 5000):
        for req_id, unit_id, name in session.execute(
            select(Assignment.requirement_id, Unit.id, Unit.name).join(Unit, Unit.id == Assignment.unit_id)
            .where(Assignment.role == CO_ROLE, Assignment.requirement_id.in_(batch))
            .order_by(Assignment.requirement_id, Assignment.id)
        ).tuples():
            out[req_id].append((unit_id, name))
    return dict(out)


def co_unit_items(session: Session, unit_id: int, *, as_of: dt.date, calendar: WorkingCalendar,
                  due_soon_within: int) -> list[CoUnitItem]:
    """Every requirement ``unit_id`` co-operates on, in plan order (the 配合事项 page).

    A requirement whose lead obligations were all retired by a re-import has
    left its plan and is not listed (its assignment rows stay, as history).
    """
    rows = session.execute(
        select(Assignment.requirement_id, Assignment.via_group, Task.plan_id, Task.no, Task.title, Requirement.no,
               Requirement.text)
        .join(Requirement, Requirement.id == Assignment.requirement_id).join(Task, Task.id == Requirement.task_id)
        .where(Assignment.unit_id == unit_id, Assignment.role == CO_ROLE)
        .order_by(Task.plan_id, Task.no, Requirement.no)
    ).all()
    req_ids = [row[0] for row in rows]
    leads: dict[int, list[str]] = defaultdict(list)
    progress: dict[int, list[tuple[str, dt.date | None]]] = defaultdict(list)
    retired: set[int] = set()
    next_due = (select(Occurrence.obligation_id, func.min(Occurrence.due).label("next_due"))
                .where(Occurrence.state == "open").group_by(Occurrence.obligation_id).subquery())
    any_occ = (select(Occurrence.obligation_id, func.count().label("n"))
               .where(Occurrence.state != "cancelled").group_by(Occurrence.obligation_id).subquery())
    for start in range(0, len(req_ids), 5000):
        chunk = req_ids[start:start + 5000]
        for req_id, name in session.execute(
            select(Assignment.requirement_id, Unit.name).join(Unit, Unit.id == Assignment.unit_id)
            .where(Assignment.requirement_id.in_(chunk), Assignment.role != CO_ROLE)
            .order_by(Assignment.requirement_id, Assignment.id)
        ).tuples():
            leads[req_id].append(name)
        for req_id, kind, state, due, n in session.execute(
            select(Obligation.requirement_id, Obligation.kind, Obligation.state, next_due.c.next_due, any_occ.c.n)
            .outerjoin(next_due, next_due.c.obligation_id == Obligation.id)
            .outerjoin(any_occ, any_occ.c.obligation_id == Obligation.id)
            .where(Obligation.requirement_id.in_(chunk))
        ).tuples():
            if state == "retired":  # the requirement left its plan (or this unit's deadline did)
                retired.add(req_id)
                continue
            status = status_of(state=state, kind=kind, next_due=due, any_occurrence=bool(n), as_of=as_of,
                               calendar=calendar, due_soon_within=due_soon_within)
            progress[req_id].append((status, due))
    items = []
    for req_id, via, plan_id, task_no, task_title, req_no, text in rows:
        if req_id in retired and req_id not in progress:
            continue  # every lead duty was retired: the requirement is no longer in its plan
        states = progress.get(req_id, [])
        dues = [due for _status, due in states if due is not None]
        items.append(CoUnitItem(
            plan=plan_id, task=task_no, task_title=task_title, requirement=req_no, requirement_id=req_id,
            text=text, lead_units=tuple(leads.get(req_id, ())), via_group=via, next_due=min(dues) if dues else None,
            status=min((status for status, _due in states), key=_URGENCY.index) if states else None))
    return items


# ----------------------------------------------------------------------------- missed check-ins (催报)

#: The dashboard's refinement of ``overdue`` when only a check-in was missed (催报, never 逾期).
CHECKIN_MISSED = "checkin_missed"


def refine_checkin(status: str, *, next_deadline: dt.date | None, as_of: dt.date) -> str:
    """``status_of``'s status, with a missed check-in told apart from a missed deadline.

    A check-in (全年工作检查点) asks for progress (进展情况); missing it is urged
    (催报) but is not a missed deadline. ``next_deadline`` is the earliest open
    due instance that is *not* a check-in: when ``status_of`` says overdue and
    no such instance has passed, the obligation is :data:`CHECKIN_MISSED` until
    a progress report answers the check-in (:mod:`.progress`).
    """
    if status == "overdue" and (next_deadline is None or next_deadline >= as_of):
        return CHECKIN_MISSED
    return status
