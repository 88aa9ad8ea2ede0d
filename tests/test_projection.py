"""Projection of deadline specs to due dates, on the seed's own deadlines.

The plan: 揭府办函〔2016〕71号, published 2016-06-23, plan year 2016. The
specs below are what the seed's 完成时限 phrases mean (docs: domain.md).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from duban.engine.deadlines.calendar import WorkingCalendar
from duban.engine.deadlines.spec import Offset, Recurring, Triggered, spec_from_json
from duban.errors import CalendarYearMissing
from duban.engine.deadlines.offsets import add_offset
from duban.engine.deadlines.projection import (
    Due,
    EventOccurrence,
    PlanContext,
    ProjectionError,
    project,
)
from hypothesis import given, settings
from hypothesis import strategies as st

D = dt.date
CAL = WorkingCalendar.default()
PLAN = PlanContext(plan_year=2016, published=D(2016, 6, 23))


def dues(spec: dict[str, Any], ctx: PlanContext = PLAN, **kwargs: Any) -> list[tuple[int, str, dt.date]]:
    return [(d.part, d.key, d.due) for d in project(spec_from_json(spec), ctx, CAL, **kwargs)]


def one(spec: dict[str, Any], **kwargs: Any) -> Due:
    (due,) = project(spec_from_json(spec), PLAN, CAL, **kwargs)
    return due


# --------------------------------------------------------------------------- fixed


@pytest.mark.parametrize(("phrase", "due"), [
    ("6月30日前（2016年的通知）", "2016-06-30"),
    ("2016年12月底前完成", "2016-12-31"),
    ("2016年7月底前完成", "2016-07-31"),
    ("2016年10月前完成", "2016-09-30"),
    ("2017年第1季度完成", "2017-03-31"),
    ("2017年2月", "2017-02-28"),
])
def test_fixed_keeps_the_date_as_written(phrase: str, due: str) -> None:
    got = one({"kind": "fixed", "due": due})
    assert (got.part, got.key, got.due, got.checkin) == (0, "final", D.fromisoformat(due), False)
    assert got.label == f"{got.due.year}年{got.due.month}月{got.due.day}日前"


def test_fixed_rolls_a_rest_day_to_the_next_working_day() -> None:
    got = one({"kind": "fixed", "due": "2016-07-31", "roll": "next_workday"})  # a Sunday
    assert got.due == D(2016, 8, 1)
    assert "遇节假日顺延" in got.label and "原定2016年7月31日" in got.label
    assert one({"kind": "fixed", "due": "2016-10-01", "roll": "next_workday"}).due == D(2016, 10, 8)
    assert one({"kind": "fixed", "due": "2016-06-30", "roll": "next_workday"}).due == D(2016, 6, 30)


def test_fixed_roll_needs_the_calendar() -> None:
    with pytest.raises(CalendarYearMissing, match="2027"):
        one({"kind": "fixed", "due": "2027-01-01", "roll": "next_workday"})
    assert one({"kind": "fixed", "due": "2027-01-01"}).due == D(2027, 1, 1)  # as written: no calendar needed


# --------------------------------------------------------------------------- relative


def test_relative_thirty_working_days_after_publication() -> None:
    # 本方案公布后30个工作日内
    got = one({"kind": "relative", "anchor": "plan_published", "offset": {"working_days": 30}})
    assert (got.key, got.due) == ("final", D(2016, 8, 4))
    assert got.label == "方案公布（2016年6月23日）后30个工作日内（2016年8月4日前）"


def test_relative_without_a_publication_date() -> None:
    spec = {"kind": "relative", "anchor": "plan_published", "offset": {"working_days": 30}}
    assert dues(spec, PlanContext(plan_year=2016)) == []
    assert dues({**spec, "due": "2016-08-04"}, PlanContext(plan_year=2016)) == [(0, "final", D(2016, 8, 4))]


def test_relative_past_the_data() -> None:
    with pytest.raises(CalendarYearMissing, match="2027"):
        dues({"kind": "relative", "anchor": "plan_published", "offset": {"working_days": 30}},
             PlanContext(plan_year=2026, published=D(2026, 12, 1)))


# --------------------------------------------------------------------------- recurring


def test_quarterly_from_publication() -> None:
    # 每季度公示旅游投诉情况: Q1 ended before the plan; Q2 (ends 6-30) is owed.
    got = project(spec_from_json({"kind": "recurring", "freq": "quarterly"}), PLAN, CAL)
    assert [(d.key, d.due, d.label) for d in got] == [
        ("2016-Q2", D(2016, 6, 30), "2016年第2季度"),
        ("2016-Q3", D(2016, 9, 30), "2016年第3季度"),
        ("2016-Q4", D(2016, 12, 31), "2016年第4季度"),
    ]


def test_quarterly_for_a_plan_published_in_january() -> None:
    got = dues({"kind": "recurring", "freq": "quarterly"}, PlanContext(plan_year=2016, published=D(2016, 1, 5)))
    assert [k for _, k, _ in got] == ["2016-Q1", "2016-Q2", "2016-Q3", "2016-Q4"]


def test_monthly_in_season() -> None:
    # 流行季节（4-10月）每月定期发布登革热媒介伊蚊密度监测评估结果
    got = project(spec_from_json({"kind": "recurring", "freq": "monthly", "months": [4, 5, 6, 7, 8, 9, 10]}),
                  PLAN, CAL)
    assert [(d.key, d.due) for d in got] == [
        ("2016-06", D(2016, 6, 30)), ("2016-07", D(2016, 7, 31)), ("2016-08", D(2016, 8, 31)),
        ("2016-09", D(2016, 9, 30)), ("2016-10", D(2016, 10, 31))]
    assert got[0].label == "2016年6月"


def test_semiannual() -> None:
    # 每半年向社会公开进展和完成情况
    got = project(spec_from_json({"kind": "recurring", "freq": "semiannual"}), PLAN, CAL)
    assert [(d.key, d.due, d.label) for d in got] == [
        ("2016-H1", D(2016, 6, 30), "2016年上半年"), ("2016-H2", D(2016, 12, 31), "2016年下半年")]


def test_annual() -> None:
    # 每年解读重要政策措施不少于1次
    got = one({"kind": "recurring", "freq": "annual"})
    assert (got.key, got.due, got.label) == ("2016", D(2016, 12, 31), "2016年度")


def test_two_months_in_one_period_are_tracked_month_by_month() -> None:
    # 中考3月高考11月: March had passed when the plan came out in June.
    spec = {"kind": "recurring", "freq": "annual", "months": [3, 11]}
    assert dues(spec) == [(0, "2016-11", D(2016, 11, 30))]
    early = PlanContext(plan_year=2016, published=D(2016, 1, 10))
    assert dues(spec, early) == [(0, "2016-03", D(2016, 3, 31)), (0, "2016-11", D(2016, 11, 30))]


def test_day_of_month_clamps() -> None:
    spec = {"kind": "recurring", "freq": "monthly", "day": 31, "start": "2016-01-01", "until": "2016-04-30"}
    assert [d for _, _, d in dues(spec, PlanContext(plan_year=2016))] == [
        D(2016, 1, 31), D(2016, 2, 29), D(2016, 3, 31), D(2016, 4, 30)]
    spec15 = {"kind": "recurring", "freq": "quarterly", "day": 15}
    assert [d for _, _, d in dues(spec15)] == [D(2016, 6, 15), D(2016, 9, 15), D(2016, 12, 15)]


def test_start_and_until_bound_the_occurrences() -> None:
    spec = {"kind": "recurring", "freq": "quarterly", "start": "2016-08-15", "until": "2017-06-30"}
    assert [k for _, k, _ in dues(spec)] == ["2016-Q3", "2016-Q4", "2017-Q1", "2017-Q2"]


@settings(max_examples=200, deadline=None)
@given(
    freq=st.sampled_from(["monthly", "quarterly", "semiannual", "annual"]),
    months=st.none() | st.lists(st.integers(1, 12), min_size=1, max_size=6, unique=True),
    day=st.none() | st.just("last") | st.integers(1, 31),
    published=st.dates(min_value=D(2016, 1, 1), max_value=D(2016, 12, 31)),
)
def test_recurring_invariants(freq: str, months: list[int] | None, day: Any, published: dt.date) -> None:
    spec = Recurring(freq=freq, months=tuple(months) if months else None, day=day)  # type: ignore[arg-type]
    got = project(spec, PlanContext(plan_year=2016, published=published), CAL)
    keys = [d.key for d in got]
    assert len(keys) == len(set(keys)), "keys are unique within a part"
    assert [d.due for d in got] == sorted(d.due for d in got)
    allowed = set(months) if months else {"monthly": set(range(1, 13)), "quarterly": {3, 6, 9, 12},
                                          "semiannual": {6, 12}, "annual": {12}}[freq]
    for due in got:
        assert due.due.year == 2016 and due.due.month in allowed
        assert due.due.month >= published.month or freq != "monthly"  # a month that ended earlier is dropped
    # Re-projection is deterministic (the store relies on stable keys).
    assert project(spec, PlanContext(plan_year=2016, published=published), CAL) == got


# --------------------------------------------------------------------------- ongoing


def test_ongoing_whole_year_work() -> None:
    # 全年工作 → until 2016-12-31, a check-in at the end of September
    got = project(spec_from_json({"kind": "ongoing", "until": "2016-12-31"}), PLAN, CAL)
    assert [(d.key, d.due, d.checkin, d.label) for d in got] == [
        ("checkin:2016-09-30", D(2016, 9, 30), True, "全年工作检查点（9月底）"),
        ("final", D(2016, 12, 31), False, "全年工作（2016年12月31日前完成）"),
    ]


def test_ongoing_without_an_end_has_only_checkins() -> None:
    assert dues({"kind": "ongoing", "until": None}) == [(0, "checkin:2016-09-30", D(2016, 9, 30))]


def test_ongoing_checkins_are_configurable_and_follow_publication() -> None:
    got = dues({"kind": "ongoing", "until": "2016-12-31"}, checkins=((3, 31), (6, 30), (9, 30), (12, 31)))
    # 3-31 was before the plan; 6-30 is inside the 20 working days after publication; 12-31 is the final itself.
    assert got == [(0, "checkin:2016-09-30", D(2016, 9, 30)), (0, "final", D(2016, 12, 31))]
    open_ended = dues({"kind": "ongoing", "until": None}, checkins=((12, 31),))
    assert open_ended == [(0, "checkin:2016-12-31", D(2016, 12, 31))]


def test_ongoing_beyond_the_plan_year() -> None:
    got = project(spec_from_json({"kind": "ongoing", "until": "2017-12-31"}), PLAN, CAL)
    assert [(d.key, d.label) for d in got] == [
        ("checkin:2016-09-30", "持续工作检查点（2016年9月底）"),
        ("checkin:2017-09-30", "持续工作检查点（2017年9月底）"),
        ("final", "持续工作（2017年12月31日前完成）"),
    ]


def test_bad_checkins_are_refused() -> None:
    with pytest.raises(ProjectionError, match=r"\(13, 1\)"):
        dues({"kind": "ongoing", "until": None}, checkins=((13, 1),))


# --------------------------------------------------------------------------- triggered


def ev(id: str, on: str, at: dt.datetime | None = None) -> EventOccurrence:
    return EventOccurrence(id=id, on=D.fromisoformat(on), at=at)


def test_triggered_is_dormant_without_its_event() -> None:
    spec = {"kind": "triggered", "event": "provincial_document_issued", "offset": None}  # 待省相关文件出台后
    assert dues(spec) == []
    assert dues(spec, events={"other_event": [ev("x", "2016-07-01")]}) == []


def test_triggered_default_offset_for_jishi() -> None:
    # 收到国家税收政策文件后及时转发: no window in the text → the configured default (10 working days).
    spec = {"kind": "triggered", "event": "national_tax_policy_received", "offset": None}
    got = one(spec, events={"national_tax_policy_received": [ev("cs-2016-88", "2016-09-30")]})
    assert (got.key, got.due) == ("final", D(2016, 10, 19))  # 国庆 10-1..7, 10-8/9 worked
    assert "默认时限" in got.label
    custom = one(spec, events={"national_tax_policy_received": [ev("a", "2016-09-30")]},
                 default_offset=Offset(unit="working_days", amount=3))
    assert custom.due == D(2016, 10, 10)


def test_triggered_days_after_the_budget_is_approved() -> None:
    # 在市人大通过市级部门预算后20日内
    spec = {"kind": "triggered", "event": "budget_approved", "offset": {"days": 20}}
    assert one(spec, events={"budget_approved": [ev("rd-2016", "2016-07-15")]}).due == D(2016, 8, 4)


def test_triggered_working_days_across_a_holiday() -> None:
    # 最迟不超过3个工作日, the document published the day before 国庆
    spec = {"kind": "triggered", "event": "policy_document_published", "offset": {"working_days": 3}}
    assert one(spec, events={"policy_document_published": [ev("d1", "2016-09-30")]}).due == D(2016, 10, 10)


def test_triggered_hours_from_the_instant_in_shanghai() -> None:
    # 特别重大、重大突发事件发生后，应在24小时内举行新闻发布会 — one duty per emergency.
    spec = {"kind": "triggered", "event": "major_emergency", "offset": {"hours": 24}, "per_event": True}
    utc = dt.timezone.utc
    events = {"major_emergency": [
        ev("flood", "2016-07-02", at=dt.datetime(2016, 7, 1, 20, 0, tzinfo=utc)),  # 04:00 on 7-2 in Shanghai
        ev("fire", "2016-08-01"),                                                    # time unknown: from 00:00
        ev("storm", "2016-08-10", at=dt.datetime(2016, 8, 10, 23, 30)),              # naive = Shanghai
    ]}
    got = project(spec_from_json(spec), PLAN, CAL, events=events)
    assert [(d.key, d.due) for d in got] == [
        ("event:flood", D(2016, 7, 3)), ("event:fire", D(2016, 8, 2)), ("event:storm", D(2016, 8, 11))]


def test_triggered_without_per_event_uses_the_earliest() -> None:
    spec = {"kind": "triggered", "event": "provincial_document_issued", "offset": {"working_days": 10}}
    events = {"provincial_document_issued": [ev("late", "2016-11-01"), ev("early", "2016-09-01")]}
    got = one(spec, events=events)
    assert (got.key, got.due) == ("final", D(2016, 9, 18))  # 中秋 9-15..17 off, Sunday 9-18 worked
    assert "early" in got.label


def test_triggered_months_and_years_clamp_to_month_end() -> None:
    month = {"kind": "triggered", "event": "e", "offset": {"months": 1}}
    assert one(month, events={"e": [ev("a", "2016-01-31")]}).due == D(2016, 2, 29)
    year = {"kind": "triggered", "event": "e", "offset": {"years": 1}}
    assert one(year, events={"e": [ev("a", "2016-02-29")]}).due == D(2017, 2, 28)


def test_triggered_past_the_data() -> None:
    spec = {"kind": "triggered", "event": "e", "offset": {"working_days": 5}}
    with pytest.raises(CalendarYearMissing, match="2027"):
        dues(spec, events={"e": [ev("a", "2026-12-28")]})


def test_duplicate_event_ids_are_refused() -> None:
    spec = {"kind": "triggered", "event": "e", "offset": {"days": 1}, "per_event": True}
    with pytest.raises(ProjectionError, match="'a'"):
        dues(spec, events={"e": [ev("a", "2016-07-01"), ev("a", "2016-08-01")]})


def test_an_event_whose_instant_and_date_disagree() -> None:
    # 20:00 UTC on 1 July is 04:00 on 2 July in the calendar's zone (北京时间).
    flood = EventOccurrence(id="flood", on=D(2016, 7, 1), at=dt.datetime(2016, 7, 1, 20, 0, tzinfo=dt.timezone.utc))
    with pytest.raises(ProjectionError, match="flood"):
        project(Triggered(event="e", offset=Offset(unit="hours", amount=24)), PlanContext(plan_year=2016),
                CAL, events={"e": [flood]})


def test_add_offset_units() -> None:
    start = D(2016, 6, 23)
    assert add_offset(start, Offset(unit="working_days", amount=0), CAL) == start
    assert add_offset(start, Offset(unit="days", amount=8), CAL) == D(2016, 7, 1)
    assert add_offset(start, Offset(unit="hours", amount=23), CAL) == start
    assert add_offset(start, Offset(unit="hours", amount=24), CAL) == D(2016, 6, 24)
    assert add_offset(D(2016, 12, 31), Offset(unit="months", amount=2), CAL) == D(2017, 2, 28)


# --------------------------------------------------------------------------- composite


def test_composite_task_12_cell() -> None:
    # Task 12: 全年工作 / 2016年12月底前完成 / 2017年第1季度完成
    spec = {"kind": "composite", "parts": [
        {"kind": "ongoing", "until": "2016-12-31"},
        {"kind": "fixed", "due": "2016-12-31"},
        {"kind": "fixed", "due": "2017-03-31"},
    ]}
    assert dues(spec) == [
        (0, "checkin:2016-09-30", D(2016, 9, 30)), (0, "final", D(2016, 12, 31)),
        (1, "final", D(2016, 12, 31)),
        (2, "final", D(2017, 3, 31)),
    ]


def test_composite_with_a_dormant_part() -> None:
    # Task 21: 按预算法规定完成 (a trigger) 。全部部门决算公开完成时限2016年12月底前
    spec = {"kind": "composite", "parts": [
        {"kind": "triggered", "event": "budget_approved", "offset": {"days": 20}},
        {"kind": "fixed", "due": "2016-12-31"},
    ]}
    assert dues(spec) == [(1, "final", D(2016, 12, 31))]
    woken = dues(spec, events={"budget_approved": [ev("rd", "2016-07-01")]})
    assert woken == [(0, "final", D(2016, 7, 21)), (1, "final", D(2016, 12, 31))]


def test_projection_is_pure_and_stable() -> None:
    spec = spec_from_json({"kind": "composite", "parts": [
        {"kind": "recurring", "freq": "quarterly"},
        {"kind": "relative", "anchor": "plan_published", "offset": {"working_days": 30}},
    ]})
    assert project(spec, PLAN, CAL) == project(spec, PLAN, CAL)
