"""Progress reports (进展情况): text and evidence on an obligation, apart from its completion.

A check-in (全年工作检查点) asks a unit how a year-long duty is going; it
is answered by a progress report, never by completing the duty. Recording
progress therefore:

* stores a :class:`~duban.store.models.ProgressReport` (text, optional
  evidence, the day, who);
* answers the obligation's earliest **open check-in** due on or before the
  report's day plus the policy's look-ahead — the check-in instance is closed
  (``done``, with the report's day and evidence), so it is no longer urged;
  the obligation itself stays open;
* writes exactly one audit record, in the caller's transaction.

Who may report is who may complete (:func:`~.permissions.authorize` with
``complete``): a clerk for its own units, the supervising office and admins
for any.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...store import audit, summary
from ...store.models import Obligation, Occurrence, ProgressReport, Requirement, Task, Unit
from ..deadlines.calendar import WorkingCalendar
from .completions import check_plan_date, live_obligation
from .errors import ServiceError
from .permissions import OPERATOR, authorize

#: A report may answer a check-in due up to this many calendar days after it (reported a little early).
EARLY_DAYS = 31
#: Longest progress text kept (a paragraph or two; the evidence carries documents).
MAX_TEXT = 4000


@dataclass(frozen=True, kw_only=True, slots=True)
class ProgressRow:
    """One progress report, with where it belongs (for ``duban progress list`` and the dashboard)."""

    id: int
    obligation_id: int
    plan_id: str
    task_no: int
    requirement_no: int
    unit: str
    reported_on: dt.date
    text: str
    evidence: str | None
    actor: str
    checkin_due: dt.date | None

    def to_json(self) -> dict[str, object]:
        return {"id": self.id, "obligation_id": self.obligation_id, "plan": self.plan_id, "task": self.task_no,
                "requirement": self.requirement_no, "unit": self.unit, "reported_on": self.reported_on.isoformat(),
                "text": self.text, "evidence": self.evidence, "actor": self.actor,
                "checkin_due": self.checkin_due.isoformat() if self.checkin_due else None}


def record_progress(session: Session, obligation_id: int, *, on: dt.date, text: str, actor: str,
                    calendar: WorkingCalendar, evidence: str | None = None, source: audit.Source = "cli",
                    role: str = OPERATOR, unit_ids: Collection[int] | None = None) -> ProgressReport:
    """Record a progress report; it answers the open check-in it is for (see the module docstring)."""
    ob = live_obligation(session, obligation_id)
    authorize(session, "complete", role=role, unit_ids=unit_ids, obligation=ob)
    text = text.strip()
    evidence = (evidence or "").strip() or None
    if ob.state in ("waived", "done"):
        raise ServiceError(f"obligation {obligation_id!r} is {ob.state}; there is no progress to report")
    if not text:
        raise ServiceError("a progress report needs text (what has been done so far: 进展情况)")
    if len(text) > MAX_TEXT:
        raise ServiceError(f"a progress report is at most {MAX_TEXT} characters; put documents in the evidence")
    if not actor.strip():
        raise ServiceError("a progress report needs an actor (who reports it)")
    check_plan_date(session, calendar, ob.plan_id, on, "the report date")
    checkin = _open_checkin(ob, on)
    before = {"checkin": checkin.key, "state": checkin.state, "due": checkin.due.isoformat()} if checkin else None
    if checkin is not None:
        checkin.state, checkin.completed_on, checkin.evidence = "done", on, evidence or text[:200]
        checkin.late_by = max(0, calendar.workdays_between(checkin.due, on)) if on > checkin.due else 0
    report = ProgressReport(obligation_id=ob.id, occurrence_id=checkin.id if checkin else None, reported_on=on,
                            text=text, evidence=evidence, actor=actor)
    session.add(report)
    session.flush()
    summary.refresh_obligations(session, [ob.id])
    audit.append(session, actor=actor, source=source, action="obligation.progress", object_type="obligation",
                 object_id=ob.id, before=before,
                 after={"report": report.id, "reported_on": on.isoformat(), "text": text, "evidence": evidence,
                        **({"checkin": checkin.key, "checkin_due": checkin.due.isoformat(),
                            "late": on > checkin.due} if checkin else {})})
    return report


def _open_checkin(ob: Obligation, on: dt.date) -> Occurrence | None:
    """The earliest open check-in due by ``on`` + :data:`EARLY_DAYS` (missed ones first)."""
    horizon = on + dt.timedelta(days=EARLY_DAYS)
    open_ = sorted((o for o in ob.occurrences if o.checkin and o.state == "open" and o.due <= horizon),
                   key=lambda o: (o.due, o.key))
    return open_[0] if open_ else None


def list_progress(session: Session, *, obligation_id: int | None = None, unit_ids: Collection[int] | None = None,
                  limit: int = 500) -> Sequence[ProgressRow]:
    """Progress reports, newest first; optionally of one obligation or of some units."""
    stmt = (select(ProgressReport, Obligation.plan_id, Task.no, Requirement.no, Unit.name, Occurrence.due)
            .join(Obligation, Obligation.id == ProgressReport.obligation_id)
            .join(Requirement, Requirement.id == Obligation.requirement_id)
            .join(Task, Task.id == Requirement.task_id).join(Unit, Unit.id == Obligation.unit_id)
            .outerjoin(Occurrence, Occurrence.id == ProgressReport.occurrence_id)
            .order_by(ProgressReport.reported_on.desc(), ProgressReport.id.desc()).limit(limit))
    if obligation_id is not None:
        stmt = stmt.where(ProgressReport.obligation_id == obligation_id)
    if unit_ids is not None:
        stmt = stmt.where(Obligation.unit_id.in_(list(unit_ids)))
    return [ProgressRow(id=r.id, obligation_id=r.obligation_id, plan_id=plan, task_no=task, requirement_no=req,
                        unit=unit, reported_on=r.reported_on, text=r.text, evidence=r.evidence, actor=r.actor,
                        checkin_due=due)
            for r, plan, task, req, unit, due in session.execute(stmt).tuples()]
