"""The reminder policy compiled into a durable-rules ruleset, and evaluated with it.

This is the only module in duban that imports durable-rules (2.0.28,
unmaintained). It uses the engine as a sharp tool, with every edge guarded
(docs/rules.md has the design and the measurements):

- **No Host, no threads.** ``durable.lang``/``durable.engine.Host`` keep
  rulesets in module globals and start two timer threads per host that run
  actions in the background, so a batched post can return before its
  actions ran. We call the C engine (``durable_rules_engine``) directly and
  run every action ourselves, in the calling thread, until the engine has
  none left; a module lock serialises evaluations (the engine is not
  thread-safe).
- **State rebuilt on every evaluation.** Each call creates a fresh ruleset
  from the compiled policy, posts the candidates, drains the actions,
  deletes the session state after each post (``delete_ruleset`` does not
  free it) and the ruleset in ``finally``: nothing survives a call
  (measured: flat memory over thousands of evaluations).
- **Events, one per candidate, each matching exactly one rule.** An event
  is consumed by its first matching rule, so the rules partition the
  candidate space: ``wd_to_due`` is cut into disjoint intervals at the
  stage thresholds (with the thresholds themselves as one-point intervals,
  which is what makes a condition *exact*), and, where the repeating stage
  applies, each interval is split three ways on the repeat counter
  (not due / due on its day / due after downtime). The rule that fires
  carries the candidate's met and exact stages. Facts stay in the session
  and were measured 10× slower for 50,000 (3.2 s, +363 MB, growing
  super-linearly), so they are out.
- **Every event accounted for.** Each posted event must produce exactly one
  action; the engine's "not handled"/"already observed" results and any
  event without (or with more than one) action become a
  :class:`RuleEvaluationError` naming the candidate ids.
- **Explicit ids, hash-safe batches.** Events carry the candidate id as
  their ``id``. The engine de-duplicates events by a 32-bit FNV-1a hash of
  the id, so two distinct ids can collide (about a 25 % chance somewhere
  among 50,000 ids); :func:`_batches` never puts two ids with the same hash
  into one post.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType
from typing import Any

import durable_rules_engine as _engine  # the C engine of durable-rules 2.0.28

from .decide import Candidate, Matched, RuleEvaluationError, require_unique_ids
from .policy import ReminderPolicy

__all__ = ["CompiledRule", "CompiledRuleset", "DurableRun", "RuleEvaluationError", "compile_policy",
           "evaluate", "run"]

#: The one session (sid) every event of an evaluation belongs to; the
#: ruleset itself is fresh per evaluation, so the sid needs no uniqueness.
SESSION = "tick"

#: Events per post. Measured (docs/rules.md): 2,000 was fastest; one post of
#: 50,000 was 2–3× slower and held more memory in the engine.
BATCH_SIZE = 2000

# The engine's assert results (``Ruleset._handle_result`` in durable.engine).
_OK, _NOT_HANDLED, _OBSERVED, _DEFERRED = 0, 1, 2, 3

# durable's C engine is process-global and not thread-safe: every call into
# it happens in _run_engine, under this lock.
_ENGINE_LOCK = threading.Lock()


# --------------------------------------------------------------------------- compiling

@dataclass(frozen=True, kw_only=True, slots=True)
class CompiledRule:
    """One durable rule: the event condition (durable's JSON form) and the stages it stands for."""

    name: str
    condition: str
    met: frozenset[str]
    exact: frozenset[str]


@dataclass(frozen=True, kw_only=True, slots=True)
class CompiledRuleset:
    """The policy as a durable ruleset definition, plus what each rule means."""

    policy_hash: str
    rules: tuple[CompiledRule, ...]
    definition: str
    by_name: Mapping[str, CompiledRule]

    def as_dict(self) -> dict[str, Any]:
        """The ruleset definition as data (for docs and debugging)."""
        result: dict[str, Any] = json.loads(self.definition)
        return result


def _num(value: int) -> str:
    return f"m{-value}" if value < 0 else str(value)


def _and(atoms: list[dict[str, Any]]) -> dict[str, Any]:
    return atoms[0] if len(atoms) == 1 else {"$and": atoms}


def _regions(thresholds: Sequence[int]) -> Iterator[tuple[str, list[dict[str, Any]], int | None, int | None]]:
    """Disjoint ``wd`` intervals covering every integer: (name, atoms, low, high), bounds inclusive, None = ∞.

    The thresholds themselves are one-point intervals (where a condition is
    exact); the gaps between them, and the two open ends, are the others.
    """
    ordered = sorted(set(thresholds), reverse=True)
    top = ordered[0]
    yield f"wd_gt_{_num(top)}", [{"$gt": {"wd": top}}], top + 1, None
    for i, t in enumerate(ordered):
        yield f"wd_eq_{_num(t)}", [{"wd": t}], t, t
        if i + 1 == len(ordered):
            yield f"wd_lt_{_num(t)}", [{"$lt": {"wd": t}}], None, t - 1
        elif t - ordered[i + 1] > 1:
            nxt = ordered[i + 1]
            yield (f"wd_{_num(nxt + 1)}_to_{_num(t - 1)}", [{"$lt": {"wd": t}}, {"$gt": {"wd": nxt}}],
                   nxt + 1, t - 1)


@lru_cache(maxsize=32)
def compile_policy(policy: ReminderPolicy) -> CompiledRuleset:
    """The durable ruleset for a policy (cached: policies are immutable).

    Events are ``{"id": candidate id, "sid": SESSION, "wd": wd_to_due,
    "rr": repeats_recorded}``. Every non-repeating condition is "wd ≤ t"
    for a threshold t (before N: N; on_due: 0; overdue N: −N), so the
    intervals of :func:`_regions` decide met (the interval lies at or below
    t) and exact (the interval is {t}). The repeating stage
    ``overdue_every {S, E}`` is met when k > rr, i.e. wd ≤ −S − rr·E, and
    exact when (overdue − S) % E = 0, i.e. wd = ((wd + S) / E)·E − S with the
    engine's integer division; both compare an event field with arithmetic
    over the same event, which durable supports.
    """
    repeat = policy.repeat_stage
    plain = [(stage.id, stage.when.threshold) for stage in policy.stages if stage is not repeat]
    thresholds = [t for _, t in plain]
    if repeat is not None:
        start, every = repeat.when.days, repeat.when.every
        thresholds.append(-start)
        due_line = {"$add": {"$l": {"$mul": {"$l": {"$m": "rr"}, "$r": -every}}, "$r": -start}}
        on_rhythm = {"$sub": {"$l": {"$mul": {"$l": {"$div": {"$l": {"$add": {"$l": {"$m": "wd"}, "$r": start}},
                                                              "$r": every}}, "$r": every}}, "$r": start}}
    rules: list[CompiledRule] = []
    for name, atoms, low, high in _regions(thresholds):
        met = frozenset(sid for sid, t in plain if high is not None and high <= t)
        exact = frozenset(sid for sid, t in plain if low == high == t)
        if repeat is None or high is None or high > -repeat.when.days:
            rules.append(CompiledRule(name=name, condition=json.dumps(_and(atoms)), met=met, exact=exact))
            continue
        splits = (
            ("repeat_not_due", [{"$gt": {"wd": due_line}}], met, exact),
            ("repeat_on_day", [{"$lte": {"wd": due_line}}, {"wd": on_rhythm}], met | {repeat.id}, exact | {repeat.id}),
            ("repeat_catch_up", [{"$lte": {"wd": due_line}}, {"$neq": {"wd": on_rhythm}}], met | {repeat.id}, exact),
        )
        for suffix, extra, split_met, split_exact in splits:
            rules.append(CompiledRule(name=f"{name}__{suffix}", condition=json.dumps(_and([*atoms, *extra])),
                                      met=split_met, exact=split_exact))
    definition = json.dumps({rule.name: {"all": [{"m": json.loads(rule.condition)}]} for rule in rules})
    return CompiledRuleset(policy_hash=policy.policy_hash, rules=tuple(rules), definition=definition,
                           by_name=MappingProxyType({rule.name: rule for rule in rules}))


# --------------------------------------------------------------------------- running

@dataclass(frozen=True, kw_only=True, slots=True)
class DurableRun:
    """One evaluation's results and its accounting (every event → exactly one action)."""

    matched: Mapping[str, Matched]
    events: int
    actions: int
    posts: int
    rules: int


def fnv1a_32(text: str) -> int:
    """The engine's event-id hash (``fnv1Hash32`` in durable's C code: FNV-1a over the id bytes).

    Ids are ASCII (:data:`~duban.engine.reminders.decide.CANDIDATE_ID`), so the C
    code's signed ``char`` makes no difference.
    """
    value = 0x811C9DC5
    for byte in text.encode("ascii"):
        value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
    return value


def _batches(events: Sequence[dict[str, Any]], size: int = BATCH_SIZE) -> list[list[dict[str, Any]]]:
    """Posts of at most ``size`` events in which no two ids share an engine hash.

    A later post may reuse a hash freely: every event of a post is consumed
    (its action completed) before the next post.
    """
    posts: list[list[dict[str, Any]]] = []
    for offset in range(0, len(events), size):
        pending = list(events[offset:offset + size])
        while pending:
            seen: set[int] = set()
            post: list[dict[str, Any]] = []
            later: list[dict[str, Any]] = []
            for event in pending:
                key = fnv1a_32(event["id"])
                (later if key in seen else post).append(event)
                seen.add(key)
            posts.append(post)
            pending = later
    return posts


def _post_and_drain(handle: int, events: Sequence[dict[str, Any]]) -> dict[str, list[str]]:
    """Post one batch and run every action it produced; returns the rules fired per event id.

    Caller holds :data:`_ENGINE_LOCK`. The engine reports "not handled" or
    "already observed" for the whole batch while still queuing actions for
    the other events, so we always drain, then compare what fired with what
    was posted. Raises :class:`RuleEvaluationError` naming the events with
    no action or with more than one.
    """
    fired: dict[str, list[str]] = {}

    def record(payload: str) -> None:
        for rule_name, message in json.loads(payload).items():
            for item in message if isinstance(message, list) else [message]:
                event = item.get("m") if isinstance(item, dict) else None
                if not isinstance(event, dict) or "id" not in event:
                    raise RuleEvaluationError(f"unexpected action payload from rule {rule_name!r}: {item!r}")
                fired.setdefault(event["id"], []).append(rule_name)

    code, state = _engine.assert_events(handle, json.dumps(events))
    if code not in (_OK, _NOT_HANDLED, _OBSERVED, _DEFERRED):
        raise RuleEvaluationError(f"the rules engine returned code {code!r} for a post",
                                  rejected=[e["id"] for e in events])
    result = _engine.start_action_for_state(handle, state)
    while result:
        record(result[1])
        following = _engine.complete_and_start_action(handle, state)
        result = (None, following) if following else None
    # Sweep: anything the engine queued elsewhere (it should not; the sweep makes sure).
    while swept := _engine.start_action(handle):
        record(swept[1])
        while following := _engine.complete_and_start_action(handle, swept[2]):
            record(following)
    # The session state must be deleted: delete_ruleset does not free it
    # (measured: ~8 MB kept per 1,000-event post). But after a post in which
    # no event fired, durable's delete_state segfaults (measured), so that
    # state is left behind: it only happens on the error path below.
    if fired:
        _engine.delete_state(handle, SESSION)
    posted = {e["id"] for e in events}
    unanswered = [e["id"] for e in events if len(fired.get(e["id"], ())) != 1]
    strays = sorted(set(fired) - posted)
    if unanswered or strays:
        reason = {_NOT_HANDLED: "matched no rule", _OBSERVED: "rejected as already observed (id hash collision)"}
        detail = reason.get(code, "got no single action")
        raise RuleEvaluationError(f"the rules engine left {len(unanswered) + len(strays)} event(s) without "
                                  f"exactly one action ({detail})", rejected=[*unanswered, *strays])
    return fired


def _run_engine(definition: str, posts: Sequence[Sequence[dict[str, Any]]], *,
                name: str = "duban_reminders") -> dict[str, str]:
    """The one place that drives the engine: fresh ruleset, every post drained, ruleset deleted.

    Returns the rule that fired for each event id.
    """
    fired: dict[str, str] = {}
    with _ENGINE_LOCK:
        try:
            handle = _engine.create_ruleset(name, definition)
        except _engine.error as exc:
            raise RuleEvaluationError(f"durable-rules refused the compiled ruleset: {exc}") from exc
        try:
            for post in posts:
                try:
                    drained = _post_and_drain(handle, post)
                except _engine.error as exc:
                    raise RuleEvaluationError(f"durable-rules failed on a post: {exc}",
                                              rejected=[e["id"] for e in post]) from exc
                for event_id, names in drained.items():
                    fired[event_id] = names[0]
        finally:
            _engine.delete_ruleset(handle)
    return fired


def run(policy: ReminderPolicy, candidates: Sequence[Candidate]) -> DurableRun:
    """Evaluate the candidates with durable-rules and account for every event.

    Raises :class:`RuleEvaluationError` naming any candidate that got no
    match (duplicate ids, an engine rejection, a missing action).
    """
    require_unique_ids(candidates)
    compiled = compile_policy(policy)
    if not candidates:
        return DurableRun(matched={}, events=0, actions=0, posts=0, rules=len(compiled.rules))
    events = [{"id": c.id, "sid": SESSION, "wd": c.wd_to_due, "rr": c.repeats_recorded} for c in candidates]
    posts = _batches(events)
    fired = _run_engine(compiled.definition, posts, name=f"duban_reminders_{policy.policy_hash[:12]}")
    missing = [c.id for c in candidates if c.id not in fired]
    if missing:
        raise RuleEvaluationError("no rule fired for candidates", rejected=missing)
    matched: dict[str, Matched] = {}
    for candidate in candidates:
        rule = compiled.by_name[fired[candidate.id]]
        matched[candidate.id] = Matched(candidate_id=candidate.id, met=rule.met, exact=rule.exact)
    return DurableRun(matched=matched, events=len(events), actions=len(fired), posts=len(posts),
                      rules=len(compiled.rules))


def evaluate(policy: ReminderPolicy, candidates: Sequence[Candidate]) -> dict[str, Matched]:
    """Each candidate's met and exact stages, keyed by id (the :class:`~duban.engine.reminders.decide.Evaluator` form)."""
    return dict(run(policy, candidates).matched)
