"""The reference evaluator: the stage conditions as plain Python ``if``s.

It reads the same policy data as :mod:`~duban.engine.reminders.rules_durable` and is
written straight from the definitions in :mod:`~duban.engine.reminders.decide`, one
condition kind at a time, so that the differential test compares the rules
engine against the specification rather than against another compilation.
It is also the fast path: no engine, no threads, ~1 µs per candidate.
"""

from __future__ import annotations

from collections.abc import Sequence

from .decide import Candidate, Matched, require_unique_ids
from .policy import Condition, ReminderPolicy


def _met_and_exact(condition: Condition, candidate: Candidate) -> tuple[bool, bool]:
    """(met, exact) of one condition for one candidate, word for word from the definitions."""
    wd = candidate.wd_to_due
    overdue = max(0, -wd)
    if condition.kind == "before":
        return wd <= condition.days, wd == condition.days
    if condition.kind == "on_due":
        return wd <= 0, wd == 0
    if condition.kind == "overdue":
        return overdue >= condition.days, overdue == condition.days
    start, every = condition.days, condition.every
    if overdue < start:
        return False, False
    k = (overdue - start) // every + 1
    met = k > candidate.repeats_recorded
    return met, met and (overdue - start) % every == 0


def evaluate(policy: ReminderPolicy, candidates: Sequence[Candidate]) -> dict[str, Matched]:
    """Each candidate's met and exact stages, keyed by candidate id.

    Raises :class:`~duban.engine.reminders.decide.RuleEvaluationError` when two
    candidates share an id, like the durable evaluator.
    """
    require_unique_ids(candidates)
    stages = [(stage.id, stage.when) for stage in policy.stages]
    out: dict[str, Matched] = {}
    for candidate in candidates:
        met: list[str] = []
        exact: list[str] = []
        for stage_id, condition in stages:
            is_met, is_exact = _met_and_exact(condition, candidate)
            if is_met:
                met.append(stage_id)
                if is_exact:
                    exact.append(stage_id)
        out[candidate.id] = Matched(candidate_id=candidate.id, met=frozenset(met), exact=frozenset(exact))
    return out
