"""The tick over the seed year, on SQLite and PostgreSQL (time travel by ``as_of``)."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
from collections import Counter
from pathlib import Path

import pytest
from duban.engine.deadlines.calendar import WorkingCalendar
from duban.engine.runtime.settings import load_settings
from duban.engine.deadlines.spec import Offset
from duban.engine.services.events import record_event
from duban.engine.plans.importer import import_result
from duban.engine.plans.planfile import load_plans
from duban.engine.runtime.build import Runtime, build_runtime
from duban.store.models import (
    Notification,
    Obligation,
    Occurrence,
    Official,
    StageRecord,
    Unit,
)
from sqlalchemy import func, select, update

REPO = Path(__file__).resolve().parent.parent
CAL = WorkingCalendar.default()


def make_runtime(store, tmp_path: Path, **env: str) -> Runtime:
    settings = load_settings(environ={"DUBAN_DATABASE_URL": store.url, "DUBAN_OUTBOX_DIR": str(tmp_path / "outbox"),
                                      **env})
    return build_runtime(settings, engine=store.engine)


@pytest.fixture
def seeded(store, tmp_path) -> Runtime:
    rt = make_runtime(store, tmp_path)
    result = load_plans([REPO / "rules" / "plans"], units_dirs=[REPO / "rules" / "units"], calendar=CAL)
    with rt.sessions() as s, s.begin():
        import_result(s, result, calendar=CAL, actor="test", default_offset=Offset(unit="working_days", amount=10),
                      checkins=rt.settings.ongoing_checkins)
    return rt


def notification_count(rt: Runtime) -> int:
    with rt.sessions() as s:
        return s.execute(select(func.count()).select_from(Notification)).scalar_one()


def test_no_mail_on_a_rest_day(seeded):
    national_day = dt.date(2016, 10, 3)  # a weekday inside the National Day holiday
    assert national_day.weekday() < 5 and not CAL.is_workday(national_day)
    result, report = seeded.run_tick(national_day)
    assert result.rest_day and result.sent == 0
    assert notification_count(seeded) == 0


def test_a_make_up_workday_is_a_tick_day(seeded):
    makeup = dt.date(2016, 10, 8)  # a Saturday worked for the National Day holiday (调休)
    assert makeup.weekday() == 5 and CAL.is_workday(makeup)
    result, _ = seeded.run_tick(makeup)
    assert not result.rest_day and result.sent > 0


def test_re_running_a_tick_sends_nothing_twice(seeded, tmp_path):
    day = dt.date(2016, 7, 25)
    first, report = seeded.run_tick(day)
    assert first.sent > 0 and report and report.statuses["sent"] == first.digests
    n = notification_count(seeded)
    files = sorted(p.name for p in (tmp_path / "outbox").iterdir())
    again, report2 = seeded.run_tick(day)
    assert again.sent == 0 and again.skipped == 0 and again.digests == 0
    assert notification_count(seeded) == n
    assert sorted(p.name for p in (tmp_path / "outbox").iterdir()) == files
    assert report2 is not None and report2.attempted == 0


def test_one_digest_per_recipient_per_tick_in_chinese(seeded, tmp_path):
    day = dt.date(2016, 7, 25)
    result, _ = seeded.run_tick(day)
    with seeded.sessions() as s:
        rows = s.scalars(select(Notification).where(Notification.scheduled_for == day)).all()
    recipients = Counter((r.recipient, r.recipient_role) for r in rows)
    assert recipients and max(recipients.values()) == 1
    assert len(rows) == result.digests
    eml = sorted((tmp_path / "outbox").glob("*.eml"))
    assert len(eml) == len(rows)
    msg = email.message_from_bytes(eml[0].read_bytes(), policy=email.policy.default)
    assert "督办" in str(msg["Subject"])
    text = msg.get_body(("plain",)).get_content()
    assert "截止" in text or "逾期" in text


def test_dormant_triggered_duties_get_no_reminder_until_their_event(seeded):
    with seeded.sessions() as s:
        task6 = s.scalars(select(Obligation.id).where(Obligation.okey.like("jieyang-2016-disclosure/6/%"))).all()
        assert task6
        assert s.execute(select(func.count()).select_from(Occurrence)
                         .where(Occurrence.obligation_id.in_(task6))).scalar_one() == 0
    for day in (dt.date(2016, 7, 25), dt.date(2016, 8, 15), dt.date(2016, 9, 1)):
        seeded.run_tick(day)
    with seeded.sessions() as s:
        assert s.execute(select(func.count()).select_from(StageRecord).join(Occurrence)
                         .where(Occurrence.obligation_id.in_(task6))).scalar_one() == 0
        trigger = s.scalars(select(Obligation.trigger_key).where(Obligation.id == task6[0])).one()
    # The provincial document arrives on 2016-09-05: due 10 working days later (the configured default).
    with seeded.sessions() as s, s.begin():
        record_event(s, trigger_key=trigger, on=dt.date(2016, 9, 5), actor="督查室", proj=seeded.projection)
    expected_due = CAL.add_workdays(dt.date(2016, 9, 5), 10)
    with seeded.sessions() as s:
        dues = set(s.scalars(select(Occurrence.due).where(Occurrence.obligation_id.in_(task6))).all())
    assert dues == {expected_due}
    result, _ = seeded.run_tick(dt.date(2016, 9, 6))
    with seeded.sessions() as s:
        stages = set(s.scalars(select(StageRecord.stage).join(Occurrence)
                               .where(Occurrence.obligation_id.in_(task6))).all())
    assert stages == {"before_10"}  # 9 working days left: the 10-day reminder, sent late but once


def test_catch_up_after_downtime_sends_only_the_most_advanced_reminder(seeded):
    due = dt.date(2016, 8, 4)  # task 0.1: 30 working days after publication
    ten_before = next(d for d in (due - dt.timedelta(days=i) for i in range(30)) if CAL.workdays_between(d, due) == 10)
    seeded.run_tick(ten_before)
    down_until = next(d for d in (due - dt.timedelta(days=i) for i in range(10)) if CAL.workdays_between(d, due) == 1)
    seeded.run_tick(down_until)  # the process was down in between: before_5 was never sent
    with seeded.sessions() as s:
        rows = s.execute(select(StageRecord.stage, StageRecord.action, StageRecord.tick_date)
                         .join(Occurrence).join(Obligation)
                         .where(Obligation.okey == "jieyang-2016-disclosure/0/1/市编办/1/0")).all()
    got = {(stage, action, day) for stage, action, day in rows}
    assert got == {("before_10", "send", ten_before), ("before_5", "skip", down_until),
                   ("before_1", "send", down_until)}


def test_a_unit_without_a_valid_address_is_reported_to_the_supervisor(seeded):
    with seeded.sessions() as s, s.begin():
        unit_id = s.scalars(select(Unit.id).where(Unit.name == "市编办")).one()
        s.execute(update(Official).where(Official.unit_id == unit_id).values(email="not an address\r\nBcc: x@y"))
    day = dt.date(2016, 7, 21)
    result, _ = seeded.run_tick(day)
    assert result.undeliverable["市编办"] >= 1
    with seeded.sessions() as s:
        sup = s.scalars(select(Notification).where(Notification.recipient_role == "supervisor",
                                                   Notification.scheduled_for == day)).all()
        assert sup and any("市编办" in n.body_text and "没有有效" in n.body_text for n in sup)
        assert not s.scalars(select(Notification).where(Notification.recipient.like("%not an address%"))).all()


def test_time_travel_over_the_summer_reminds_each_stage_once_on_working_days(seeded):
    day = dt.date(2016, 7, 1)
    while day <= dt.date(2016, 8, 31):
        seeded.run_tick(day)
        day += dt.timedelta(days=1)
    with seeded.sessions() as s:
        rows = s.execute(select(StageRecord.occurrence_id, StageRecord.stage, StageRecord.repeat,
                                StageRecord.tick_date, StageRecord.action)).all()
        task0 = s.execute(select(Occurrence.id, Occurrence.due).join(Obligation)
                          .where(Obligation.okey.like("jieyang-2016-disclosure/0/1/%"))).all()
    assert all(CAL.is_workday(r.tick_date) for r in rows)
    keys = Counter((r.occurrence_id, r.stage, r.repeat) for r in rows)
    assert max(keys.values()) == 1
    for occ_id, due in task0:  # due 2016-08-04: the whole ladder, each stage sent once, in order
        sent = sorted((r.tick_date, r.stage) for r in rows if r.occurrence_id == occ_id and r.action == "send")
        assert [stage for _d, stage in sent][:5] == ["before_10", "before_5", "before_1", "due_day", "overdue_1"]
        assert sent[3][0] == due
