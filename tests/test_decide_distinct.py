"""Deciding once per distinct fact tuple gives every occurrence the decisions deciding it alone gives.

The tick evaluates the ruleset once per (working days to due, recorded
stages, repeats recorded) tuple (``decide_distinct``); this checks, over
random candidates and both evaluators, that each candidate's verdict is the
one ``evaluate_and_decide`` gives it among all the others.
"""

from __future__ import annotations

import random

import pytest
from duban.engine.reminders import rules_durable, rules_plain
from duban.engine.reminders.decide import Candidate, decide_distinct, evaluate_and_decide
from duban.engine.reminders.policy import load_policy


@pytest.mark.parametrize("evaluator", [rules_plain.evaluate, rules_durable.evaluate], ids=["plain", "durable"])
def test_a_verdict_per_tuple_is_the_verdict_per_candidate(evaluator) -> None:  # type: ignore[no-untyped-def]
    policy = load_policy()
    rng = random.Random(15)
    stages = [stage.id for stage in policy.stages]
    candidates = [Candidate(id=f"occ:{i}", wd_to_due=rng.randint(-40, 15),
                            recorded=frozenset(rng.sample(stages, rng.randint(0, 3))),
                            repeats_recorded=rng.randint(0, 4)) for i in range(3000)]
    one_by_one = evaluate_and_decide(policy, candidates, evaluator)
    keys = [(c.wd_to_due, c.recorded, c.repeats_recorded) for c in candidates]
    by_tuple = decide_distinct(policy, keys, evaluator)
    assert len(by_tuple) < len(candidates)
    for key, verdict in zip(keys, one_by_one):
        shared = by_tuple[key]
        assert shared.colour == verdict.colour
        assert [(d.stage, d.action, d.repeat) for d in shared.decisions] == \
            [(d.stage, d.action, d.repeat) for d in verdict.decisions]
