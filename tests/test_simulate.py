"""``duban simulate`` with the shipped demo scenario, and scenario-file errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from duban.engine.runtime.simulate import ScenarioError, load_scenario
from duban.store.models import Event, Obligation, Occurrence
from helpers import run
from sqlalchemy import select

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "rules" / "scenarios" / "jieyang-2016-demo.yaml"


def test_the_demo_scenario_is_valid_and_dated_in_the_seed_year():
    scenario = load_scenario(DEMO)
    assert scenario.name == "jieyang-2016-demo"
    assert {s.action for s in scenario.steps} == {"event", "complete", "waive"}
    assert all("2016-06-21" <= s.on.isoformat() <= "2017-03-31" for s in scenario.steps)


def test_simulating_the_summer_applies_the_scenario_and_reminds(store, env_for):
    env = env_for(store)
    assert run(env, "plan", "import")[0] == 0
    code, out, err = run(env, "simulate", "--from", "2016-07-20", "--to", "2016-08-20", "--scenario", str(DEMO),
                         "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["days"] == 32 and summary["ticks"] + summary["rest_days"] == 32
    assert summary["scenario_steps"] == {"complete": 4, "event": 1, "waive": 0} or \
        summary["scenario_steps"]["event"] == 1
    assert summary["reminders_by_stage"]["due_day"] > 0 and summary["delivered"]["sent"] == summary["digests"]
    with store.sessions() as s:
        ev = s.scalars(select(Event)).one()
        assert ev.occurred_on.isoformat() == "2016-08-15" and ev.doc_number == "粤府办〔2016〕示例号"
        late = s.execute(select(Occurrence.late_by, Occurrence.evidence).join(Obligation)
                         .where(Obligation.okey == "jieyang-2016-disclosure/0/1/揭西县人民政府/1/0")).one()
        assert late.late_by == 11 and late.evidence.startswith("https://www.jiexi.example/")
    # Replaying the same range again changes nothing (events are not recorded twice).
    code, out, _ = run(env, "simulate", "--from", "2016-07-20", "--to", "2016-08-20", "--scenario", str(DEMO), "--json")
    assert code == 0 and json.loads(out)["digests"] == 0


def test_scenario_errors_name_the_file_line_and_field(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("scenario: x\nsteps:\n  - {date: 2016-02-30, action: event, trigger: t, actor: a}\n"
                   "  - {date: 2016-07-01, action: fly, actor: a}\n"
                   "  - {date: 2016-07-01, action: complete, plan: p, task: one, requirement: 1, unit: u, "
                   "evidence: e, actor: a}\n", encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(bad)
    text = str(info.value)
    assert f"{bad}:3: impossible-date steps[0].date" in text
    assert f"{bad}:4: bad-choice steps[1].action" in text
    assert f"{bad}:5: bad-number steps[2].task" in text
