"""The durable-rules evaluator's guard rails: every event accounted for, rejections named, no leftovers.

These run the real engine (durable-rules 2.0.28's C core). The private
helpers are called directly only where the public path is built to avoid
the failure (hash-colliding ids in one post, an event that matches no rule),
to prove the detection behind it works.
"""

from __future__ import annotations

import json
import random
import re
import threading
from dataclasses import replace
from pathlib import Path

import pytest
from duban.engine.reminders import rules_durable
from duban.engine.reminders import rules_plain
from duban.engine.reminders.decide import MAX_WORKING_DAYS, Candidate, RuleEvaluationError, decide
from duban.engine.reminders.policy import (
    MAX_DAYS,
    Condition,
    ReminderPolicy,
    Stage,
    default_policy,
)

# Two distinct ids with the same 32-bit FNV-1a hash: the engine takes the
# second for a duplicate of the first when both are in one post.
COLLIDING = ("occ:539599", "occ:722382")


def shuffled_candidates(n: int, seed: int) -> list[Candidate]:
    rnd = random.Random(seed)
    stage_ids = default_policy().stage_ids
    return [Candidate(id=f"occ:{i}", wd_to_due=rnd.randint(-60, 30),
                      recorded=frozenset(s for s in stage_ids if rnd.random() < 0.3),
                      repeats_recorded=rnd.randint(0, 6)) for i in range(n)]


def test_every_event_produces_exactly_one_action() -> None:
    batch = shuffled_candidates(1200, seed=1)
    result = rules_durable.run(default_policy(), batch)
    assert result.events == result.actions == len(batch)
    assert set(result.matched) == {c.id for c in batch}
    assert result.rules == len(rules_durable.compile_policy(default_policy()).rules)


def test_a_batch_of_5000_completes_with_every_decision() -> None:
    policy = default_policy()
    batch = shuffled_candidates(5000, seed=2)
    result = rules_durable.run(policy, batch)
    assert result.posts >= 1 and result.actions == 5000
    assert dict(result.matched) == rules_plain.evaluate(policy, batch)
    verdicts = decide(policy, batch, result.matched)
    assert [v.candidate_id for v in verdicts] == [c.id for c in batch]


def test_the_hash_replica_predicts_the_engines_duplicate_rejection() -> None:
    first, second = COLLIDING
    assert rules_durable.fnv1a_32(first) == rules_durable.fnv1a_32(second)
    events = [{"id": first, "sid": rules_durable.SESSION, "wd": 1, "rr": 0},
              {"id": "occ:1", "sid": rules_durable.SESSION, "wd": -3, "rr": 0},
              {"id": second, "sid": rules_durable.SESSION, "wd": -1, "rr": 0}]
    definition = rules_durable.compile_policy(default_policy()).definition
    with pytest.raises(RuleEvaluationError, match=r"already observed.*'occ:722382'") as info:
        rules_durable._run_engine(definition, [events])
    assert info.value.rejected == (second,)


def test_colliding_ids_are_posted_apart_and_both_decided() -> None:
    policy = default_policy()
    batch = [Candidate(id=COLLIDING[0], wd_to_due=1), Candidate(id="occ:1", wd_to_due=-3),
             Candidate(id=COLLIDING[1], wd_to_due=-1)]
    result = rules_durable.run(policy, batch)
    assert result.posts == 2 and result.actions == 3
    assert dict(result.matched) == rules_plain.evaluate(policy, batch)


def test_an_event_no_rule_matches_is_named() -> None:
    only_future = json.dumps({"future": {"all": [{"m": {"$gt": {"wd": 0}}}]}})
    events = [{"id": "occ:1", "sid": rules_durable.SESSION, "wd": 4},
              {"id": "occ:2", "sid": rules_durable.SESSION, "wd": -2},
              {"id": "occ:3", "sid": rules_durable.SESSION, "wd": 9}]
    with pytest.raises(RuleEvaluationError, match=r"matched no rule.*'occ:2'") as info:
        rules_durable._run_engine(only_future, [events])
    assert info.value.rejected == ("occ:2",)
    # A post in which nothing matches at all: durable's delete_state segfaults after one, so it is not called.
    with pytest.raises(RuleEvaluationError, match=r"matched no rule.*'occ:9'"):
        rules_durable._run_engine(only_future, [[{"id": "occ:9", "sid": rules_durable.SESSION, "wd": -1}]])


def test_the_engine_consumes_an_event_with_its_first_match() -> None:
    # Why the compiled rules must partition the events: with overlapping
    # rules an event still gives exactly one action, so counting cannot see
    # the overlap (the differential test does). If an upgrade changes this,
    # the design in docs/rules.md must be revisited.
    overlapping = json.dumps({"a": {"all": [{"m": {"$gte": {"wd": 0}}}]},
                              "b": {"all": [{"m": {"$lte": {"wd": 0}}}]}})
    events = [{"id": f"occ:{wd}", "sid": rules_durable.SESSION, "wd": wd} for wd in (-1, 0, 1)]
    fired = rules_durable._run_engine(overlapping, [events])
    assert fired["occ:-1"] == "b" and fired["occ:1"] == "a" and fired["occ:0"] in {"a", "b"}
    assert len(fired) == 3


def test_duplicate_candidate_ids_are_refused_before_the_engine() -> None:
    with pytest.raises(RuleEvaluationError, match="duplicate candidate ids: 'occ:5'") as info:
        rules_durable.run(default_policy(), [Candidate(id="occ:5", wd_to_due=0), Candidate(id="occ:6", wd_to_due=1),
                                             Candidate(id="occ:5", wd_to_due=-4)])
    assert info.value.rejected == ("occ:5",)


def test_two_evaluations_in_a_row_do_not_see_each_other() -> None:
    # The shipped ruleset has no per-item rhythm any more (weekly digest); the language still has it.
    base = default_policy()
    at = base.stage_ids.index("overdue_1") + 1
    rhythm = Stage(id="overdue_repeat", ladder=True, when=Condition(kind="overdue_every", days=6, every=5),
                   to=("clerk",), label="逾期持续提醒")
    policy = replace(base, stages=(*base.stages[:at], rhythm, *base.stages[at:]))
    first = [Candidate(id=f"occ:{i}", wd_to_due=10) for i in range(50)]
    second = [Candidate(id=f"occ:{i}", wd_to_due=-11, repeats_recorded=1) for i in range(50)]
    a = rules_durable.run(policy, first)
    b = rules_durable.run(policy, second)
    assert a.actions == b.actions == 50  # the same ids again: not "already observed"
    assert {m.met for m in a.matched.values()} == {frozenset({"before_10"})}
    assert dict(b.matched) == rules_plain.evaluate(policy, second)
    assert "overdue_repeat" in b.matched["occ:0"].exact


def test_no_background_threads_and_concurrent_callers_are_serialised() -> None:
    policy = default_policy()
    before = threading.active_count()
    batches = [shuffled_candidates(800, seed=s) for s in range(4)]
    expected = [rules_plain.evaluate(policy, b) for b in batches]
    results: dict[int, object] = {}

    def work(i: int) -> None:
        results[i] = rules_durable.evaluate(policy, batches[i])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [results[i] for i in range(4)] == expected
    assert threading.active_count() == before


def test_an_empty_batch_needs_no_engine() -> None:
    result = rules_durable.run(default_policy(), [])
    assert (dict(result.matched), result.events, result.actions, result.posts) == ({}, 0, 0, 0)


def test_compiled_ruleset_is_readable_data() -> None:
    compiled = rules_durable.compile_policy(default_policy())
    definition = compiled.as_dict()
    assert list(definition) == [rule.name for rule in compiled.rules]
    assert definition["wd_eq_0"] == {"all": [{"m": {"wd": 0}}]}
    assert compiled.by_name["wd_eq_0"].exact == frozenset({"due_day"})
    assert compiled.policy_hash == default_policy().policy_hash
    assert rules_durable.compile_policy(default_policy()) is compiled  # cached per policy


def test_the_rule_arithmetic_holds_at_the_extremes_of_the_allowed_ranges() -> None:
    most = MAX_WORKING_DAYS
    policy = ReminderPolicy(stages=(
        Stage(id="early", ladder=True, when=Condition(kind="before", days=MAX_DAYS), to=("clerk",), label="早"),
        Stage(id="again", ladder=True, when=Condition(kind="overdue_every", days=MAX_DAYS, every=MAX_DAYS),
              to=("clerk",), label="再"),
        Stage(id="late", ladder=False, when=Condition(kind="overdue", days=MAX_DAYS), to=("leader",), label="迟")))
    days = (most, MAX_DAYS, MAX_DAYS - 1, 0, -MAX_DAYS + 1, -MAX_DAYS, -MAX_DAYS - 1, -2 * MAX_DAYS,
            -99 * MAX_DAYS, -most + 1, -most)
    repeats = (0, 1, 98, 99, 100, most)
    batch = [Candidate(id=f"x:{i}:{j}", wd_to_due=wd, repeats_recorded=rr)
             for i, wd in enumerate(days) for j, rr in enumerate(repeats)]
    assert rules_durable.evaluate(policy, batch) == rules_plain.evaluate(policy, batch)


def test_rules_durable_is_the_only_importer_of_durable_rules() -> None:
    root = Path(rules_durable.__file__).resolve().parents[2]
    pattern = re.compile(r"^\s*(import|from)\s+(durable|durable_rules_engine)\b", re.MULTILINE)
    importers = sorted(str(path.relative_to(root)) for path in root.rglob("*.py")
                       if not {".venv", "build", "node_modules"} & set(path.relative_to(root).parts)
                       and pattern.search(path.read_text(encoding="utf-8", errors="replace")))
    assert importers == ["engine/reminders/rules_durable.py"]


def test_the_session_state_is_deleted_after_each_post() -> None:
    # delete_ruleset does not free session state (~8 MB kept per 1,000-event
    # post without this), so every post that fired must delete it.
    engine = rules_durable._engine  # type: ignore[attr-defined]  # the one durable importer, on purpose
    handle = engine.create_ruleset("state_probe", rules_durable.compile_policy(default_policy()).definition)
    try:
        events = [{"id": f"occ:{i}", "sid": rules_durable.SESSION, "wd": i - 20, "rr": 0} for i in range(40)]
        assert len(rules_durable._post_and_drain(handle, events)) == 40
        with pytest.raises(engine.error, match="error code: 309"):
            engine.get_state(handle, rules_durable.SESSION)
    finally:
        engine.delete_ruleset(handle)
