"""Completions (办结) with evidence, and waivers (免予督办).

Each service runs inside the caller's transaction and writes **exactly one**
audit record, so the change and its audit row commit or roll back together.
Who may act is :func:`duban.engine.services.permissions.authorize`.

*Late* means one thing everywhere (CLI, report, dashboard, audit): a due
instance completed **after its due date** is late; ``late_by`` counts the
working days in (due, completed] on the official calendar. Completing on New
Year's Day a duty due on 31 December is late by 0 working days — still late
(issue 17, row 10): the date passed, and a report that said 按时完成 would
contradict the audit record.

Dates are bounded (issue 14, row 7): a completion date must fall in the
calendar's covered years and not before the plan was published, so a typo
such as 0001-01-01 cannot record "done long before it was asked".
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...store import audit, summary
from ...store.models import Obligation, Occurrence, Plan
from ..deadlines.calendar import WorkingCalendar
from .errors import NotFound, ServiceError
from .permissions import OPERATOR, authorize

_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def is_late(due: dt.date, completed_on: dt.date | None) -> bool:
    """The one definition of late: completed after the due date (see the module docstring)."""
    return completed_on is not None and completed_on > due


def late_by(calendar: WorkingCalendar, due: dt.date, completed_on: dt.date) -> int:
    """Working days late: the working days in (due, completed]; 0 when on time."""
    return max(0, calendar.workdays_between(due, completed_on)) if completed_on > due else 0


def check_plan_date(session: Session, calendar: WorkingCalendar, plan_id: str, day: dt.date, what: str) -> None:
    """Refuse a date outside the calendar's covered years or before the plan was published.

    Every date a person types into a service (completion, extension) passes
    here: a date the calendar cannot count would break reports and feeds for
    everyone later, so it is refused where it enters, with a message.
    """
    first, last = calendar.span
    if not first <= day.year <= last:
        raise ServiceError(f"{what} {day.isoformat()} is outside the working-day calendar ({first}–{last}); "
                           f"add the year's calendar first (docs/calendar.md)")
    published = session.scalar(select(Plan.published).where(Plan.id == plan_id))
    if published is not None and day < published:
        raise ServiceError(f"{what} {day.isoformat()} is before plan {plan_id!r} was published "
                           f"({published.isoformat()})")


def live_obligation(session: Session, obligation_id: int) -> Obligation:
    """The obligation, unless it is missing or retired from its plan."""
    ob = session.get(Obligation, obligation_id)
    if ob is None or ob.state == "retired":
        raise NotFound(f"no obligation {obligation_id!r}" + (" (it was retired from its plan)" if ob else ""))
    # Re-projections write due instances with bulk statements: read them afresh, not from the identity map.
    session.expire(ob, ["occurrences"])
    return ob


def occurrence_for(obligation: Obligation, occurrence: str | dt.date | None,
                   states: Collection[str] = ("open", "done")) -> Occurrence:
    """The due instance an action is for: the given key or due date, else the earliest open one.

    A web form sends text: an empty value means "the earliest open one", and
    ``YYYY-MM-DD`` is read as a due date.
    """
    if isinstance(occurrence, str):
        occurrence = occurrence.strip() or None
        if occurrence is not None and _ISO_DAY.fullmatch(occurrence):
            try:
                occurrence = dt.date.fromisoformat(occurrence)
            except ValueError:
                pass  # not a real date: looked up as a key, and reported as missing with the instances listed
    occs = [o for o in obligation.occurrences if o.state in states]
    if occurrence is None:
        open_ = sorted((o for o in occs if o.state == "open"), key=lambda o: (o.due, o.key))
        if not open_:
            raise ServiceError(f"obligation {obligation.id!r} has no open due instance{_why_none(obligation)}")
        return open_[0]
    matches = [o for o in occs if o.key == str(occurrence)
               or (isinstance(occurrence, dt.date) and o.due == occurrence)]
    if len(matches) > 1:  # two instances due the same day (a check-in and the final due): prefer the open one
        matches = [o for o in matches if o.state == "open"] or matches
    if matches:
        return matches[0]
    raise NotFound(f"obligation {obligation.id!r} has no due instance {str(occurrence)!r}; "
                   f"instances: {', '.join(f'{o.key} ({o.due}, {o.state})' for o in occs) or '(none)'}")


def _why_none(obligation: Obligation) -> str:
    live = [o for o in obligation.occurrences if o.state != "cancelled"]
    if obligation.kind == "triggered" and not live:
        return " (it is dormant: its trigger has not happened)"
    if live and all(o.state == "done" for o in live):
        last = max(live, key=lambda o: o.due)
        return f" (already completed: {last.key} due {last.due} was done on {last.completed_on})"
    return ""


def complete(session: Session, obligation_id: int, *, on: dt.date, evidence: str, actor: str,
             calendar: WorkingCalendar, occurrence: str | dt.date | None = None,
             source: audit.Source = "cli", role: str = OPERATOR,
             unit_ids: Collection[int] | None = None) -> Occurrence:
    """Record that a unit completed a due instance, with evidence (落实情况).

    A completion after the due date is late (:func:`is_late`), by
    :func:`late_by` working days.
    """
    ob = live_obligation(session, obligation_id)
    authorize(session, "complete", role=role, unit_ids=unit_ids, obligation=ob)
    if ob.state == "waived":
        raise ServiceError(f"obligation {obligation_id!r} was waived; nothing to complete")
    if not evidence.strip():
        raise ServiceError("a completion needs evidence (the URL of the published page, or a description)")
    if not actor.strip():
        raise ServiceError("a completion needs an actor (who reports it)")
    check_plan_date(session, calendar, ob.plan_id, on, "the completion date")
    occ = occurrence_for(ob, occurrence)
    if occ.state == "done":
        raise ServiceError(f"due instance {occ.key!r} of obligation {obligation_id!r} is already done "
                           f"(on {occ.completed_on})")
    late = late_by(calendar, occ.due, on)
    before = {"occurrence": occ.key, "state": occ.state, "due": occ.due.isoformat()}
    occ.state, occ.completed_on, occ.evidence, occ.late_by = "done", on, evidence, late
    if ob.kind in ("fixed", "relative") and all(o.state in ("done", "cancelled", "waived") for o in ob.occurrences):
        ob.state = "done"
    session.flush()
    summary.refresh_obligations(session, [ob.id])
    audit.append(session, actor=actor, source=source, action="obligation.completed", object_type="obligation",
                 object_id=ob.id, before=before,
                 after={"occurrence": occ.key, "state": "done", "due": occ.due.isoformat(),
                        "completed_on": on.isoformat(), "evidence": evidence, "late": is_late(occ.due, on),
                        "late_by_working_days": late})
    return occ


def waive(session: Session, obligation_id: int, *, reason: str, actor: str, source: audit.Source = "cli",
          occurrence: str | dt.date | None = None, role: str = OPERATOR,
          unit_ids: Collection[int] | None = None) -> Obligation:
    """A supervisor releases a unit from an obligation (免予督办); no reminders from the next tick on.

    With ``occurrence``, only that due instance is waived (e.g. an emergency's
    press conference for a unit that did not handle it); the obligation stays
    live for its other instances and for future events. Without it, every
    open due instance is waived.
    """
    ob = live_obligation(session, obligation_id)
    authorize(session, "waive", role=role, unit_ids=unit_ids, obligation=ob)
    if not reason.strip():
        raise ServiceError("a waiver needs a reason")
    if ob.state == "waived":
        raise ServiceError(f"obligation {obligation_id!r} is already waived")
    before: dict[str, Any]
    after: dict[str, Any]
    if occurrence is not None:
        occ = occurrence_for(ob, occurrence, states=("open", "done"))
        if occ.state != "open":
            raise ServiceError(f"due instance {occ.key!r} of obligation {obligation_id!r} is {occ.state}; "
                               f"only an open one can be waived")
        before = {"occurrence": occ.key, "state": occ.state, "due": occ.due.isoformat()}
        occ.state = "waived"
        after = {"occurrence": occ.key, "state": "waived"}
    else:
        waived = [o for o in ob.occurrences if o.state == "open"]
        before = {"state": ob.state, "open": [o.key for o in waived]}
        ob.state = "waived"
        for occ in waived:
            occ.state = "waived"
        after = {"state": "waived", "waived": [o.key for o in waived]}
    session.flush()
    summary.refresh_obligations(session, [ob.id])
    audit.append(session, actor=actor, source=source, action="obligation.waived", object_type="obligation",
                 object_id=ob.id, before=before, after=after, reason=reason)
    return ob
