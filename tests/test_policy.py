"""The reminder policy: loading, strict validation, overrides and the provenance hash."""

from __future__ import annotations

import hashlib
import textwrap
from pathlib import Path
from typing import Any

import pytest
from duban.engine.reminders.policy import (
    DEFAULT_POLICY_PATH,
    Condition,
    PolicyError,
    ReminderPolicy,
    Stage,
    UnknownStageError,
    apply_overrides,
    canonical_json,
    default_policy,
    load_policy,
    parse_policy,
)
from hypothesis import given, settings
from hypothesis import strategies as st

GOOD = """\
ruleset: reminders
version: 1
colours: {yellow_within: 5}
stages:
  - {id: before_10, ladder: true, when: {before: 10}, to: [clerk], label: 截止前10个工作日提醒}
  - {id: due_day, ladder: true, when: {on_due: true}, to: [clerk], label: 今日截止提醒}
  - {id: overdue_repeat, ladder: true, when: {overdue_every: {start: 6, every: 5}}, to: [clerk], label: 逾期}
  - {id: escalate_leader, ladder: false, when: {overdue: 5}, to: [leader], catch_up: skip, label: 报负责人}
"""


def write(tmp_path: Path, text: str, name: str = "reminders.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems(path: Path) -> list[Any]:
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    return list(info.value.diagnostics)


# --------------------------------------------------------------------------- loading

def test_shipped_policy_is_the_documented_default() -> None:
    policy = load_policy()
    # No per-item overdue rhythm: what stays overdue goes into the weekly digest (issue 13).
    assert policy.stage_ids == ("before_10", "before_5", "before_1", "due_day", "overdue_1",
                                "escalate_leader", "escalate_supervisor")
    assert [s.when for s in policy.stages if s.ladder] == [
        Condition(kind="before", days=10), Condition(kind="before", days=5), Condition(kind="before", days=1),
        Condition(kind="on_due"), Condition(kind="overdue", days=1)]
    assert policy.stage("escalate_leader").when == Condition(kind="overdue", days=5)
    assert policy.stage("escalate_leader").to == ("leader",)
    assert policy.stage("escalate_supervisor").when == Condition(kind="overdue", days=10)
    assert policy.stage("escalate_supervisor").to == ("supervisor",)
    assert policy.repeat_stage is None
    assert (policy.weekly_on, policy.max_items, policy.escalation_max_items) == (0, 50, 30)
    assert policy.checkin_stages == ("before_5", "overdue_1")
    assert policy.yellow_within == 5
    assert policy.source == "rules/rulesets/reminders.yaml"
    assert default_policy() == policy
    assert DEFAULT_POLICY_PATH.name == "reminders.yaml"


def test_every_scalar_is_read_as_text_then_checked(tmp_path: Path) -> None:
    policy = load_policy(write(tmp_path, GOOD))
    assert policy.stage("before_10").when.days == 10
    assert policy.stage("escalate_leader").catch_up == "skip"
    assert policy.stage("before_10").catch_up == "send"  # the default
    assert policy.stage("escalate_leader").ladder is False


def test_colours_follow_the_yellow_threshold() -> None:
    policy = default_policy()
    assert [policy.colour(wd) for wd in (7, 6, 5, 1, 0, -1, -30)] == [
        "green", "green", "yellow", "yellow", "yellow", "red", "red"]


def test_unknown_stage_lookup_names_the_id_and_suggests() -> None:
    with pytest.raises(UnknownStageError, match=r"'escalate_leadr'.*did you mean 'escalate_leader'"):
        default_policy().stage("escalate_leadr")


# --------------------------------------------------------------------------- validation

def test_errors_name_file_line_stage_and_field_all_at_once(tmp_path: Path) -> None:
    path = write(tmp_path, """\
        ruleset: reminders
        version: 1
        colours: {yellow_within: 5}
        stages:
          - {id: before_10, ladder: true, when: {before: 010}, to: [clerk], label: a}
          - {id: before_5, ladder: yes, when: {before: 5}, to: [clerk], label: b}
          - {id: due_day, ladder: true, when: {on_due: true}, to: [boss], label: c}
          - {id: late, ladder: false, when: {overdue: -3}, to: [leader], lable: d}
        """)
    found = problems(path)
    by_code = {d.code: d for d in found}
    assert set(by_code) >= {"bad-int", "bad-bool", "bad-choice", "unknown-field"}
    assert all(d.file.endswith("reminders.yaml") for d in found)

    leading_zero = next(d for d in found if d.path == "stages[0].when.before")
    assert leading_zero.line == 5 and "stage 'before_10'" in leading_zero.message
    assert "'010'" in leading_zero.message and "leading zeros" in leading_zero.message

    yes = by_code["bad-bool"]
    assert (yes.line, yes.path) == (6, "stages[1].ladder") and "stage 'before_5'" in yes.message

    boss = by_code["bad-choice"]
    assert boss.path == "stages[2].to[0]" and "'boss'" in boss.message and "stage 'due_day'" in boss.message

    typo = by_code["unknown-field"]
    assert typo.path == "stages[3].lable" and "did you mean 'label'" in typo.message
    negative = next(d for d in found if d.path == "stages[3].when.overdue")
    assert negative.code == "bad-int" and "'-3'" in negative.message and "stage 'late'" in negative.message
    # A misspelt key is one defect: no extra "label is missing" for it.
    assert not any(d.code == "missing-field" and d.path == "stages[3].label" for d in found)
    text = str(PolicyError(found))
    assert text.count("\n") == len(found) and "reminders.yaml:5: bad-int stages[0].when.before" in text


@pytest.mark.parametrize(("body", "code", "path", "fragment"), [
    ("""\
      - {id: before_5, ladder: true, when: {before: 5}, to: [clerk], label: a}
      - {id: before_10, ladder: true, when: {before: 10}, to: [clerk], label: b}
     """, "ladder-order", "stages[1].when", "stage 'before_10'"),
    ("""\
      - {id: r1, ladder: true, when: {overdue_every: {start: 6, every: 5}}, to: [clerk], label: a}
      - {id: r2, ladder: false, when: {overdue_every: {start: 3, every: 2}}, to: [leader], label: b}
     """, "too-many-repeats", "stages[1].when", "'r1', 'r2'"),
    ("""\
      - {id: r1, ladder: true, when: {overdue_every: {start: 6, every: 5}}, to: [clerk], label: a}
      - {id: late, ladder: true, when: {overdue: 20}, to: [clerk], label: b}
     """, "ladder-order", "stages[1].when", "put the repeat last"),
    ("""\
      - {id: dup, ladder: true, when: {before: 5}, to: [clerk], label: a}
      - {id: dup, ladder: false, when: {overdue: 5}, to: [leader], label: b}
     """, "duplicate-stage", "stages[1].id", "stage 'dup'"),
    ("""\
      - {id: both, ladder: true, when: {before: 5, overdue: 2}, to: [clerk], label: a}
     """, "one-condition", "stages[0].when", "stage 'both'"),
    ("""\
      - {id: Bad-Id, ladder: true, when: {before: 5}, to: [clerk], label: a}
     """, "bad-id", "stages[0].id", "'Bad-Id'"),
    ("""\
      - {id: nobody, ladder: true, when: {before: 5}, to: [], label: a}
     """, "wrong-type", "stages[0].to", "stage 'nobody'"),
    ("""\
      - {id: twice, ladder: true, when: {before: 5}, to: [clerk, clerk], label: a}
     """, "duplicate-recipient", "stages[0].to[1]", "'clerk'"),
    ("""\
      - {id: lazy, ladder: true, when: {before: 5}, to: [clerk], catch_up: later, label: a}
     """, "bad-choice", "stages[0].catch_up", "'later'"),
    ("""\
      - {id: huge, ladder: true, when: {before: 5000}, to: [clerk], label: a}
     """, "out-of-range", "stages[0].when.before", "'5000'"),
    ("""\
      - {id: never, ladder: true, when: {overdue_every: {start: 6, every: 0}}, to: [clerk], label: a}
     """, "out-of-range", "stages[0].when.overdue_every.every", "stage 'never'"),
    ("""\
      - {id: half, ladder: true, when: {overdue_every: {start: 6}}, to: [clerk], label: a}
     """, "missing-field", "stages[0].when.overdue_every.every", "stage 'half'"),
    ("""\
      - {ladder: true, when: {before: 5}, to: [clerk], label: a}
     """, "missing-field", "stages[0].id", "stage '#1'"),
])
def test_each_invalid_stage_is_reported_with_its_code(tmp_path: Path, body: str, code: str, path: str,
                                                      fragment: str) -> None:
    text = "ruleset: reminders\nversion: 1\ncolours: {yellow_within: 5}\nstages:\n" + textwrap.dedent(body)
    found = problems(write(tmp_path, text))
    match = [d for d in found if d.code == code and d.path == path]
    assert match, [d.format() for d in found]
    assert fragment in match[0].message
    assert match[0].line >= 5


def test_file_level_problems(tmp_path: Path) -> None:
    found = problems(write(tmp_path, """\
        ruleset: reminder
        version: 2
        colours: {yellow_within: five}
        stages:
          - {id: a, ladder: true, when: {before: 5}, to: [clerk], label: a}
        extra: 1
        """))
    codes = {(d.code, d.path) for d in found}
    assert ("bad-choice", "ruleset") in codes
    assert ("out-of-range", "version") in codes
    assert ("bad-int", "colours.yellow_within") in codes
    assert ("unknown-field", "extra") in codes


def test_yaml_level_refusals_come_from_the_strict_reader(tmp_path: Path) -> None:
    found = problems(write(tmp_path, """\
        ruleset: reminders
        version: 1
        version: 1
        colours: {yellow_within: 5}
        stages: []
        """))
    assert [(d.code, d.line) for d in found] == [("duplicate-key", 3), ("wrong-type", 5)]  # all at once
    syntax = problems(write(tmp_path, "stages: [\n", name="broken.yaml"))
    assert syntax[0].code == "yaml-syntax" and syntax[0].file.endswith("broken.yaml")


def test_empty_stage_list_is_an_error(tmp_path: Path) -> None:
    found = problems(write(tmp_path, "ruleset: reminders\nversion: 1\ncolours: {yellow_within: 5}\nstages: []\n"))
    assert [(d.code, d.path) for d in found] == [("wrong-type", "stages")]


def test_values_built_in_python_are_checked_too() -> None:
    with pytest.raises(PolicyError, match="before needs 1..1000"):
        Condition(kind="before", days=0)
    with pytest.raises(PolicyError, match="only overdue_every takes 'every'"):
        Condition(kind="overdue", days=3, every=2)
    stage = Stage(id="a", ladder=True, when=Condition(kind="on_due"), to=("clerk",), label="x")
    with pytest.raises(PolicyError, match="duplicate-stage"):
        ReminderPolicy(stages=(stage, stage))
    with pytest.raises(PolicyError, match="bad-recipients"):
        ReminderPolicy(stages=(Stage(id="a", ladder=True, when=Condition(kind="on_due"),
                                     to=("mayor",), label="x"),))  # type: ignore[arg-type]


# --------------------------------------------------------------------------- overrides

def test_overrides_change_the_numbers_and_record_the_source() -> None:
    base = default_policy()
    policy = apply_overrides(base, {"lead_times": ["3", "15", "7"],
                                    "escalate_leader_after": "4", "escalate_supervisor_after": 8,
                                    "yellow_within": "3", "catch_up": {"escalate_supervisor": "skip"}})
    assert policy.stage_ids == ("before_15", "before_7", "before_3", "due_day", "overdue_1",
                                "escalate_leader", "escalate_supervisor")
    assert policy.stage("before_7").label == "截止前7个工作日提醒"
    # before_5 is gone with the new lead times: check-ins keep the stages that remain.
    assert policy.checkin_stages == ("overdue_1",)
    assert policy.stage("escalate_leader").when.days == 4
    assert policy.stage("escalate_supervisor").when.days == 8
    assert policy.stage("escalate_supervisor").catch_up == "skip"
    assert policy.yellow_within == 3
    assert "config.yaml: reminders.overrides" in policy.source and "lead_times" in policy.source
    assert policy.policy_hash != base.policy_hash


def test_load_policy_applies_overrides_and_empty_lead_times_drop_the_pre_due_stages() -> None:
    policy = load_policy(overrides={"lead_times": []})
    assert policy.stage_ids[0] == "due_day"
    assert not any(s.when.kind == "before" for s in policy.stages)


def test_overrides_that_change_nothing_keep_the_hash() -> None:
    base = default_policy()
    same = apply_overrides(base, {"lead_times": [1, 10, 5], "escalate_leader_after": "5"})
    assert same == base and same.policy_hash == base.policy_hash and same.source != base.source


def test_override_errors_are_collected_and_named() -> None:
    with pytest.raises(PolicyError) as info:
        apply_overrides(default_policy(), {"lead_time": [5], "overdue_every": "0", "escalate_leader_after": "x",
                                           "catch_up": {"escalate_leadr": "skip", "due_day": "maybe"}},
                        source="deploy/config.yaml: reminders.overrides")
    found = {(d.code, d.path): d for d in info.value.diagnostics}
    assert "did you mean 'lead_times'" in found[("unknown-field", "lead_time")].message
    assert ("out-of-range", "overdue_every") in found
    assert ("bad-int", "escalate_leader_after") in found
    assert "did you mean 'escalate_leader'" in found[("override-no-stage", "catch_up.escalate_leadr")].message
    assert ("bad-choice", "catch_up.due_day") in found
    assert all(d.file == "deploy/config.yaml: reminders.overrides" for d in info.value.diagnostics)


def test_override_needs_the_stage_it_changes(tmp_path: Path) -> None:
    policy = load_policy(write(tmp_path, GOOD))
    with pytest.raises(PolicyError) as info:
        apply_overrides(policy, {"escalate_supervisor_after": 9, "lead_times": [3, 3]})
    assert set(info.value.codes) == {"override-no-stage", "duplicate-value"}


# --------------------------------------------------------------------------- hash

PINNED = ReminderPolicy(stages=(
    Stage(id="before_3", ladder=True, when=Condition(kind="before", days=3), to=("clerk",), label="提前3天"),
    Stage(id="due_day", ladder=True, when=Condition(kind="on_due"), to=("clerk",), label="今日截止"),
    Stage(id="boss", ladder=False, when=Condition(kind="overdue", days=2), to=("leader", "supervisor"),
          catch_up="skip", label="升级"),
), yellow_within=2)


def test_policy_hash_is_pinned_for_a_fixed_policy() -> None:
    # If this changes, every audit record's policy_hash changes meaning: only on purpose.
    assert canonical_json(PINNED) == (
        '{"checkins":{"stages":[]},"colours":{"yellow_within":2},'
        '"digest":{"escalation_max_items":30,"max_items":50,"weekly_on":"monday"},"ruleset":"reminders","stages":['
        '{"catch_up":"send","id":"before_3","label":"提前3天","ladder":true,"to":["clerk"],"when":{"before":3}},'
        '{"catch_up":"send","id":"due_day","label":"今日截止","ladder":true,"to":["clerk"],"when":{"on_due":true}},'
        '{"catch_up":"skip","id":"boss","label":"升级","ladder":false,"to":["leader","supervisor"],'
        '"when":{"overdue":2}}],"version":1}')
    assert PINNED.policy_hash == hashlib.sha256(canonical_json(PINNED).encode("utf-8")).hexdigest()
    assert PINNED.policy_hash == "4f3daceae6cbe8101e93cf922abdb0b26a0a56e1732d6ceb741f2af3fa622c5e"


def test_policy_hash_ignores_layout_key_order_defaults_and_source(tmp_path: Path) -> None:
    a = load_policy(write(tmp_path, GOOD, "a.yaml"))
    reordered = """\
        # the same policy, written differently
        stages:
          - label: 截止前10个工作日提醒
            to: clerk
            when:
              before: "10"
            ladder: true
            catch_up: send
            id: before_10
          - {id: due_day, ladder: true, when: {on_due: true}, to: [clerk], label: 今日截止提醒}
          - {id: overdue_repeat, ladder: true, when: {overdue_every: {every: 5, start: 6}}, to: [clerk], label: 逾期}
          - {id: escalate_leader, ladder: false, when: {overdue: 5}, to: [leader], catch_up: skip, label: 报负责人}
        colours:
          yellow_within: 5
        version: 1
        ruleset: reminders
        """
    b = load_policy(write(tmp_path, reordered, "b.yaml"))
    assert a == b and a.policy_hash == b.policy_hash and a.source != b.source
    changed = load_policy(write(tmp_path, GOOD.replace("before: 10", "before: 9"), "c.yaml"))
    assert changed.policy_hash != a.policy_hash


def _policy_data() -> st.SearchStrategy[dict[str, Any]]:
    lead = st.lists(st.integers(1, 40), unique=True, max_size=4).map(lambda xs: sorted(xs, reverse=True))
    escalation = st.fixed_dictionaries({
        "overdue": st.integers(1, 30), "to": st.sampled_from([["leader"], ["supervisor"], ["leader", "supervisor"]]),
        "catch_up": st.sampled_from(["send", "skip"])})

    def build(leads: list[int], on_due: bool, repeat: tuple[int, int] | None, escalations: list[dict[str, Any]],
              yellow: int) -> dict[str, Any]:
        stages: list[dict[str, Any]] = [
            {"id": f"before_{n}", "ladder": True, "when": {"before": n}, "to": ["clerk"], "label": f"前{n}"}
            for n in leads]
        if on_due:
            stages.append({"id": "due_day", "ladder": True, "when": {"on_due": True}, "to": ["clerk"], "label": "今"})
        if repeat:
            stages.append({"id": "again", "ladder": True, "when": {"overdue_every": {"start": repeat[0],
                           "every": repeat[1]}}, "to": ["clerk"], "label": "再"})
        for i, esc in enumerate(escalations):
            stages.append({"id": f"esc_{i}", "ladder": False, "when": {"overdue": esc["overdue"]}, "to": esc["to"],
                           "catch_up": esc["catch_up"], "label": f"升{i}"})
        if not stages:
            stages.append({"id": "due_day", "ladder": True, "when": {"on_due": True}, "to": ["clerk"], "label": "今"})
        return {"ruleset": "reminders", "version": 1, "colours": {"yellow_within": yellow}, "stages": stages}

    return st.builds(build, lead, st.booleans(), st.none() | st.tuples(st.integers(1, 20), st.integers(1, 10)),
                     st.lists(escalation, max_size=3), st.integers(0, 10))


def _as_text(value: Any) -> Any:
    """What the strict YAML reader hands over: every scalar as text."""
    if isinstance(value, dict):
        return {k: _as_text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_text(v) for v in value]
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@settings(max_examples=150, deadline=None)
@given(_policy_data())
def test_parse_round_trips_and_text_and_native_values_hash_alike(data: dict[str, Any]) -> None:
    native = parse_policy(data, source="native")
    text = parse_policy(_as_text(data), source="text")
    assert native == text and native.policy_hash == text.policy_hash
    again = parse_policy(native.to_data(), source="round trip")
    assert again == native and again.policy_hash == native.policy_hash
