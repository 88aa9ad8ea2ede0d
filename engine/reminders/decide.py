"""From "which stage conditions hold today" to send/skip decisions (发送/跳过).

The tick gives one :class:`Candidate` per due occurrence: a small fact with
an explicit clock (``wd_to_due``, counted by the tick on the official
calendar) and what is already recorded. An evaluator
(:mod:`~duban.engine.reminders.rules_plain`, the reference, or
:mod:`~duban.engine.reminders.rules_durable`, the rules engine) finds each candidate's
:class:`Matched` conditions; :func:`decide` turns those into decisions with
the same post-processing for both, so the evaluators differ only in how they
match.

Semantics (overdue := max(0, −wd_to_due)):

- *met*: before N → wd ≤ N; on_due → wd ≤ 0; overdue N → overdue ≥ N;
  overdue_every {S, E} → overdue ≥ S and k > repeats_recorded, where the
  repeat index k = (overdue − S) // E + 1.
- *exact* (met today for the first time, no downtime in between):
  before N → wd = N; on_due → wd = 0; overdue N → overdue = N;
  overdue_every → (overdue − S) % E = 0.
- *pending* = met and not recorded (overdue_every: met already says k > repeats_recorded).
- Ladder (提醒梯次): among pending ladder stages only the most advanced (last
  in policy order) may be sent; the others are recorded as skipped, so
  catch-up after downtime never sends a storm. A stage with
  ``catch_up: skip`` is sent only when exact. Non-ladder stages (升级) are
  sent when exact or ``catch_up: send``, otherwise skipped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol, TypeAlias

from ...errors import DubanError
from .policy import Colour, ReminderPolicy

Action: TypeAlias = Literal["send", "skip"]

#: Candidate ids are explicit and ASCII (e.g. ``occ:123``): the rules engine
#: de-duplicates events by a 32-bit hash of the id bytes, which
#: :mod:`~duban.engine.reminders.rules_durable` must reproduce exactly.
CANDIDATE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9:._/-]{0,127}")

#: |wd_to_due| and repeats_recorded bounds: ~400 working years, far beyond any
#: real occurrence, small enough for the rules engine's integer arithmetic.
MAX_WORKING_DAYS = 100_000


class RuleEvaluationError(DubanError, RuntimeError):
    """Some candidates got no decision, or were rejected by the rules engine.

    ``rejected`` lists their ids. The tick must not record anything for a
    run that raised this: the evaluation is all or nothing.
    """

    def __init__(self, message: str, *, rejected: Iterable[str] = ()) -> None:
        self.rejected = tuple(rejected)
        shown = ", ".join(repr(i) for i in self.rejected[:20])
        more = f" and {len(self.rejected) - 20} more" if len(self.rejected) > 20 else ""
        super().__init__(f"{message}: {shown}{more}" if self.rejected else message)


class CandidateError(DubanError, ValueError):
    """A candidate fact is malformed (id form, types, out-of-range day counts)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Candidate:
    """One due occurrence as the rules see it, on the tick's day.

    ``wd_to_due``: signed working days from the tick's day to the due date
    (> 0 before, 0 on the due day, < 0 overdue). ``recorded``: stage ids
    already recorded for this occurrence (sent or skipped); ids the policy
    no longer has are ignored. ``repeats_recorded``: the highest repeat index
    recorded for the repeating stage (0 if none).
    """

    id: str
    wd_to_due: int
    recorded: frozenset[str] = frozenset()
    repeats_recorded: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not CANDIDATE_ID.fullmatch(self.id):
            raise CandidateError(f"candidate id must match {CANDIDATE_ID.pattern} (e.g. 'occ:123'), got {self.id!r}")
        for name in ("wd_to_due", "repeats_recorded"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise CandidateError(f"candidate {self.id!r}: {name} must be an int, got {value!r}")
        if not -MAX_WORKING_DAYS <= self.wd_to_due <= MAX_WORKING_DAYS:
            raise CandidateError(f"candidate {self.id!r}: wd_to_due {self.wd_to_due!r} is beyond "
                             f"±{MAX_WORKING_DAYS} working days")
        if not 0 <= self.repeats_recorded <= MAX_WORKING_DAYS:
            raise CandidateError(f"candidate {self.id!r}: repeats_recorded must be 0..{MAX_WORKING_DAYS}, "
                             f"got {self.repeats_recorded!r}")
        if isinstance(self.recorded, str) or not all(isinstance(s, str) for s in self.recorded):
            raise CandidateError(f"candidate {self.id!r}: recorded must be a set of stage ids, got {self.recorded!r}")
        if not isinstance(self.recorded, frozenset):
            object.__setattr__(self, "recorded", frozenset(self.recorded))

    @property
    def overdue(self) -> int:
        """Working days overdue (0 until the due day has passed)."""
        return max(0, -self.wd_to_due)


@dataclass(frozen=True, kw_only=True, slots=True)
class Matched:
    """What an evaluator found for one candidate: the stages whose condition is met, and which are exact."""

    candidate_id: str
    met: frozenset[str] = frozenset()
    exact: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if not self.exact <= self.met:
            raise CandidateError(f"candidate {self.candidate_id!r}: exact stages {sorted(self.exact - self.met)!r} "
                             "are not met")


@dataclass(frozen=True, kw_only=True, slots=True)
class Decision:
    """Send or skip one stage for one candidate; ``repeat`` is k for the repeating stage."""

    candidate_id: str
    stage: str
    action: Action
    repeat: int | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class Verdict:
    """A candidate's colour (绿/黄/红) and its decisions in policy order (empty: nothing pending)."""

    candidate_id: str
    colour: Colour
    decisions: tuple[Decision, ...] = field(default=())

    @property
    def sent(self) -> tuple[Decision, ...]:
        return tuple(d for d in self.decisions if d.action == "send")


class Evaluator(Protocol):
    """Finds the met/exact stage conditions of every candidate (one :class:`Matched` per id)."""

    def __call__(self, policy: ReminderPolicy, candidates: Sequence[Candidate], /) -> Mapping[str, Matched]: ...


def require_unique_ids(candidates: Sequence[Candidate]) -> None:
    """Both evaluators refuse a batch in which two candidates share an id (the decisions would collide)."""
    seen: set[str] = set()
    duplicates: list[str] = []
    for candidate in candidates:
        if not isinstance(candidate, Candidate):
            raise CandidateError(f"expected a Candidate, got {candidate!r}")
        if candidate.id in seen:
            duplicates.append(candidate.id)
        seen.add(candidate.id)
    if duplicates:
        raise RuleEvaluationError("duplicate candidate ids", rejected=dict.fromkeys(duplicates))


def decide(policy: ReminderPolicy, candidates: Sequence[Candidate],
           matched: Mapping[str, Matched]) -> tuple[Verdict, ...]:
    """Each candidate's verdict, in input order, from the evaluator's matches.

    Raises :class:`RuleEvaluationError` naming the candidates the evaluator
    left without a match (never decide on partial results).
    """
    missing = [c.id for c in candidates if c.id not in matched]
    if missing:
        raise RuleEvaluationError("no match result for candidates", rejected=missing)
    known = set(policy.stage_ids)
    repeat = policy.repeat_stage
    verdicts: list[Verdict] = []
    for candidate in candidates:
        match = matched[candidate.id]
        if not match.met <= known:
            raise RuleEvaluationError(f"evaluator matched stages {sorted(match.met - known)!r} the policy "
                                      "does not have", rejected=[candidate.id])
        pending = [stage for stage in policy.stages if stage.id in match.met
                   and (stage is repeat or stage.id not in candidate.recorded)]
        top = next((stage for stage in reversed(pending) if stage.ladder), None)
        decisions = []
        for stage in pending:
            on_time = stage.id in match.exact or stage.catch_up == "send"
            send = on_time and (stage is top or not stage.ladder)
            index = stage.when.repeat_index(candidate.overdue) if stage is repeat else None
            decisions.append(Decision(candidate_id=candidate.id, stage=stage.id,
                                      action="send" if send else "skip", repeat=index))
        verdicts.append(Verdict(candidate_id=candidate.id, colour=policy.colour(candidate.wd_to_due),
                                decisions=tuple(decisions)))
    return tuple(verdicts)


def evaluate_and_decide(policy: ReminderPolicy, candidates: Sequence[Candidate],
                        evaluator: Evaluator) -> tuple[Verdict, ...]:
    """Match with ``evaluator``, then :func:`decide`: one verdict per candidate."""
    require_unique_ids(candidates)
    return decide(policy, candidates, evaluator(policy, candidates))


#: What a verdict depends on, and all it depends on: (wd_to_due, recorded, repeats_recorded).
FactKey: TypeAlias = tuple[int, frozenset[str], int]


def decide_distinct(policy: ReminderPolicy, keys: Iterable[FactKey],
                    evaluator: Evaluator) -> dict[FactKey, Verdict]:
    """The tick's one call: a verdict per *distinct* fact tuple, not per occurrence.

    A candidate's met and exact stages, and so its decisions and colour, are a
    function of its :data:`FactKey` alone (see the semantics above), so
    50,000 occurrences at a handful of stages need a handful of evaluations.
    The evaluator sees one candidate per distinct tuple (ids ``fact:0``,
    ``fact:1``, …); the caller gives each occurrence its tuple's decisions
    under its own id. Malformed values raise :class:`CandidateError` as
    before, naming the tuple's stand-in id and its values.
    """
    distinct = list(dict.fromkeys(keys))
    candidates = [Candidate(id=f"fact:{i}", wd_to_due=wd, recorded=recorded, repeats_recorded=repeats)
                  for i, (wd, recorded, repeats) in enumerate(distinct)]
    return dict(zip(distinct, evaluate_and_decide(policy, candidates, evaluator)))
