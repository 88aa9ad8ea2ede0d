"""Progress reports (进展情况) on SQLite and PostgreSQL: they answer the check-in, not the duty."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from duban.engine.deadlines.calendar import WorkingCalendar
from duban.engine.services.permissions import PermissionDenied
from duban.engine.services.progress import list_progress, record_progress
from duban.store.models import AuditRecord, Obligation, Occurrence, Unit
from helpers import run
from sqlalchemy import select

CAL = WorkingCalendar.default()


def _a_checkin(session) -> Occurrence:  # type: ignore[no-untyped-def]
    return session.scalars(select(Occurrence).where(Occurrence.checkin.is_(True), Occurrence.state == "open")
                           .order_by(Occurrence.due, Occurrence.id)).first()


def test_recording_progress_answers_the_open_check_in_and_leaves_the_duty_open(seeded, env_for):
    env = env_for(seeded)
    with seeded.sessions() as s:
        checkin = _a_checkin(s)
        assert checkin is not None
        ob_id, due = checkin.obligation_id, checkin.due
    day = CAL.add_workdays(due, 2)  # two working days late
    code, out, err = run(env, "progress", "record", str(ob_id), "--text", "已完成初稿，正在征求意见",
                         "--evidence", "http://www.jieyang.gov.cn/progress/1", "--date", day.isoformat(),
                         "--actor", "经办人林瑜", "--json")
    assert code == 0, err
    row = json.loads(out)
    assert row["checkin_due"] == due.isoformat() and row["text"] == "已完成初稿，正在征求意见"
    with seeded.sessions() as s:
        occ = s.get(Occurrence, checkin.id)
        ob = s.get(Obligation, ob_id)
        assert occ.state == "done" and occ.completed_on == day and occ.late_by == 2
        assert ob.state == "active"  # the duty itself is not completed by a progress report
        [rec] = s.scalars(select(AuditRecord).where(AuditRecord.action == "obligation.progress")).all()
        assert rec.object_id == str(ob_id) and rec.after["checkin_due"] == due.isoformat() and rec.after["late"]
    code, out, _ = run(env, "progress", "list", "--json")
    assert code == 0 and [r["id"] for r in json.loads(out)] == [row["id"]]
    # A second report the same day never answers the same check-in twice.
    code, out, err = run(env, "progress", "record", str(ob_id), "--text", "继续推进", "--date", day.isoformat(),
                         "--actor", "经办人林瑜", "--json")
    assert code == 0, err
    assert json.loads(out)["checkin_due"] != due.isoformat()


def test_a_clerk_may_report_progress_only_for_its_own_units(seeded):
    with seeded.sessions() as s, s.begin():
        checkin = _a_checkin(s)
        other = s.scalars(select(Unit.id).where(Unit.id != s.get(Obligation, checkin.obligation_id).unit_id)).first()
        with pytest.raises(PermissionDenied):
            record_progress(s, checkin.obligation_id, on=checkin.due, text="进展", actor="他人", calendar=CAL,
                            role="clerk", unit_ids=[other], source="web")
        own = s.get(Obligation, checkin.obligation_id).unit_id
        record_progress(s, checkin.obligation_id, on=checkin.due, text="进展", actor="本单位", calendar=CAL,
                        role="clerk", unit_ids=[own], source="web")
        assert [r.actor for r in list_progress(s, unit_ids=[own])] == ["本单位"]


@pytest.mark.parametrize(("text", "message"), [("  ", "needs text"), ("进" * 4001, "at most")])
def test_an_empty_or_huge_report_is_refused(seeded, env_for, text, message):
    with seeded.sessions() as s:
        ob_id = _a_checkin(s).obligation_id
    code, _out, err = run(env_for(seeded), "progress", "record", str(ob_id), "--text", text, "--date", "2016-09-30",
                          "--actor", "x")
    assert code != 0 and message in err
