"""Events that start triggered deadlines, on SQLite and PostgreSQL: the seed's triggered duties end to end."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from duban.engine.deadlines.calendar import WorkingCalendar
from duban.engine.runtime.settings import load_settings
from duban.engine.deadlines.spec import Offset
from duban.engine.services.events import (
    DuplicateEvent,
    NotFound,
    Projection,
    ServiceError,
    correct_event,
    record_event,
)
from duban.engine.services.extensions import approve_extension, request_extension
from duban.engine.runtime.build import build_runtime
from duban.store.models import (
    AuditRecord,
    Notification,
    Obligation,
    Occurrence,
    Requirement,
    Task,
    Unit,
)
from helpers import run
from sqlalchemy import func, select

REPO = Path(__file__).resolve().parent.parent
PLAN = "jieyang-2016-disclosure"
CAL = WorkingCalendar.default()
PROJ = Projection(calendar=CAL, default_offset=Offset(unit="working_days", amount=10), checkins=((6, 30), (9, 30)))
COUNTY = {"榕城区人民政府", "揭东区人民政府", "揭西县人民政府", "惠来县人民政府", "普宁市人民政府", "产业转移园管委会",
          "大南海工业区管委会", "空港经济区管委会", "揭阳高新区管委会"}


def obligations_of(s, task: int, req: int, trigger: str) -> dict[int, str]:
    """{obligation id: unit name} of a requirement's deadline part waiting on ``trigger``."""
    rows = s.execute(select(Obligation.id, Unit.name).join(Unit, Unit.id == Obligation.unit_id)
                     .join(Requirement, Requirement.id == Obligation.requirement_id)
                     .join(Task, Task.id == Requirement.task_id)
                     .where(Obligation.plan_id == PLAN, Task.no == task, Requirement.no == req,
                            Obligation.trigger_key == trigger)).all()
    return dict(rows)


def open_dues(s, ids) -> dict[int, list[tuple[str, dt.date]]]:
    out: dict[int, list[tuple[str, dt.date]]] = {i: [] for i in ids}
    for oid, key, due in s.execute(select(Occurrence.obligation_id, Occurrence.key, Occurrence.due)
                                   .where(Occurrence.obligation_id.in_(list(ids)), Occurrence.state == "open")
                                   .order_by(Occurrence.due, Occurrence.key)):
        out[oid].append((key, due))
    return out


# The seed's triggered duties: (task, requirement, trigger, event day, time, expected due, units).
# Due dates are worked out by hand on the 2016 calendar: Mid-Autumn 15–17 Sep with Sunday 18 Sep worked,
# National Day 1–7 Oct with 8–9 Oct worked; the default window is 10 working days.
SEED_TRIGGERED = [
    (6, 1, "gd_negative_list_doc", "2016-09-05", None, "2016-09-20", {"市发展改革局"} | COUNTY),
    (6, 2, "gd_negative_list_doc", "2016-09-05", None, "2016-09-20", {"市发展改革局"} | COUNTY),
    (11, 5, "central_soe_disclosure_rules", "2016-10-10", None, "2016-10-24", {"市国资委"} | COUNTY),
    (16, 3, "mep_eia_participation_rules", "2016-07-01", None, "2016-07-15", {"市环境保护局"} | COUNTY),
    (19, 1, "gd_major_decision_doc", "2016-08-01", None, "2016-08-15", {"市法制局"}),
    (21, 1, "city_budget_approved", "2016-07-20", None, "2016-08-09", {"市财政局"} | COUNTY),  # 20 days
    (21, 2, "city_budget_approved", "2016-07-20", None, "2016-08-09", {"市财政局"} | COUNTY),
    (22, 1, "important_policy_doc", "2016-09-14", None, "2016-09-20", None),  # 3 working days, per document
    (23, 1, "major_emergency", "2016-08-10", "23:30", "2016-08-11", None),  # 24 hours, per emergency
    (28, 1, "gd_dept_performance_plan", "2016-11-15", None, "2016-11-29", {"市人力资源社会保障局"} | COUNTY),
    (29, 1, "gd_task29_doc", "2016-12-01", None, "2016-12-15", {"市政府办公室"}),
]


def test_the_seed_triggered_duties_activate_with_the_right_due_dates(seeded):
    recorded: set[str] = set()
    for task, req, trigger, day, at, due, units in SEED_TRIGGERED:
        on = dt.date.fromisoformat(day)
        with seeded.sessions() as s, s.begin():
            waiting = obligations_of(s, task, req, trigger)
            assert waiting, (task, req, trigger)
            if units is not None:
                assert set(waiting.values()) == units, (task, req)
            else:  # the annex's city units plus the county level: every unit of the table
                assert len(waiting) == 61 and COUNTY <= set(waiting.values())
            before = open_dues(s, waiting)
            if trigger not in recorded:
                assert all(not v for v in before.values()), f"task {task}.{req} is not dormant before its event"
                instant = (dt.datetime.combine(on, dt.time.fromisoformat(at)) if at else None)
                [(ev, stats)] = record_event(s, trigger_key=trigger, on=on, at=instant, actor="督查室", proj=PROJ,
                                             doc_number=f"测试〔2016〕{len(recorded) + 1}号")
                recorded.add(trigger)
                assert stats.added >= len(waiting)
            dues = open_dues(s, waiting)
        expected = dt.date.fromisoformat(due)
        per_event = trigger in ("important_policy_doc", "major_emergency")
        for oid, got in dues.items():
            assert [d for _k, d in got] == [expected], (task, req, waiting[oid], got)
            assert got[0][0].startswith("event:") if per_event else got[0][0] == "final"


def test_the_central_soe_condition_adds_a_due_without_touching_the_year_end_one(seeded):
    with seeded.sessions() as s, s.begin():
        unit_ob = s.execute(select(Obligation.id, Obligation.kind).join(Unit, Unit.id == Obligation.unit_id)
                            .join(Requirement).join(Task)
                            .where(Task.no == 11, Requirement.no == 5, Unit.name == "市国资委",
                                   Obligation.plan_id == PLAN).order_by(Obligation.part)).all()
        assert [k for _i, k in unit_ob] == ["fixed", "triggered"]
        record_event(s, trigger_key="central_soe_disclosure_rules", on=dt.date(2016, 10, 10), actor="督查室", proj=PROJ)
        dues = open_dues(s, [i for i, _k in unit_ob])
    assert dues[unit_ob[0][0]] == [("final", dt.date(2016, 12, 31))]
    assert dues[unit_ob[1][0]] == [("final", dt.date(2016, 10, 24))]


def test_triggers_list_and_event_record_through_the_cli(seeded, env_for):
    env = env_for(seeded)
    code, out, _ = run(env, "triggers", "list", "--json")
    assert code == 0
    triggers = {t["key"]: t for t in json.loads(out)}
    assert set(triggers["gd_negative_list_doc"]) >= {"key", "description", "plan", "obligation_ids", "status"}
    assert {t["status"] for t in triggers.values()} == {"waiting"}
    task6 = triggers["gd_negative_list_doc"]["obligation_ids"]
    assert len(task6) == 20 and triggers["gd_negative_list_doc"]["plan"] == PLAN
    code, out, err = run(env, "event", "record", "gd_negative_list_doc", "--date", "2016-09-05",
                         "--doc-number", "粤府〔2016〕99号", "--title", "广东省实行市场准入负面清单制度改革试点实施方案",
                         "--received", "2016-09-07", "--actor", "督查室林瑜", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["activated"] == 20 and result["dues"] == {"2016-09-20": sorted(task6)}
    code, out, _ = run(env, "triggers", "list", "--json")
    t = next(t for t in json.loads(out) if t["key"] == "gd_negative_list_doc")
    assert t["status"] == "activated" and t["events"][0]["doc_number"] == "粤府〔2016〕99号"
    code, out, _ = run(env, "triggers", "list", "--waiting")
    assert "gd_negative_list_doc" not in out and "gd_task29_doc" in out
    code, out, _ = run(env, "obligations", "list", "--task", "6", "--as-of", "2016-09-12", "--json")
    assert {r["status"] for r in json.loads(out)} == {"due_soon"} and {r["due"] for r in json.loads(out)} == {"2016-09-20"}
    code, out, _ = run(env, "event", "list", "--json")
    [ev] = json.loads(out)
    assert ev["received"] == "2016-09-07" and ev["actor"] == "督查室林瑜" and ev["open_dues"] == 20
    with seeded.sessions() as s:
        rec = s.scalars(select(AuditRecord).where(AuditRecord.action == "event.recorded")).one()
    assert rec.actor == "督查室林瑜" and rec.after["doc_number"] == "粤府〔2016〕99号"
    assert rec.after["dues"] == {"2016-09-20": sorted(task6)}


def test_units_are_reminded_in_the_next_digest_after_the_event(seeded, env_for, tmp_path):
    env = env_for(seeded)
    assert run(env, "event", "record", "gd_major_decision_doc", "--date", "2016-08-01", "--actor", "督查室")[0] == 0
    settings = load_settings(environ={"DUBAN_DATABASE_URL": seeded.url, "DUBAN_OUTBOX_DIR": str(tmp_path / "outbox")})
    rt = build_runtime(settings, engine=seeded.engine)
    result, _ = rt.run_tick(dt.date(2016, 8, 2))  # 9 working days before 2016-08-15
    assert result.sent > 0
    with seeded.sessions() as s:
        [task19] = obligations_of(s, 19, 1, "gd_major_decision_doc")
        rows = s.scalars(select(Notification).where(Notification.scheduled_for == dt.date(2016, 8, 2))).all()
    told = [n for n in rows if task19 in n.obligation_ids]
    assert told and {n.recipient_role for n in told} == {"clerk"}
    assert all("fazhi" in n.recipient or "法制" in n.recipient_name for n in told)
    assert "任务19" in told[0].body_text and "省文件发布之日起" in told[0].body_text
    assert "2016年8月15日" in told[0].body_text


def test_correction_re_projects_and_the_audit_log_keeps_the_old_dates(seeded, env_for):
    env = env_for(seeded)
    code, out, _ = run(env, "event", "record", "gd_negative_list_doc", "--date", "2016-09-05", "--actor", "督查室",
                       "--json")
    event_id = json.loads(out)["event_id"]
    code, out, err = run(env, "event", "correct", str(event_id), "--date", "2016-09-12", "--actor", "督查室王五",
                         "--reason", "按文件印发日期更正")
    assert code == 0, err
    assert "20 due date(s) moved" in out
    with seeded.sessions() as s:
        ids = obligations_of(s, 6, 1, "gd_negative_list_doc")
        assert {d for v in open_dues(s, ids).values() for _k, d in v} == {CAL.add_workdays(dt.date(2016, 9, 12), 10)}
        rec = s.scalars(select(AuditRecord).where(AuditRecord.action == "event.corrected")).one()
    assert rec.before["occurred_on"] == "2016-09-05" and rec.after["occurred_on"] == "2016-09-12"
    assert rec.reason == "按文件印发日期更正"
    assert {(c["due_before"], c["due_after"]) for c in rec.after["changes"]} == {("2016-09-20", "2016-09-27")}
    # Nothing to correct is refused, not recorded.
    code, _out, err = run(env, "event", "correct", str(event_id), "--date", "2016-09-12", "--actor", "督查室")
    assert code == 1 and "nothing to correct" in err


def test_retraction_cancels_open_dues_and_keeps_completed_ones(seeded, env_for):
    env = env_for(seeded)
    code, out, _ = run(env, "event", "record", "gd_negative_list_doc", "--date", "2016-09-05", "--actor", "督查室",
                       "--json")
    event_id = json.loads(out)["event_id"]
    with seeded.sessions() as s:
        ids = sorted(obligations_of(s, 6, 1, "gd_negative_list_doc"))
    assert run(env, "complete", str(ids[0]), "--date", "2016-09-19", "--evidence", "http://www.jieyang.gov.cn/a",
               "--actor", "市发改局")[0] == 0
    code, out, err = run(env, "event", "retract", str(event_id), "--reason", "登记错了文件", "--actor", "督查室")
    assert code == 0, err
    assert "19 open due instance(s) cancelled" in out
    with seeded.sessions() as s:
        states = dict(s.execute(select(Occurrence.obligation_id, Occurrence.state)
                                .where(Occurrence.obligation_id.in_(ids))).tuples().all())
    assert states[ids[0]] == "done" and {states[i] for i in ids[1:]} == {"cancelled"}
    code, out, _ = run(env, "obligations", "list", "--task", "6", "--as-of", "2016-09-30", "--json")
    statuses = {r["id"]: r["status"] for r in json.loads(out)}
    assert statuses[ids[0]] == "done" and statuses[ids[1]] == "dormant"
    code, out, _ = run(env, "triggers", "list", "--json")
    assert next(t for t in json.loads(out) if t["key"] == "gd_negative_list_doc")["status"] == "waiting"
    code, out, _ = run(env, "event", "list", "--json")
    assert json.loads(out)[0]["state"] == "retracted"
    assert run(env, "event", "retract", str(event_id), "--reason", "again", "--actor", "督查室")[0] == 1
    # A new document re-activates the waiting ones (the cancelled instances reopen with the new date).
    code, out, _ = run(env, "event", "record", "gd_negative_list_doc", "--date", "2016-10-10", "--actor", "督查室",
                       "--json")
    assert json.loads(out)["activated"] == 19


def test_per_event_triggers_get_one_due_instance_per_event(seeded, env_for):
    env = env_for(seeded)
    ids = []
    for day in ("2016-09-14", "2016-11-01"):
        code, out, err = run(env, "event", "record", "important_policy_doc", "--date", day, "--title", f"重要政策{day}",
                             "--actor", "督查室", "--json")
        assert code == 0, err
        assert json.loads(out)["activated"] == 61
        ids.append(json.loads(out)["event_id"])
    with seeded.sessions() as s:
        obs = obligations_of(s, 22, 1, "important_policy_doc")
        dues = open_dues(s, obs)
    assert {tuple(v) for v in dues.values()} == {((f"event:{ids[0]}", dt.date(2016, 9, 20)),
                                                   (f"event:{ids[1]}", dt.date(2016, 11, 4)))}
    assert run(env, "event", "retract", str(ids[0]), "--reason", "不属重要政策", "--actor", "督查室")[0] == 0
    with seeded.sessions() as s:
        dues = open_dues(s, obs)
    assert {tuple(v) for v in dues.values()} == {((f"event:{ids[1]}", dt.date(2016, 11, 4)),)}


def test_hour_offsets_count_from_the_events_time(seeded, env_for):
    env = env_for(seeded)
    code, out, err = run(env, "event", "record", "major_emergency", "--date", "2016-08-10", "--at", "00:30",
                         "--title", "某地特大暴雨", "--actor", "应急办", "--json")
    assert code == 0, err
    assert list(json.loads(out)["dues"]) == ["2016-08-11"]
    code, out, _ = run(env, "event", "record", "major_emergency", "--date", "2016-08-10", "--at", "23:59",
                       "--title", "某地化工厂爆炸", "--actor", "应急办", "--json")
    assert list(json.loads(out)["dues"]) == ["2016-08-11"]
    code, out, _ = run(env, "event", "list", "--json")
    assert [e["at"] for e in json.loads(out)] == ["2016-08-10T00:30:00+08:00", "2016-08-10T23:59:00+08:00"]
    # Correcting the date keeps the time of day.
    first = json.loads(out)[0]["id"]
    assert run(env, "event", "correct", str(first), "--date", "2016-08-12", "--actor", "应急办")[0] == 0
    code, out, _ = run(env, "event", "list", "--json")
    assert json.loads(out)[1]["at"] == "2016-08-12T00:30:00+08:00"
    assert run(env, "event", "record", "major_emergency", "--date", "2016-08-10", "--at", "25:00", "--actor", "x")[0] == 2


def test_a_second_one_off_event_follows_the_earliest(seeded):
    with seeded.sessions() as s, s.begin():
        record_event(s, trigger_key="gd_task29_doc", on=dt.date(2016, 12, 1), actor="督查室", proj=PROJ)
        [(_ev, stats)] = record_event(s, trigger_key="gd_task29_doc", on=dt.date(2016, 12, 20), actor="督查室",
                                      proj=PROJ, doc_number="另一份")
        assert stats.added == 0 and stats.moved == 0
        [(_ev, stats)] = record_event(s, trigger_key="gd_task29_doc", on=dt.date(2016, 11, 1), actor="督查室",
                                      proj=PROJ, doc_number="更早的一份")
        assert stats.moved == 1
        ids = obligations_of(s, 29, 1, "gd_task29_doc")
        assert [d for v in open_dues(s, ids).values() for _k, d in v] == [CAL.add_workdays(dt.date(2016, 11, 1), 10)]


def test_bad_event_requests_are_refused_and_write_nothing(seeded, env_for):
    env = env_for(seeded)
    code, _out, err = run(env, "event", "record", "gd_negative_list", "--date", "2016-09-05", "--actor", "x")
    assert code == 1 and "gd_negative_list_doc" in err  # the known keys are listed
    code, _out, err = run(env, "event", "record", "gd_negative_list_doc", "--date", "2016-09-05",
                          "--received", "2016-09-01", "--actor", "x")
    assert code == 1 and "before the event date" in err
    code, _out, err = run(env, "event", "record", "gd_negative_list_doc", "--date", "2016-09-31", "--actor", "x")
    assert code == 2
    code, _out, err = run(env, "event", "record", "gd_negative_list_doc", "--date", "2016-09-05", "--plan", "nope",
                          "--actor", "x")
    assert code == 1 and "in plan 'nope'" in err
    assert run(env, "event", "correct", "999", "--date", "2016-09-05", "--actor", "x")[0] == 1
    with seeded.sessions() as s:
        assert s.execute(select(func.count()).select_from(AuditRecord)
                         .where(AuditRecord.action.like("event.%"))).scalar_one() == 0
    with seeded.sessions() as s, s.begin():
        record_event(s, trigger_key="gd_task29_doc", on=dt.date(2016, 12, 1), actor="a", proj=PROJ, doc_number="1号")
    with pytest.raises(DuplicateEvent), seeded.sessions() as s, s.begin():
        record_event(s, trigger_key="gd_task29_doc", on=dt.date(2016, 12, 1), actor="a", proj=PROJ, doc_number="1号")
    with pytest.raises(NotFound), seeded.sessions() as s, s.begin():
        correct_event(s, 12345, on=dt.date(2016, 12, 2), actor="a", proj=PROJ)
    with pytest.raises(ServiceError, match="Asia/Shanghai"), seeded.sessions() as s, s.begin():
        record_event(s, trigger_key="major_emergency", on=dt.date(2016, 8, 10), actor="a", proj=PROJ,
                     at=dt.datetime(2016, 8, 10, 20, 0, tzinfo=dt.timezone.utc))  # 04:00 on the 11th in Shanghai


def test_an_approved_extension_survives_a_correction_of_the_event(seeded):
    with seeded.sessions() as s, s.begin():
        [(ev, _)] = record_event(s, trigger_key="gd_negative_list_doc", on=dt.date(2016, 9, 5), actor="督查室",
                                 proj=PROJ)
        ids = sorted(obligations_of(s, 6, 1, "gd_negative_list_doc"))
        e = request_extension(s, ids[0], until=dt.date(2016, 10, 31), reason="等细则", actor="市发改局")
        approve_extension(s, e.id, actor="督查室王五")
        stats = correct_event(s, ev.id, on=dt.date(2016, 9, 6), actor="督查室", proj=PROJ)
        dues = open_dues(s, ids)
    assert dues[ids[0]] == [("final", dt.date(2016, 10, 31))]  # kept: later than the corrected projection
    assert dues[ids[1]] == [("final", dt.date(2016, 9, 21))]
    assert stats.moved == len(ids) * 2 - 1  # task 6.1 and 6.2, less the extended one
    assert not any(c["obligation"].endswith("/6/1/市发展改革局/1/0") for c in stats.changes)
