"""Trigger profiles: what each pending trigger waits for, read from the store or from plan files.

Both readers give the same :class:`~.match.TriggerProfile` (description,
plan title, the texts of the duties waiting on it) and the *background*: the
texts of every other duty of the plans, which the matcher's BM25 corpus needs
so that words every duty uses weigh little. The store reader is what the
inbox uses (only triggers with a duty still waiting and no active event for a
one-off trigger); the plan-file reader serves the benchmark, which measures
matching without a database.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...store.models import Event, Obligation, Plan, Requirement, Task, Trigger
from ..plans.planfile import Plan as PlanData
from .match import TriggerProfile


def profiles_from_plans(plans: Sequence[PlanData]) -> tuple[list[TriggerProfile], list[str]]:
    """Profiles of every trigger of loaded plan files, and the background duty texts."""
    profiles: list[TriggerProfile] = []
    background: list[str] = []
    for plan in plans:
        duties: dict[str, list[str]] = defaultdict(list)
        per_event: dict[str, bool] = defaultdict(bool)
        for task in plan.tasks:
            for req in task.requirements:
                keys = {d.trigger for d in req.deadlines if d.trigger}
                for d in req.deadlines:
                    if d.trigger and getattr(d.spec, "per_event", False):
                        per_event[d.trigger] = True
                for key in keys:
                    duties[key].append(f"{task.title} {req.text}")
                if not keys:
                    background.append(f"{task.title} {req.text}")
        for t in plan.triggers:
            profiles.append(TriggerProfile(plan=plan.id, key=t.key, event_kind=t.event, description=t.description,
                                           plan_title=plan.title, published=plan.published,
                                           plan_year=plan.plan_year, duties=tuple(dict.fromkeys(duties[t.key])),
                                           per_event=per_event[t.key]))
    return profiles, background


def profiles_from_store(session: Session) -> tuple[list[TriggerProfile], list[str]]:
    """Profiles of the pending triggers in the store (a live duty waits on them), and the background.

    A one-off trigger with an active event is no longer pending (its duties
    have started); a per-event trigger stays pending: every new document
    starts a new round.
    """
    duty_rows = session.execute(
        select(Obligation.plan_id, Obligation.trigger_key, Obligation.spec, Task.title, Requirement.text)
        .join(Requirement, Requirement.id == Obligation.requirement_id)
        .join(Task, Task.id == Requirement.task_id)
        .where(Obligation.state == "active")
        .order_by(Task.no, Requirement.no, Obligation.id)).all()
    duties: dict[tuple[str, str], dict[str, None]] = defaultdict(dict)
    per_event: dict[tuple[str, str], bool] = defaultdict(bool)
    background: dict[str, None] = {}
    for plan_id, key, spec, title, text in duty_rows:
        if key is None:
            background[f"{title} {text}"] = None
            continue
        duties[(plan_id, key)][f"{title} {text}"] = None
        per_event[(plan_id, key)] |= bool((spec or {}).get("per_event"))
    activated = set(session.scalars(select(Event.trigger_id).where(Event.state == "active")))
    profiles = []
    for trigger, plan in session.execute(select(Trigger, Plan).join(Plan, Plan.id == Trigger.plan_id)
                                         .order_by(Trigger.plan_id, Trigger.id)):
        ident = (plan.id, trigger.key)
        if ident not in duties or (trigger.id in activated and not per_event[ident]):
            continue
        profiles.append(TriggerProfile(plan=plan.id, key=trigger.key, event_kind=trigger.event_kind,
                                       description=trigger.description, plan_title=plan.title,
                                       published=plan.published, plan_year=plan.plan_year,
                                       duties=tuple(duties[ident]), per_event=per_event[ident]))
    return profiles, list(background)
