"""durable-rules and the plain evaluator decide exactly the same, and both follow the written semantics.

The plain evaluator is the reference (:mod:`duban.engine.reminders.rules_plain`); the
durable one compiles the policy into interval rules. Hypothesis generates
policies (lead times, repeats, escalation thresholds, catch-up modes, ladder
and non-ladder stages interleaved) with batches of candidates over a wide
range of days, and the two must agree on every match and every decision.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import pytest
from duban.engine.reminders import rules_durable
from duban.engine.reminders import rules_plain
from duban.engine.reminders.decide import (
    MAX_WORKING_DAYS,
    Candidate,
    Decision,
    Matched,
    RuleEvaluationError,
    decide,
    evaluate_and_decide,
)
from duban.engine.reminders.policy import (
    CatchUp,
    Condition,
    ReminderPolicy,
    Stage,
    apply_overrides,
    default_policy,
)
from hypothesis import given, settings
from hypothesis import strategies as st

EvaluateFn = Callable[[ReminderPolicy, Sequence[Candidate]], Mapping[str, Matched]]


def rhythm_policy() -> ReminderPolicy:
    """The shipped policy plus a per-item overdue rhythm (overdue 6, 11, 16, …).

    The shipped ruleset repeats still-overdue items in the weekly digest instead
    (issue 13), but ``overdue_every`` stays part of the policy language, so the
    hand-written semantics below are checked on a policy that has it.
    """
    base = default_policy()
    rhythm = Stage(id="overdue_repeat", ladder=True, when=Condition(kind="overdue_every", days=6, every=5),
                   to=("clerk",), label="逾期持续提醒")
    at = base.stage_ids.index("overdue_1") + 1
    return replace(base, stages=(*base.stages[:at], rhythm, *base.stages[at:]))


EVALUATORS: dict[str, EvaluateFn] = {"plain": rules_plain.evaluate, "durable": rules_durable.evaluate}


# --------------------------------------------------------------------------- strategies

def _condition_at(threshold: int) -> Condition:
    """The condition whose threshold (met iff wd <= threshold) is ``threshold``."""
    if threshold > 0:
        return Condition(kind="before", days=threshold)
    if threshold == 0:
        return Condition(kind="on_due")
    return Condition(kind="overdue", days=-threshold)


@st.composite
def policies(draw: st.DrawFn) -> ReminderPolicy:
    catch_up: st.SearchStrategy[CatchUp] = st.sampled_from(["send", "send", "skip"])
    thresholds = draw(st.lists(st.integers(-25, 30), unique=True, max_size=6))
    ladder = [Stage(id=f"l{i}", ladder=True, when=_condition_at(t), to=("clerk",), label=f"梯次{i}",
                    catch_up=draw(catch_up))
              for i, t in enumerate(sorted(thresholds, reverse=True))]
    repeat_kind = draw(st.sampled_from(["none", "ladder", "escalation"]))
    if repeat_kind != "none":
        floor = max(1, -min(thresholds) + 1) if thresholds and repeat_kind == "ladder" else 1
        start = draw(st.integers(floor, floor + 15))
        rhythm = Condition(kind="overdue_every", days=start, every=draw(st.integers(1, 9)))
        repeat = Stage(id="again", ladder=repeat_kind == "ladder", when=rhythm, to=("clerk",), label="再次提醒",
                       catch_up=draw(catch_up))
        if repeat_kind == "ladder":
            ladder.append(repeat)
    others = [Stage(id=f"e{i}", ladder=False, when=_condition_at(t),
                    to=draw(st.sampled_from([("leader",), ("supervisor",), ("leader", "supervisor")])),
                    label=f"升级{i}", catch_up=draw(catch_up))
              for i, t in enumerate(draw(st.lists(st.integers(-25, 20), max_size=4)))]
    if repeat_kind == "escalation":
        others.append(repeat)
    stages = list(ladder)
    for stage in others:  # escalations may sit anywhere; the ladder keeps its order
        stages.insert(draw(st.integers(0, len(stages))), stage)
    if not stages:
        stages.append(Stage(id="due", ladder=True, when=Condition(kind="on_due"), to=("clerk",), label="今日截止"))
    return ReminderPolicy(stages=tuple(stages), yellow_within=draw(st.integers(0, 12)))


def candidates(policy: ReminderPolicy) -> st.SearchStrategy[list[Candidate]]:
    ids = [*policy.stage_ids, "stage_of_an_older_policy"]
    wd = st.one_of(st.integers(-45, 40), st.integers(-MAX_WORKING_DAYS, MAX_WORKING_DAYS))
    repeats = st.one_of(st.integers(0, 8), st.integers(0, MAX_WORKING_DAYS))
    one = st.tuples(wd, st.frozensets(st.sampled_from(ids)), repeats)
    return st.lists(one, min_size=1, max_size=40).map(lambda rows: [
        Candidate(id=f"occ:{i}", wd_to_due=w, recorded=r, repeats_recorded=k) for i, (w, r, k) in enumerate(rows)])


@st.composite
def policy_and_candidates(draw: st.DrawFn) -> tuple[ReminderPolicy, list[Candidate]]:
    policy = draw(policies())
    return policy, draw(candidates(policy))


# --------------------------------------------------------------------------- differential

def check_decision_invariants(policy: ReminderPolicy, batch: Sequence[Candidate],
                              verdicts: Sequence[Any]) -> None:
    """Properties every decision list has, whoever matched."""
    repeat = policy.repeat_stage
    for candidate, verdict in zip(batch, verdicts, strict=True):
        assert verdict.candidate_id == candidate.id
        assert verdict.colour == policy.colour(candidate.wd_to_due)
        ladder_sent = [d for d in verdict.decisions if d.action == "send" and policy.stage(d.stage).ladder]
        assert len(ladder_sent) <= 1
        order = [policy.stage_ids.index(d.stage) for d in verdict.decisions]
        assert order == sorted(set(order))
        for decision in verdict.decisions:
            if repeat is not None and decision.stage == repeat.id:
                assert decision.repeat is not None and decision.repeat > candidate.repeats_recorded
                assert decision.repeat == (candidate.overdue - repeat.when.days) // repeat.when.every + 1
            else:
                assert decision.stage not in candidate.recorded and decision.repeat is None


@settings(max_examples=500, deadline=None)
@given(policy_and_candidates())
def test_durable_and_plain_decide_the_same(case: tuple[ReminderPolicy, list[Candidate]]) -> None:
    policy, batch = case
    plain = rules_plain.evaluate(policy, batch)
    durable = rules_durable.evaluate(policy, batch)
    assert durable == plain
    verdicts = decide(policy, batch, durable)
    assert verdicts == decide(policy, batch, plain)
    check_decision_invariants(policy, batch, verdicts)


@pytest.mark.parametrize("make_policy", [default_policy, rhythm_policy])
def test_durable_and_plain_agree_on_a_dense_grid_of_the_shipped_policy(
        make_policy: Callable[[], ReminderPolicy]) -> None:
    policy = make_policy()
    ladder = [s.id for s in policy.stages if s.ladder and s is not policy.repeat_stage]
    patterns = [frozenset(ladder[:n]) for n in range(len(ladder) + 1)]
    patterns += [frozenset({"escalate_leader"}), frozenset({"escalate_leader", "escalate_supervisor", *ladder})]
    batch = [Candidate(id=f"g:{wd}:{rr}:{p}", wd_to_due=wd, recorded=recorded, repeats_recorded=rr)
             for wd in range(-45, 16) for rr in range(0, 9) for p, recorded in enumerate(patterns)]
    durable = rules_durable.evaluate(policy, batch)
    assert durable == rules_plain.evaluate(policy, batch)
    check_decision_invariants(policy, batch, decide(policy, batch, durable))


# --------------------------------------------------------------------------- the semantics, by hand

@pytest.fixture(params=sorted(EVALUATORS))
def evaluator(request: pytest.FixtureRequest) -> EvaluateFn:
    return EVALUATORS[request.param]


def verdict_of(evaluator: EvaluateFn, candidate: Candidate, policy: ReminderPolicy | None = None) -> Any:
    (verdict,) = evaluate_and_decide(policy or rhythm_policy(), [candidate], evaluator)
    return verdict


def actions(verdict: Any) -> list[tuple[str, str, int | None]]:
    return [(d.stage, d.action, d.repeat) for d in verdict.decisions]


LADDER_UP_TO_OVERDUE_1 = frozenset({"before_10", "before_5", "before_1", "due_day", "overdue_1"})


@pytest.mark.parametrize(("wd", "recorded", "expected"), [
    (11, frozenset(), []),
    (10, frozenset(), [("before_10", "send", None)]),
    (7, frozenset({"before_10"}), []),
    (5, frozenset({"before_10"}), [("before_5", "send", None)]),
    (1, frozenset({"before_10", "before_5"}), [("before_1", "send", None)]),
    (0, frozenset({"before_10", "before_5", "before_1"}), [("due_day", "send", None)]),
    (-1, frozenset({"before_10", "before_5", "before_1", "due_day"}), [("overdue_1", "send", None)]),
    (-5, LADDER_UP_TO_OVERDUE_1, [("escalate_leader", "send", None)]),
    (-6, LADDER_UP_TO_OVERDUE_1 | {"escalate_leader"}, [("overdue_repeat", "send", 1)]),
])
def test_a_punctual_tick_sends_each_stage_on_its_day(evaluator: EvaluateFn, wd: int, recorded: frozenset[str],
                                                     expected: list[tuple[str, str, int | None]]) -> None:
    assert actions(verdict_of(evaluator, Candidate(id="occ:1", wd_to_due=wd, recorded=recorded))) == expected


def test_downtime_catch_up_sends_only_the_most_advanced_ladder_stage(evaluator: EvaluateFn) -> None:
    # The system was down from 12 working days before the due date until the due day itself.
    verdict = verdict_of(evaluator, Candidate(id="occ:7", wd_to_due=0))
    assert actions(verdict) == [("before_10", "skip", None), ("before_5", "skip", None),
                                ("before_1", "skip", None), ("due_day", "send", None)]
    assert [d.stage for d in verdict.sent] == ["due_day"]


def test_escalations_after_downtime_are_sent_unless_they_catch_up_by_skipping(evaluator: EvaluateFn) -> None:
    candidate = Candidate(id="occ:8", wd_to_due=-12, recorded=LADDER_UP_TO_OVERDUE_1)
    assert actions(verdict_of(evaluator, candidate)) == [
        ("overdue_repeat", "send", 2), ("escalate_leader", "send", None), ("escalate_supervisor", "send", None)]
    strict = apply_overrides(rhythm_policy(), {"catch_up": {"escalate_leader": "skip",
                                                             "escalate_supervisor": "skip"}})
    assert actions(verdict_of(evaluator, candidate, strict)) == [
        ("overdue_repeat", "send", 2), ("escalate_leader", "skip", None), ("escalate_supervisor", "skip", None)]
    # On its exact day an escalation is sent even with catch_up: skip (overdue 10: repeat k = 1, recorded).
    exact = Candidate(id="occ:9", wd_to_due=-10, recorded=LADDER_UP_TO_OVERDUE_1 | {"escalate_leader"},
                      repeats_recorded=1)
    assert actions(verdict_of(evaluator, exact, strict)) == [("escalate_supervisor", "send", None)]


def test_a_long_outage_skips_the_whole_ladder_but_the_repeat(evaluator: EvaluateFn) -> None:
    verdict = verdict_of(evaluator, Candidate(id="occ:10", wd_to_due=-23))
    assert actions(verdict) == [
        ("before_10", "skip", None), ("before_5", "skip", None), ("before_1", "skip", None),
        ("due_day", "skip", None), ("overdue_1", "skip", None), ("overdue_repeat", "send", 4),
        ("escalate_leader", "send", None), ("escalate_supervisor", "send", None)]


@pytest.mark.parametrize(("overdue", "repeats_recorded", "expected"), [
    (5, 0, []),                                       # before the first repeat
    (6, 0, [("overdue_repeat", "send", 1)]),          # k = 1 on its day
    (8, 1, []),                                       # k = 1 already recorded
    (11, 1, [("overdue_repeat", "send", 2)]),         # k = 2 on its day
    (13, 1, [("overdue_repeat", "send", 2)]),         # k = 2 caught up after downtime
    (13, 2, []),                                      # nothing new
    (21, 1, [("overdue_repeat", "send", 4)]),         # k = 4: the missed k = 3 is not sent separately
])
def test_repeat_index(evaluator: EvaluateFn, overdue: int, repeats_recorded: int,
                      expected: list[tuple[str, str, int | None]]) -> None:
    recorded = LADDER_UP_TO_OVERDUE_1 | {"escalate_leader", "escalate_supervisor"}
    candidate = Candidate(id="occ:11", wd_to_due=-overdue, recorded=recorded, repeats_recorded=repeats_recorded)
    assert actions(verdict_of(evaluator, candidate)) == expected


def test_a_ladder_stage_that_only_sends_on_time_is_skipped_after_downtime(evaluator: EvaluateFn) -> None:
    policy = apply_overrides(default_policy(), {"catch_up": {"due_day": "skip"}})
    late = Candidate(id="occ:12", wd_to_due=0, recorded=frozenset({"before_10"}))
    assert actions(verdict_of(evaluator, late, policy)) == [
        ("before_5", "skip", None), ("before_1", "skip", None), ("due_day", "send", None)]
    missed = Candidate(id="occ:13", wd_to_due=-1, recorded=frozenset({"before_10", "before_5", "before_1"}))
    skip_both = apply_overrides(default_policy(), {"catch_up": {"due_day": "skip", "overdue_1": "skip"}})
    assert actions(verdict_of(evaluator, missed, skip_both)) == [
        ("due_day", "skip", None), ("overdue_1", "send", None)]
    two_behind = Candidate(id="occ:14", wd_to_due=-2, recorded=frozenset({"before_10", "before_5", "before_1"}))
    assert actions(verdict_of(evaluator, two_behind, skip_both)) == [
        ("due_day", "skip", None), ("overdue_1", "skip", None)]


@pytest.mark.parametrize(("wd", "colour"), [(30, "green"), (6, "green"), (5, "yellow"), (0, "yellow"),
                                            (-1, "red"), (-400, "red")])
def test_colours(evaluator: EvaluateFn, wd: int, colour: str) -> None:
    assert verdict_of(evaluator, Candidate(id="occ:15", wd_to_due=wd)).colour == colour


def test_nothing_pending_means_no_decision(evaluator: EvaluateFn) -> None:
    everything = frozenset(default_policy().stage_ids)
    for candidate in (Candidate(id="occ:16", wd_to_due=25),
                      Candidate(id="occ:17", wd_to_due=3, recorded=frozenset({"before_10", "before_5"})),
                      Candidate(id="occ:18", wd_to_due=-9, recorded=everything, repeats_recorded=1)):
        verdict = verdict_of(evaluator, candidate)
        assert verdict.decisions == () and verdict.sent == ()


def test_recorded_ids_of_an_older_policy_are_ignored(evaluator: EvaluateFn) -> None:
    candidate = Candidate(id="occ:19", wd_to_due=10, recorded=frozenset({"before_15", "before_7"}))
    assert actions(verdict_of(evaluator, candidate)) == [("before_10", "send", None)]


def test_duplicate_ids_are_refused_by_both(evaluator: EvaluateFn) -> None:
    twice = [Candidate(id="occ:20", wd_to_due=1), Candidate(id="occ:20", wd_to_due=-1)]
    with pytest.raises(RuleEvaluationError, match="'occ:20'") as info:
        evaluator(default_policy(), twice)
    assert info.value.rejected == ("occ:20",)


def test_decide_refuses_partial_matches() -> None:
    batch = [Candidate(id="occ:21", wd_to_due=1), Candidate(id="occ:22", wd_to_due=2)]
    partial = {"occ:21": Matched(candidate_id="occ:21", met=frozenset({"before_10"}))}
    with pytest.raises(RuleEvaluationError, match="'occ:22'"):
        decide(default_policy(), batch, partial)
    wrong = {c.id: Matched(candidate_id=c.id, met=frozenset({"no_such_stage"})) for c in batch}
    with pytest.raises(RuleEvaluationError, match="no_such_stage"):
        decide(default_policy(), batch, wrong)


def test_decisions_are_plain_values() -> None:
    decision = Decision(candidate_id="occ:1", stage="due_day", action="send")
    assert decision == Decision(candidate_id="occ:1", stage="due_day", action="send", repeat=None)
    with pytest.raises(AttributeError):
        decision.action = "skip"  # type: ignore[misc]
