"""Attack tests on authorization scope and date bounds (issue 14, rows 4 and 7; issue 17, row 10).

Service level, on SQLite and PostgreSQL: the CLI and the dashboard call these
same services with the same permission module.
"""

from __future__ import annotations

import datetime as dt

import pytest
from helpers import YELLOW
from duban.engine.deadlines.calendar import WorkingCalendar
from duban.engine.deadlines.spec import Offset
from duban.engine.services import reports
from duban.engine.services.completions import complete
from duban.engine.services.errors import ServiceError
from duban.engine.services.events import Projection, record_event
from duban.engine.services.extensions import approve_extension, request_extension
from duban.engine.services.permissions import PermissionDenied, Role
from duban.store.models import AuditRecord, Obligation, Occurrence, Plan, Unit
from sqlalchemy import func, select

CAL = WorkingCalendar.default()
PROJ = Projection(calendar=CAL, default_offset=Offset(unit="working_days", amount=10), checkins=((6, 30), (9, 30)))
PLAN = "jieyang-2016-disclosure"


def _supervising_unit(s, directory: str | None = None) -> Unit:  # type: ignore[no-untyped-def]
    stmt = select(Unit).where(Unit.is_supervisor.is_(True))
    if directory is not None:
        stmt = stmt.where(Unit.directory == directory)
    return s.scalars(stmt.order_by(Unit.id)).first()


def test_a_clerk_of_another_directorys_office_cannot_start_this_plans_deadlines(seeded) -> None:  # type: ignore[no-untyped-def]
    """Row 4: a clerk of one directory's 督查室 recorded an event on another directory's trigger."""
    with seeded.sessions() as s, s.begin():
        other = Unit(name="督查室", directory="another-city", is_supervisor=True, aliases=[])
        s.add(other)
        s.flush()
        other_id = other.id
    with seeded.sessions() as s:
        before = s.scalar(select(func.count()).select_from(Occurrence))
        with pytest.raises(PermissionDenied, match="directory"):
            record_event(s, trigger_key="gd_task29_doc", plan=PLAN, on=dt.date(2016, 12, 1), actor="外市督查室",
                         proj=PROJ, role=Role.CLERK, unit_ids={other_id})
        s.rollback()
        assert s.scalar(select(func.count()).select_from(Occurrence)) == before
    with seeded.sessions() as s, s.begin():
        directory = s.scalar(select(Plan.units_directory).where(Plan.id == PLAN))
        own = _supervising_unit(s, directory)
        assert own is not None and own.id != other_id
        ((_ev, stats),) = record_event(s, trigger_key="gd_task29_doc", plan=PLAN, on=dt.date(2016, 12, 1),
                                       actor="本市督查室", proj=PROJ, role="clerk", unit_ids={own.id})
        assert stats.added > 0


def _open_fixed(s) -> Obligation:  # type: ignore[no-untyped-def]
    return s.scalars(select(Obligation).join(Occurrence, Occurrence.obligation_id == Obligation.id)
                     .where(Obligation.plan_id == PLAN, Obligation.kind == "fixed", Occurrence.state == "open")
                     .order_by(Obligation.id)).first()


@pytest.mark.parametrize("on", [dt.date(1, 1, 1), dt.date(2016, 1, 5), dt.date(9999, 12, 31)])
def test_completion_dates_are_bounded(seeded, on: dt.date) -> None:  # type: ignore[no-untyped-def]
    """Row 7: a completion dated 0001-01-01 was accepted ("not late")."""
    with seeded.sessions() as s:
        ob = _open_fixed(s)
        n = s.scalar(select(func.count()).select_from(AuditRecord))
        with pytest.raises(ServiceError, match="outside the working-day calendar|before plan"):
            complete(s, ob.id, on=on, evidence="x", actor="t", calendar=CAL)
        s.rollback()
        assert s.scalar(select(func.count()).select_from(AuditRecord)) == n


def test_an_extension_past_the_calendar_is_refused_and_cannot_break_reports(seeded) -> None:  # type: ignore[no-untyped-def]
    """Row 7: an extension to 9999-12-31 made the unit's .ics 500 and the plan's report 400 for everyone."""
    with seeded.sessions() as s, s.begin():
        ob = _open_fixed(s)
        for until in (dt.date(9999, 12, 31), dt.date(CAL.span[1] + 1, 1, 1)):
            with pytest.raises(ServiceError, match="outside the working-day calendar"):
                request_extension(s, ob.id, until=until, reason="r", actor="clerk", calendar=CAL)
        ext = request_extension(s, ob.id, until=dt.date(2017, 6, 30), reason="r", actor="clerk", calendar=CAL)
        approve_extension(s, ext.id, actor="督查室", calendar=CAL)
        unit = s.get(Unit, ob.unit_id).name
    with seeded.sessions() as s:
        assert reports.build_report(s, PLAN, as_of=dt.date(2016, 12, 31), calendar=CAL, due_soon_within=YELLOW).rows
        assert b"BEGIN:VCALENDAR" in reports.calendar_feed(s, unit, now=dt.datetime.now(dt.timezone.utc))


def test_late_means_completed_after_the_due_date_everywhere(seeded) -> None:  # type: ignore[no-untyped-def]
    """Issue 17, row 10: due 2016-12-31, completed 2017-01-01 (a holiday): the report said 按时完成, the audit late."""
    with seeded.sessions() as s, s.begin():
        occ = s.scalars(select(Occurrence).join(Obligation, Obligation.id == Occurrence.obligation_id)
                        .where(Obligation.plan_id == PLAN, Occurrence.due == dt.date(2016, 12, 31),
                               Occurrence.state == "open", Obligation.kind == "fixed")
                        .order_by(Occurrence.id)).first()
        done = complete(s, occ.obligation_id, on=dt.date(2017, 1, 1), evidence="x", actor="t", calendar=CAL,
                        occurrence=occ.key)
        assert done.late_by == 0  # no working day passed ...
        rec = s.scalars(select(AuditRecord).order_by(AuditRecord.seq.desc()).limit(1)).one()
        assert rec.after["late"] is True  # ... but it is late
        oid, key = occ.obligation_id, occ.key
    with seeded.sessions() as s:
        report = reports.build_report(s, PLAN, as_of=dt.date(2017, 1, 31), calendar=CAL, due_soon_within=YELLOW)
        [row] = [r for r in report.rows if r.obligation_id == oid and r.occurrence == key]
        assert row.status == "late" and row.status_zh == "逾期完成"
