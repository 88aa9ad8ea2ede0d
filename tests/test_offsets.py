"""One date + offset rule: explain, plan validation/show, the projection and the tick agree.

Issue 10 found three computations of "publication + offset" that disagreed: ``deadline
explain "本方案公布后36小时内" --published 2016-06-23`` printed 2016-06-25 while the due instance
the tick reminded about was 2016-06-24. The snapshot below is hand-computed on the official
calendar, and every path a person sees a due date through must print the same day.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from duban.engine.deadlines.offsets import OffsetRangeError, add_offset
from duban.engine.deadlines.phrases import compile_phrase
from duban.engine.deadlines.projection import EventOccurrence, PlanContext, project
from duban.engine.deadlines.spec import Offset, Triggered
from helpers import CAL, run
from hypothesis import given
from hypothesis import strategies as st

D = dt.date
PUBLISHED = D(2016, 6, 23)  # a Thursday; 25–26 June is a weekend

# (phrase, unit, amount, due) — hand-checked against rules/calendars/cn/2016.yaml.
SNAPSHOT = [
    ("本方案公布后30个工作日内", "working_days", 30, D(2016, 8, 4)),   # domain.md's worked example
    ("本方案公布后5个工作日内", "working_days", 5, D(2016, 6, 30)),    # skips the weekend
    ("本方案公布后10日内", "days", 10, D(2016, 7, 3)),
    ("本方案公布后36小时内", "hours", 36, D(2016, 6, 24)),           # from 00:00 on the 23rd → 24th 12:00
    ("本方案公布后60小时内", "hours", 60, D(2016, 6, 25)),           # hours run across a rest day
    ("本方案公布后2个月内", "months", 2, D(2016, 8, 23)),
    ("本方案公布后1年内", "years", 1, D(2017, 6, 23)),
]


@pytest.mark.parametrize(("phrase", "unit", "amount", "due"), SNAPSHOT, ids=[s[0] for s in SNAPSHOT])
def test_the_rule_and_the_compiler_agree(phrase: str, unit: str, amount: int, due: dt.date) -> None:
    assert add_offset(PUBLISHED, Offset(unit=unit, amount=amount), CAL) == due  # type: ignore[arg-type]
    spec = compile_phrase(phrase, plan_year=2016, published=PUBLISHED)
    assert spec.to_json()["due"] == due.isoformat()
    (projected,) = project(spec, PlanContext(plan_year=2016, published=PUBLISHED), CAL)
    assert projected.due == due


def _plan_file(folder: Path) -> Path:
    lines = ["plan:", "  id: offsets-2016", "  title: 偏移量测试方案", "  issuer: 揭阳市人民政府办公室",
             "  published: 2016-06-23", "  plan_year: 2016", "  units: jieyang", "", "tasks:",
             "  - no: 1", "    title: 各类时限", "    requirements:"]
    for i, (phrase, *_rest) in enumerate(SNAPSHOT, start=1):
        lines += [f"      - no: {i}", f"        text: 第{i}项工作，{phrase}完成。", "        units: 市编办",
                  "        deadlines:", f"          - phrase: {phrase}", "            source: text"]
    path = folder / "offsets-2016.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_explain_plan_show_and_the_tick_agree(store, env_for, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    env = env_for(store)
    plan = _plan_file(tmp_path)
    code, _, err = run(env, "plan", "import", str(plan))
    assert code == 0, err
    # What `plan show` prints: the compiled deadline of every requirement.
    code, out, err = run(env, "plan", "show", "offsets-2016", "--json")
    assert code == 0, err
    shown = {req["no"]: req["deadlines"][0] for task in json.loads(out)["tasks"] for req in task["requirements"]}
    # What the tick reminds from: the materialised due instance of each obligation.
    code, out, err = run(env, "obligations", "list", "--plan", "offsets-2016", "--as-of", "2016-06-23", "--json")
    assert code == 0, err
    reminded = {int(str(o["requirement"])): o["due"] for o in json.loads(out)}
    for i, (phrase, _unit, _amount, due) in enumerate(SNAPSHOT, start=1):
        code, out, err = run(env, "deadline", "explain", phrase, "--published", "2016-06-23")
        assert code == 0, err
        explained = json.loads(out)["due"]
        assert explained == due.isoformat(), phrase
        assert shown[i]["spec"]["due"] == due.isoformat(), phrase
        assert reminded[i] == due.isoformat(), phrase


def test_an_event_window_in_hours_counts_from_the_instant_in_the_calendar_zone() -> None:
    spec = Triggered(event="major_emergency", offset=Offset(unit="hours", amount=24))
    late_evening = EventOccurrence(id="e1", on=D(2016, 7, 1), at=dt.datetime(2016, 7, 1, 22, 30))
    (due,) = project(spec, PlanContext(plan_year=2016), CAL, events={"major_emergency": [late_evening]})
    assert due.due == D(2016, 7, 2)
    utc = EventOccurrence(id="e2", on=D(2016, 7, 2), at=dt.datetime(2016, 7, 1, 20, 0, tzinfo=dt.timezone.utc))
    (due,) = project(spec, PlanContext(plan_year=2016), CAL, events={"major_emergency": [utc]})
    assert due.due == D(2016, 7, 3)  # 04:00 on 2 July in Beijing time, plus 24 hours


@given(st.dates(min_value=D(2016, 1, 1), max_value=D(2026, 6, 30)),
       st.sampled_from(["days", "hours", "months", "years", "working_days"]),
       st.integers(min_value=0, max_value=60))
def test_a_window_never_ends_before_its_anchor_and_grows_with_its_length(
        on: dt.date, unit: str, amount: int) -> None:
    offset = Offset(unit=unit, amount=amount)  # type: ignore[arg-type]
    try:
        due = add_offset(on, offset, CAL)
        longer = add_offset(on, Offset(unit=unit, amount=amount + 1), CAL)  # type: ignore[arg-type]
    except LookupError:  # working days past the calendar's last year: said, never guessed
        return
    assert on <= due <= longer


def test_past_the_last_date_is_a_clear_error() -> None:
    with pytest.raises(OffsetRangeError, match="9999-12-31"):
        add_offset(D(9999, 6, 1), Offset(unit="months", amount=12), CAL)
    with pytest.raises(OffsetRangeError):
        add_offset(D(9999, 12, 31), Offset(unit="days", amount=1), CAL)
