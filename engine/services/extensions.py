"""Extension requests (延期申请) and their approval.

A unit that cannot make a due date asks for a later one, with a reason; a
supervisor approves or rejects it. Approval moves the open due instance's
date (the audit record keeps the old one, and :class:`Extension` keeps
``original_due``); later reminders count from the new date. Nobody approves
or rejects their own request (不得自批): the requester's name and the
decider's are compared after trimming and case folding, so "林瑜" cannot
approve "林瑜 ".

The role check and 不得自批 are :mod:`.permissions`: the CLI passes the
trusted operator, the web passes the logged-in user's role and units. The
date asked for is bounded like every date a person types (issue 14, row 7):
inside the calendar's covered years and not before the plan, so an approved
extension to 9999-12-31 can no longer break the plan's report or a unit's
calendar feed for everyone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...store import audit, summary
from ...store.models import Extension, Obligation, Occurrence, Requirement, Task, Unit, utcnow
from ..deadlines.calendar import WorkingCalendar
from .completions import check_plan_date, live_obligation, occurrence_for
from .errors import NotFound, ServiceError
from .permissions import OPERATOR, authorize, refuse_own_decision

ExtensionStatus = Literal["requested", "approved", "rejected"]
STATUSES: tuple[ExtensionStatus, ...] = ("requested", "approved", "rejected")


def _json(ext: Extension) -> dict[str, Any]:
    return {"id": ext.id, "obligation_id": ext.obligation_id, "occurrence_id": ext.occurrence_id,
            "until": ext.until.isoformat(), "original_due": ext.original_due.isoformat(), "status": ext.status,
            "requested_by": ext.requested_by, "decided_by": ext.decided_by}


def request_extension(session: Session, obligation_id: int, *, until: dt.date, reason: str, actor: str,
                      occurrence: str | dt.date | None = None, source: audit.Source = "cli",
                      role: str = OPERATOR, unit_ids: Collection[int] | None = None,
                      calendar: WorkingCalendar | None = None) -> Extension:
    """Ask to move an open due instance (the earliest, unless ``occurrence`` names one) to ``until``.

    ``calendar`` bounds ``until`` to the covered years (the default calendar
    when not given: every caller in duban passes the runtime's).
    """
    ob = live_obligation(session, obligation_id)
    authorize(session, "extend.request", role=role, unit_ids=unit_ids, obligation=ob)
    check_plan_date(session, calendar or WorkingCalendar.default(), ob.plan_id, until, "--until")
    if ob.state != "active":
        raise ServiceError(f"obligation {obligation_id!r} is {ob.state}; only a live obligation can be extended")
    if not reason.strip():
        raise ServiceError("an extension request needs a reason")
    if not actor.strip():
        raise ServiceError("an extension request needs an actor (who asks)")
    occ = occurrence_for(ob, occurrence, states=("open",))
    if until <= occ.due:
        raise ServiceError(f"--until {until} is not after the current due date {occ.due} of {occ.key!r}")
    pending = session.scalar(select(Extension.id).where(Extension.occurrence_id == occ.id,
                                                        Extension.status == "requested"))
    if pending is not None:
        raise ServiceError(f"extension {pending} for {occ.key!r} of obligation {obligation_id!r} is still "
                           f"waiting for a decision")
    ext = Extension(obligation_id=ob.id, occurrence_id=occ.id, until=until, reason=reason, requested_by=actor,
                    requested_at=utcnow(), status="requested", original_due=occ.due)
    session.add(ext)
    session.flush()
    audit.append(session, actor=actor, source=source, action="extension.requested", object_type="extension",
                 object_id=ext.id, after={**_json(ext), "occurrence": occ.key}, reason=reason)
    return ext


def _decide(session: Session, extension_id: int, *, actor: str, role: str, unit_ids: Collection[int] | None
            ) -> Extension:
    authorize(session, "extend.decide", role=role, unit_ids=unit_ids)
    ext = session.get(Extension, extension_id)
    if ext is None:
        raise NotFound(f"no extension request {extension_id!r}")
    authorize(session, "extend.decide", role=role, unit_ids=unit_ids,
              obligation=session.get(Obligation, ext.obligation_id))
    if ext.status != "requested":
        raise ServiceError(f"extension {extension_id!r} was already {ext.status} by {ext.decided_by!r}")
    if not actor.strip():
        raise ServiceError("a decision needs an actor (the supervisor who decides)")
    refuse_own_decision(actor, ext.requested_by, extension_id)
    return ext


def approve_extension(session: Session, extension_id: int, *, actor: str, note: str | None = None,
                      source: audit.Source = "cli", role: str = OPERATOR,
                      unit_ids: Collection[int] | None = None,
                      calendar: WorkingCalendar | None = None) -> Extension:
    """Approve a request: the open due instance moves to ``until``; the old date stays in the audit log.

    ``until`` is checked again (a request recorded before the bounds existed,
    or a calendar that lost a year, must not be approved into a broken date).
    """
    ext = _decide(session, extension_id, actor=actor, role=role, unit_ids=unit_ids)
    ob = session.get(Obligation, ext.obligation_id)
    check_plan_date(session, calendar or WorkingCalendar.default(), ob.plan_id if ob else "", ext.until, "until")
    occ = session.get(Occurrence, ext.occurrence_id)
    if occ is None or occ.state != "open":
        raise ServiceError(f"the due instance of extension {extension_id!r} is "
                           f"{occ.state if occ else 'gone'}; only an open one can be extended (reject the request)")
    old_due = occ.due
    if ext.until <= old_due:
        raise ServiceError(f"the due date is already {old_due}, not before the requested {ext.until}")
    occ.due = ext.until
    ext.status, ext.decided_by, ext.decided_at, ext.decision_note = "approved", actor, utcnow(), note
    session.flush()
    summary.refresh_obligations(session, [occ.obligation_id])
    audit.append(session, actor=actor, source=source, action="extension.approved", object_type="extension",
                 object_id=ext.id,
                 before={"status": "requested", "occurrence": occ.key, "due": old_due.isoformat()},
                 after={**_json(ext), "occurrence": occ.key, "due": occ.due.isoformat()}, reason=note)
    return ext


def reject_extension(session: Session, extension_id: int, *, actor: str, reason: str,
                     source: audit.Source = "cli", role: str = OPERATOR,
                     unit_ids: Collection[int] | None = None) -> Extension:
    """Reject a request with a reason; the due date stays."""
    if not reason.strip():
        raise ServiceError("a rejection needs a reason")
    ext = _decide(session, extension_id, actor=actor, role=role, unit_ids=unit_ids)
    ext.status, ext.decided_by, ext.decided_at, ext.decision_note = "rejected", actor, utcnow(), reason
    session.flush()
    audit.append(session, actor=actor, source=source, action="extension.rejected", object_type="extension",
                 object_id=ext.id, before={"status": "requested"}, after=_json(ext), reason=reason)
    return ext


@dataclass(frozen=True, kw_only=True, slots=True)
class ExtensionRow:
    """An extension request as ``duban extend list`` shows it."""

    id: int
    obligation_id: int
    plan: str
    task: int
    requirement: int
    unit: str
    occurrence: str
    original_due: dt.date
    until: dt.date
    reason: str
    status: str
    requested_by: str
    requested_at: dt.datetime
    decided_by: str | None
    decided_at: dt.datetime | None
    decision_note: str | None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "obligation_id": self.obligation_id, "plan": self.plan, "task": self.task,
                "requirement": self.requirement, "unit": self.unit, "occurrence": self.occurrence,
                "original_due": self.original_due.isoformat(), "until": self.until.isoformat(),
                "reason": self.reason, "status": self.status, "requested_by": self.requested_by,
                "requested_at": self.requested_at.isoformat(timespec="seconds"), "decided_by": self.decided_by,
                "decided_at": self.decided_at.isoformat(timespec="seconds") if self.decided_at else None,
                "decision_note": self.decision_note}


def list_extensions(session: Session, *, status: ExtensionStatus | None = None, plan: str | None = None,
                    unit: str | None = None) -> list[ExtensionRow]:
    """Extension requests, oldest first."""
    if status is not None and status not in STATUSES:
        raise ServiceError(f"status must be one of {', '.join(STATUSES)}, got {status!r}")
    stmt = (select(Extension, Obligation.plan_id, Task.no, Requirement.no, Unit.name, Occurrence.key)
            .join(Obligation, Obligation.id == Extension.obligation_id)
            .join(Requirement, Requirement.id == Obligation.requirement_id)
            .join(Task, Task.id == Requirement.task_id)
            .join(Unit, Unit.id == Obligation.unit_id)
            .join(Occurrence, Occurrence.id == Extension.occurrence_id)
            .order_by(Extension.id))
    if status:
        stmt = stmt.where(Extension.status == status)
    if plan:
        stmt = stmt.where(Obligation.plan_id == plan)
    if unit:
        stmt = stmt.where(Unit.name == unit)
    return [ExtensionRow(id=e.id, obligation_id=e.obligation_id, plan=plan_id, task=task_no, requirement=req_no,
                         unit=unit_name, occurrence=key, original_due=e.original_due, until=e.until, reason=e.reason,
                         status=e.status, requested_by=e.requested_by, requested_at=e.requested_at,
                         decided_by=e.decided_by, decided_at=e.decided_at, decision_note=e.decision_note)
            for e, plan_id, task_no, req_no, unit_name, key in session.execute(stmt)]
