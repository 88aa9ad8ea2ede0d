"""Completions with evidence, waivers, extension requests and who may do what, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from duban.engine.deadlines.calendar import WorkingCalendar
from duban.engine.runtime.settings import load_settings
from duban.engine.deadlines.spec import Offset
from duban.engine.services.completions import complete, waive
from duban.engine.services.errors import NotFound, ServiceError
from duban.engine.services.events import Projection, record_event
from duban.engine.services.permissions import PermissionDenied
from duban.engine.services.extensions import (
    approve_extension,
    list_extensions,
    reject_extension,
    request_extension,
)
from duban.engine.runtime.build import build_runtime
from duban.store.models import (
    AuditRecord,
    Obligation,
    Occurrence,
    Requirement,
    StageRecord,
    Task,
    Unit,
)
from helpers import run
from sqlalchemy import select

REPO = Path(__file__).resolve().parent.parent
PLAN = "jieyang-2016-disclosure"
CAL = WorkingCalendar.default()
PROJ = Projection(calendar=CAL, default_offset=Offset(unit="working_days", amount=10), checkins=((6, 30), (9, 30)))


def ob_id(s, task: int, req: int, unit: str, trigger: str | None = None) -> int:
    """The unit's obligation for a requirement (its triggered part when ``trigger`` is given, else its first)."""
    stmt = (select(Obligation.id).join(Unit, Unit.id == Obligation.unit_id)
            .join(Requirement, Requirement.id == Obligation.requirement_id)
            .join(Task, Task.id == Requirement.task_id)
            .where(Obligation.plan_id == PLAN, Task.no == task, Requirement.no == req, Unit.name == unit)
            .order_by(Obligation.id))
    if trigger:
        stmt = stmt.where(Obligation.trigger_key == trigger)
    return s.execute(stmt).scalars().first()


def unit_id(s, name: str) -> int:
    return s.execute(select(Unit.id).where(Unit.name == name)).scalar_one()


def occurrences(s, oid: int) -> list[Occurrence]:
    return list(s.scalars(select(Occurrence).where(Occurrence.obligation_id == oid).order_by(Occurrence.due)))


# --------------------------------------------------------------------------- completions


def test_completion_with_evidence_on_time_and_late(seeded, env_for):
    env = env_for(seeded)
    with seeded.sessions() as s:
        a, b = ob_id(s, 0, 1, "市发展改革局"), ob_id(s, 0, 1, "市财政局")  # due 2016-08-04
    code, out, err = run(env, "complete", str(a), "--date", "2016-08-04", "--evidence",
                         "http://www.jieyang.gov.cn/fgj/zwgk/cs.html", "--actor", "市发改局联络员")
    assert code == 0, err
    assert "on time" in out
    code, out, err = run(env, "complete", str(b), "--date", "2016-08-08", "--evidence", "已在门户网站公开（见8月8日公告）",
                         "--actor", "市财政局联络员")
    assert code == 0, err
    assert "late by 2 working day(s)" in out  # Fri 5 Aug and Mon 8 Aug
    with seeded.sessions() as s:
        [occ_a], [occ_b] = occurrences(s, a), occurrences(s, b)
        assert (occ_a.state, occ_a.completed_on, occ_a.late_by) == ("done", dt.date(2016, 8, 4), 0)
        assert occ_a.evidence == "http://www.jieyang.gov.cn/fgj/zwgk/cs.html"
        assert (occ_b.state, occ_b.late_by) == ("done", 2)
        assert s.get(Obligation, a).state == "done"  # a one-off duty closes with its only instance
        rec = s.scalars(select(AuditRecord).where(AuditRecord.action == "obligation.completed",
                                                  AuditRecord.object_id == str(b))).one()
    assert rec.actor == "市财政局联络员" and rec.after["late"] is True and rec.after["late_by_working_days"] == 2
    code, _out, err = run(env, "complete", str(a), "--date", "2016-08-05", "--evidence", "x", "--actor", "y")
    assert code == 1 and "already completed" in err


def test_a_completion_on_a_rest_day_after_a_weekend_due_counts_working_days(seeded):
    """Lateness is working days in (due, completed]: Saturday due, done Sunday → 0; done Monday → 1."""
    with seeded.sessions() as s, s.begin():
        # task 29's duty: provincial document on Fri 2016-12-02 + 10 wd = Fri 2016-12-16; correct the due to Sat 12-17
        record_event(s, trigger_key="gd_task29_doc", on=dt.date(2016, 12, 2), actor="督查室", proj=PROJ)
        oid = ob_id(s, 29, 1, "市政府办公室")
        [occ] = occurrences(s, oid)
        occ.due = dt.date(2016, 12, 17)
        done = complete(s, oid, on=dt.date(2016, 12, 18), evidence="e", actor="a", calendar=CAL)
        assert done.late_by == 0
        rec = s.scalars(select(AuditRecord).where(AuditRecord.action == "obligation.completed")).one()
        assert rec.after["late"] is True and rec.after["late_by_working_days"] == 0


def test_completing_a_recurring_instance_by_key_or_by_due_date(seeded, env_for):
    env = env_for(seeded)
    with seeded.sessions() as s:
        oid = next(o.obligation_id for o in s.scalars(select(Occurrence).where(Occurrence.key == "2016-Q3")))
        keys = [o.key for o in occurrences(s, oid)]
    assert "2016-Q3" in keys and "2016-Q4" in keys
    assert run(env, "complete", str(oid), "--occurrence", "2016-Q4", "--date", "2016-12-20", "--evidence", "e",
               "--actor", "a")[0] == 0
    assert run(env, "complete", str(oid), "--occurrence", "2016-09-30", "--date", "2016-10-10", "--evidence", "e",
               "--actor", "a")[0] == 0
    code, _out, err = run(env, "complete", str(oid), "--occurrence", "2016-Q9", "--date", "2016-10-10",
                          "--evidence", "e", "--actor", "a")
    assert code == 1 and "2016-Q3 (2016-09-30, done)" in err  # the instances are listed
    with seeded.sessions() as s:
        by_key = {o.key: o for o in occurrences(s, oid)}
        assert by_key["2016-Q3"].late_by == 3 and by_key["2016-Q4"].late_by == 0  # Sat 8, Sun 9 (worked), Mon 10 Oct
        assert s.get(Obligation, oid).state == "active"  # a rhythm is never closed by one instance


def test_completions_that_cannot_be_recorded(seeded, env_for):
    env = env_for(seeded)
    with seeded.sessions() as s:
        dormant = ob_id(s, 6, 1, "市发展改革局")
        fixed = ob_id(s, 1, 1, "市编办")
    code, _out, err = run(env, "complete", str(dormant), "--date", "2016-08-01", "--evidence", "e", "--actor", "a")
    assert code == 1 and "dormant" in err
    code, _out, err = run(env, "complete", str(fixed), "--date", "2016-08-01", "--evidence", "  ", "--actor", "a")
    assert code == 1 and "evidence" in err
    code, _out, err = run(env, "complete", "999999", "--date", "2016-08-01", "--evidence", "e", "--actor", "a")
    assert code == 1 and "no obligation 999999" in err
    code, _out, err = run(env, "complete", str(fixed), "--date", "2999-01-01", "--evidence", "e", "--actor", "a")
    assert code == 2 and "future" in err
    assert run(env, "waive", str(fixed), "--reason", "职能调整", "--actor", "督查室")[0] == 0
    code, _out, err = run(env, "complete", str(fixed), "--date", "2016-08-01", "--evidence", "e", "--actor", "a")
    assert code == 1 and "waived" in err


# --------------------------------------------------------------------------- no more reminders


def test_completed_and_waived_obligations_get_no_more_reminders(seeded, env_for, tmp_path):
    env = env_for(seeded)
    settings = load_settings(environ={"DUBAN_DATABASE_URL": seeded.url, "DUBAN_OUTBOX_DIR": str(tmp_path / "out")})
    rt = build_runtime(settings, engine=seeded.engine)
    with seeded.sessions() as s:
        done_id, waived_id, other_id = (ob_id(s, 0, 1, u) for u in ("市发展改革局", "市经济信息化局", "市财政局"))
        occ = {oid: occurrences(s, oid)[0].id for oid in (done_id, waived_id, other_id)}

    def stages(oid: int) -> set[str]:
        with seeded.sessions() as s:
            return set(s.scalars(select(StageRecord.stage).where(StageRecord.occurrence_id == occ[oid],
                                                                 StageRecord.action == "send")).all())

    rt.run_tick(dt.date(2016, 7, 21))  # 10 working days before 2016-08-04: everyone reminded
    assert stages(done_id) == stages(waived_id) == stages(other_id) == {"before_10"}
    assert run(env, "complete", str(done_id), "--date", "2016-07-22", "--evidence", "http://x.example/a",
               "--actor", "a")[0] == 0
    assert run(env, "waive", str(waived_id), "--reason", "不适用于本单位", "--actor", "督查室")[0] == 0
    for day in (dt.date(2016, 7, 28), dt.date(2016, 8, 4), dt.date(2016, 8, 5)):
        rt.run_tick(day)
    assert stages(done_id) == stages(waived_id) == {"before_10"}
    assert stages(other_id) == {"before_10", "before_5", "due_day", "overdue_1"}


def test_waiving_one_due_instance_keeps_the_obligation_live(seeded, env_for):
    env = env_for(seeded)
    code, out, _ = run(env, "event", "record", "major_emergency", "--date", "2016-08-10", "--at", "15:00",
                       "--title", "榕城区特大暴雨", "--actor", "应急办", "--json")
    event_id = json.loads(out)["event_id"]
    with seeded.sessions() as s:
        oid = ob_id(s, 23, 1, "揭西县人民政府", trigger="major_emergency")
    code, out, err = run(env, "waive", str(oid), "--occurrence", f"event:{event_id}", "--reason", "非本地事件",
                         "--actor", "督查室")
    assert code == 0, err
    with seeded.sessions() as s:
        assert [o.state for o in occurrences(s, oid)] == ["waived"]
        assert s.get(Obligation, oid).state == "active"
    run(env, "event", "record", "major_emergency", "--date", "2016-09-01", "--title", "揭西县山体滑坡",
        "--actor", "应急办")
    with seeded.sessions() as s:
        assert [o.state for o in occurrences(s, oid)] == ["waived", "open"]  # the next emergency still counts
        rec = s.scalars(select(AuditRecord).where(AuditRecord.action == "obligation.waived")).one()
    assert rec.after == {"occurrence": f"event:{event_id}", "state": "waived"} and rec.reason == "非本地事件"


# --------------------------------------------------------------------------- roles


def test_roles_are_checked_in_the_service(seeded):
    with seeded.sessions() as s, s.begin():
        mine, other = ob_id(s, 0, 1, "市发展改革局"), ob_id(s, 0, 1, "市财政局")
        fagai = unit_id(s, "市发展改革局")
        done = complete(s, mine, on=dt.date(2016, 8, 1), evidence="e", actor="发改联络员", calendar=CAL,
                        role="clerk", unit_ids={fagai}, source="web")
        assert done.state == "done"
        with pytest.raises(PermissionDenied, match="市财政局"):
            complete(s, other, on=dt.date(2016, 8, 1), evidence="e", actor="发改联络员", calendar=CAL,
                     role="clerk", unit_ids={fagai})
        for role in ("clerk", "viewer"):
            with pytest.raises(PermissionDenied):
                waive(s, other, reason="r", actor="x", role=role, unit_ids={fagai})
            with pytest.raises(PermissionDenied):
                record_event(s, trigger_key="gd_task29_doc", on=dt.date(2016, 12, 1), actor="x", proj=PROJ, role=role,
                             unit_ids={fagai})
        with pytest.raises(PermissionDenied, match="unknown role"):
            waive(s, other, reason="r", actor="x", role="root")  # type: ignore[arg-type]
        # A clerk of the supervising office (督查室) records events.
        supervisor_office = s.execute(select(Unit.id).where(Unit.is_supervisor.is_(True))).scalars().first()
        record_event(s, trigger_key="gd_task29_doc", on=dt.date(2016, 12, 1), actor="督查室联络员", proj=PROJ,
                     role="clerk", unit_ids={supervisor_office}, source="web")
        ext = request_extension(s, other, until=dt.date(2016, 8, 31), reason="r", actor="财政联络员", role="clerk",
                                unit_ids={unit_id(s, "市财政局")})
        with pytest.raises(PermissionDenied):
            approve_extension(s, ext.id, actor="发改联络员", role="clerk", unit_ids={fagai})
        approve_extension(s, ext.id, actor="督查室王五", role="supervisor", source="web")
        web = s.scalars(select(AuditRecord.source).where(AuditRecord.action == "extension.approved")).one()
        assert web == "web"


# --------------------------------------------------------------------------- extensions


def test_extension_request_approval_and_the_audit_of_the_old_date(seeded, env_for):
    env = env_for(seeded)
    with seeded.sessions() as s:
        oid = ob_id(s, 0, 1, "市发展改革局")
    code, out, err = run(env, "extend", "request", str(oid), "--until", "2016-08-31", "--reason", "需征求意见",
                         "--actor", "发改联络员")
    assert code == 0, err
    with seeded.sessions() as s:
        assert occurrences(s, oid)[0].due == dt.date(2016, 8, 4)  # a request alone changes nothing
        [row] = list_extensions(s)
    code, _out, err = run(env, "extend", "approve", str(row.id), "--actor", "发改联络员")
    assert code == 1 and "不得自批" in err
    code, _out, err = run(env, "extend", "approve", str(row.id), "--actor", " 发改联络员 ")
    assert code == 1 and "不得自批" in err
    code, out, err = run(env, "extend", "approve", str(row.id), "--actor", "督查室王五", "--note", "同意延期")
    assert code == 0, err
    with seeded.sessions() as s:
        assert occurrences(s, oid)[0].due == dt.date(2016, 8, 31)
        rec = s.scalars(select(AuditRecord).where(AuditRecord.action == "extension.approved")).one()
    assert rec.before["due"] == "2016-08-04" and rec.after["due"] == "2016-08-31" and rec.reason == "同意延期"
    code, out, _ = run(env, "extend", "list", "--json")
    [ext] = json.loads(out)
    assert (ext["status"], ext["original_due"], ext["until"], ext["decided_by"]) == \
        ("approved", "2016-08-04", "2016-08-31", "督查室王五")
    code, _out, err = run(env, "extend", "approve", str(row.id), "--actor", "督查室赵六")
    assert code == 1 and "already approved" in err
    # A completion after the old date but before the new one is on time.
    assert run(env, "complete", str(oid), "--date", "2016-08-20", "--evidence", "e", "--actor", "a")[0] == 0
    with seeded.sessions() as s:
        assert occurrences(s, oid)[0].late_by == 0


def test_extension_requests_that_are_refused(seeded, env_for):
    env = env_for(seeded)
    with seeded.sessions() as s:
        oid, other = ob_id(s, 0, 1, "市发展改革局"), ob_id(s, 0, 1, "市财政局")
    code, _out, err = run(env, "extend", "request", str(oid), "--until", "2016-08-01", "--reason", "r", "--actor", "a")
    assert code == 1 and "not after the current due date 2016-08-04" in err
    assert run(env, "extend", "request", str(oid), "--until", "2016-08-31", "--reason", "r", "--actor", "a")[0] == 0
    code, _out, err = run(env, "extend", "request", str(oid), "--until", "2016-09-30", "--reason", "r", "--actor", "a")
    assert code == 1 and "still waiting" in err
    code, _out, err = run(env, "extend", "reject", "1", "--reason", " ", "--actor", "督查室")
    assert code == 1 and "reason" in err
    code, out, err = run(env, "extend", "reject", "1", "--reason", "理由不充分", "--actor", "督查室")
    assert code == 0, err
    with seeded.sessions() as s:
        assert occurrences(s, oid)[0].due == dt.date(2016, 8, 4)
    # Approving a request whose instance was completed in the meantime is refused.
    assert run(env, "extend", "request", str(other), "--until", "2016-08-31", "--reason", "r", "--actor", "b")[0] == 0
    assert run(env, "complete", str(other), "--date", "2016-08-03", "--evidence", "e", "--actor", "b")[0] == 0
    code, _out, err = run(env, "extend", "approve", "2", "--actor", "督查室")
    assert code == 1 and "done" in err
    code, out, _ = run(env, "extend", "list", "--status", "requested", "--json")
    assert [e["id"] for e in json.loads(out)] == [2]
    with seeded.sessions() as s, s.begin():
        with pytest.raises(NotFound):
            reject_extension(s, 99, actor="x", reason="r")
        with pytest.raises(ServiceError):
            request_extension(s, ob_id(s, 6, 1, "市发展改革局"), until=dt.date(2016, 12, 1), reason="r", actor="a")
