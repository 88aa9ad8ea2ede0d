"""The reminder and escalation policy (提醒与升级规则) as validated, frozen data.

The policy lives in ``rules/rulesets/reminders.yaml`` and is reviewed like
code; a deployment changes its numbers through ``config.yaml``
(``reminders.overrides``, see :func:`apply_overrides`). This module only
reads, checks and normalises it. What the stages *mean* on a given day is
decided by :mod:`duban.engine.reminders.decide` with the conditions found by either
evaluator (:mod:`duban.engine.reminders.rules_plain`, :mod:`duban.engine.reminders.rules_durable`).

Reading is strict: the file is read with :mod:`duban.engine.common.strictyaml`, so
every scalar arrives as text and is checked here (``010`` is refused, not
read as 8; ``yes`` is refused, not read as true). Mappings built in Python
(tests, overrides) may carry native ``int``/``bool`` values too. Every
problem of a file is reported at once as ``FILE:LINE: CODE path: message``,
naming the stage; nothing is returned unless there are none.

Each stage has one condition over ``wd_to_due`` (signed working days to the
due date: > 0 before, 0 on the due day, < 0 overdue):

=============================  =============================================
``{before: N}``                N working days before the due date
``{on_due: true}``             the due day itself
``{overdue: N}``               N working days overdue
``{overdue_every: {start: S,   S working days overdue, then every E more
every: E}}``                   (repeat index k = 1, 2, …)
=============================  =============================================
"""

from __future__ import annotations

import hashlib
import json
import re
import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, TypeAlias, get_args

from ...rules import RULESETS_DIR
from ...errors import DubanError
from ..common.strictyaml import Diagnostic, YamlNode, read_yaml, to_plain
from .policy_check import MAX_DAYS, Checker, PolicyError, did_you_mean

__all__ = ["MAX_DAYS", "PolicyError"]  # re-exported: they are part of the policy's interface

ConditionKind: TypeAlias = Literal["before", "on_due", "overdue", "overdue_every"]
CatchUp: TypeAlias = Literal["send", "skip"]
Recipient: TypeAlias = Literal["clerk", "leader", "supervisor"]
Colour: TypeAlias = Literal["green", "yellow", "red"]

CONDITION_KINDS: tuple[str, ...] = get_args(ConditionKind)
CATCH_UPS: tuple[str, ...] = get_args(CatchUp)
RECIPIENTS: tuple[str, ...] = get_args(Recipient)

DEFAULT_POLICY_PATH = RULESETS_DIR / "reminders.yaml"
RULESET_NAME = "reminders"
SUPPORTED_VERSIONS = (1,)

_STAGE_ID = re.compile(r"[a-z][a-z0-9_]{0,63}")

_TOP_KEYS = ("ruleset", "version", "colours", "digest", "checkins", "stages")
_DIGEST_KEYS = ("weekly_on", "max_items", "escalation_max_items")
_CHECKIN_KEYS = ("stages",)
#: Weekday names for ``digest.weekly_on`` (Monday = 0, as :meth:`datetime.date.weekday`).
WEEKDAYS: tuple[str, ...] = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
#: The stages a check-in is reminded at unless the policy says otherwise.
DEFAULT_CHECKIN_STAGES: tuple[str, ...] = ("before_5", "overdue_1")
#: The hard ceiling of cards in one email: more would not be read on a phone anyway.
MAX_INLINE_ITEMS = 50
_STAGE_KEYS = ("id", "ladder", "when", "to", "catch_up", "label")
_STAGE_REQUIRED = ("id", "ladder", "when", "to", "label")
_EVERY_KEYS = ("start", "every")
OVERRIDE_KEYS = ("lead_times", "overdue_every", "escalate_leader_after",
                 "escalate_supervisor_after", "yellow_within", "catch_up")


class UnknownStageError(DubanError, KeyError):
    """A stage id that the policy does not define (e.g. recorded under an older policy)."""

    def __init__(self, stage_id: str, known: Sequence[str]) -> None:
        self.stage_id = stage_id
        super().__init__(f"no stage {stage_id!r} in the policy{did_you_mean(stage_id, known)}; "
                         f"stages: {', '.join(known)}")

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0])


# --------------------------------------------------------------------------- values

@dataclass(frozen=True, kw_only=True, slots=True)
class Condition:
    """When a stage becomes due, in working days relative to the due date.

    ``days`` is N for ``before``/``overdue``, the start S for
    ``overdue_every`` and 0 for ``on_due``; ``every`` is E for
    ``overdue_every`` and 0 otherwise.
    """

    kind: ConditionKind
    days: int = 0
    every: int = 0

    def __post_init__(self) -> None:
        problems = _condition_problems(self.kind, self.days, self.every)
        if problems:
            raise PolicyError([Diagnostic(file="<Condition>", line=1, code=code, path="when", message=msg)
                               for code, msg in problems])

    @property
    def threshold(self) -> int:
        """The largest ``wd_to_due`` at which the condition can hold (met iff wd <= threshold).

        For ``overdue_every`` this is the first repeat; later repeats also
        depend on how many were recorded.
        """
        if self.kind == "before":
            return self.days
        if self.kind == "on_due":
            return 0
        return -self.days

    def repeat_index(self, overdue: int) -> int:
        """k = (overdue − S) // E + 1: which repeat of ``overdue_every`` today is (0: none yet)."""
        if self.kind != "overdue_every":
            raise TypeError(f"repeat_index applies to overdue_every conditions, not {self.kind!r}")
        return (overdue - self.days) // self.every + 1 if overdue >= self.days else 0

    def to_data(self) -> dict[str, Any]:
        """The normalised YAML/JSON form (``{before: 10}``, ``{overdue_every: {start: 6, every: 5}}``)."""
        if self.kind == "on_due":
            return {"on_due": True}
        if self.kind == "overdue_every":
            return {"overdue_every": {"start": self.days, "every": self.every}}
        return {self.kind: self.days}

    def describe(self) -> str:
        if self.kind == "before":
            return f"{self.days} working day(s) before the due date"
        if self.kind == "on_due":
            return "on the due day"
        if self.kind == "overdue":
            return f"{self.days} working day(s) overdue"
        return f"{self.days} working day(s) overdue, then every {self.every}"


@dataclass(frozen=True, kw_only=True, slots=True)
class Stage:
    """One reminder or escalation step (提醒/升级环节) of the policy.

    ``ladder`` stages form the reminder ladder (提醒梯次): after downtime
    only the most advanced pending one is sent. Other stages (escalations to
    the unit's leader or the supervising office) stand apart; ``catch_up``
    says whether a stage whose day was missed is still sent (``send``) or
    only recorded as skipped (``skip``).
    """

    id: str
    ladder: bool
    when: Condition
    to: tuple[Recipient, ...]
    label: str
    catch_up: CatchUp = "send"

    def to_data(self) -> dict[str, Any]:
        return {"id": self.id, "ladder": self.ladder, "when": self.when.to_data(), "to": list(self.to),
                "catch_up": self.catch_up, "label": self.label}


@dataclass(frozen=True, kw_only=True, slots=True)
class ReminderPolicy:
    """The whole policy: colour thresholds and the stages in order.

    ``source`` (where it was read from, and which overrides were applied)
    is provenance only: it takes no part in equality or :attr:`policy_hash`.
    """

    stages: tuple[Stage, ...]
    yellow_within: int = 5
    #: The weekday (Monday = 0) of the weekly digest (每周汇总): still-overdue
    #: items and missed check-ins are repeated once a week, on the first
    #: working day on or after it, never on a per-item rhythm.
    weekly_on: int = 0
    #: Cards inline in any email (at most :data:`MAX_INLINE_ITEMS`); the full list goes in an .xlsx attachment.
    max_items: int = MAX_INLINE_ITEMS
    #: Cards inline in an escalation summary for a leader or the supervising office.
    escalation_max_items: int = 30
    #: The stages at which a check-in (进展报送) is reminded; its other stages are
    #: recorded as skipped: a missed check-in is urged (催报), never escalated as overdue.
    #: ``None``: :data:`DEFAULT_CHECKIN_STAGES`, those of them the policy has.
    checkin_stages: tuple[str, ...] | None = None
    ruleset: str = RULESET_NAME
    version: int = 1
    source: str = field(default="<memory>", compare=False)
    policy_hash: str = field(init=False, compare=False, repr=False, default="")

    def __post_init__(self) -> None:
        if self.checkin_stages is None:
            ids = {getattr(s, "id", None) for s in self.stages}
            object.__setattr__(self, "checkin_stages", tuple(i for i in DEFAULT_CHECKIN_STAGES if i in ids))
        problems = [*_policy_level_problems(self.ruleset, self.version, self.yellow_within),
                    *_cross_stage_problems(self.stages), *_digest_problems(self)]
        if problems:
            raise PolicyError([Diagnostic(file=self.source, line=1, code=code, path=path, message=msg)
                               for code, path, msg in problems])
        digest = hashlib.sha256(canonical_json(self).encode("utf-8")).hexdigest()
        object.__setattr__(self, "policy_hash", digest)

    def stage(self, stage_id: str) -> Stage:
        for stage in self.stages:
            if stage.id == stage_id:
                return stage
        raise UnknownStageError(stage_id, self.stage_ids)

    @property
    def stage_ids(self) -> tuple[str, ...]:
        return tuple(stage.id for stage in self.stages)

    @property
    def repeat_stage(self) -> Stage | None:
        """The one ``overdue_every`` stage, if any (a candidate counts repeats for it alone)."""
        for stage in self.stages:
            if stage.when.kind == "overdue_every":
                return stage
        return None

    def colour(self, wd_to_due: int) -> Colour:
        """绿/黄/红: green with more than ``yellow_within`` working days left, red when overdue."""
        if wd_to_due < 0:
            return "red"
        return "yellow" if wd_to_due <= self.yellow_within else "green"

    def to_data(self) -> dict[str, Any]:
        """The normalised policy (defaults filled in), the input of :attr:`policy_hash`."""
        return {"ruleset": self.ruleset, "version": self.version,
                "colours": {"yellow_within": self.yellow_within},
                "digest": {"weekly_on": WEEKDAYS[self.weekly_on], "max_items": self.max_items,
                           "escalation_max_items": self.escalation_max_items},
                "checkins": {"stages": list(self.checkin_stages or ())},
                "stages": [stage.to_data() for stage in self.stages]}

    def is_weekly_day(self, day: dt.date, is_workday: Callable[[dt.date], bool]) -> bool:
        """Whether ``day`` carries the weekly digest: the first working day on or after ``weekly_on``.

        A holiday on the configured weekday moves the digest to the next
        working day of the same week (Monday to Sunday); a week without a
        working day from that weekday on has no weekly digest.
        """
        if not is_workday(day) or day.weekday() < self.weekly_on:
            return False
        first = day - dt.timedelta(days=day.weekday() - self.weekly_on)
        while first < day:
            if is_workday(first):
                return False
            first += dt.timedelta(days=1)
        return True


def canonical_json(policy: ReminderPolicy) -> str:
    """Sorted-key, whitespace-free JSON of the normalised policy: stable across runs and key order."""
    return json.dumps(policy.to_data(), sort_keys=True, ensure_ascii=False, separators=(",", ":"))


# --------------------------------------------------------------------------- structural checks

def _condition_problems(kind: str, days: int, every: int) -> list[tuple[str, str]]:
    """(code, message) pairs for a condition built in Python; the loader checks fields first."""
    out: list[tuple[str, str]] = []
    if kind not in CONDITION_KINDS:
        return [("bad-choice", f"unknown condition kind {kind!r}; expected one of {', '.join(CONDITION_KINDS)}")]
    for name, value in (("days", days), ("every", every)):
        if isinstance(value, bool) or not isinstance(value, int):
            out.append(("bad-int", f"{name} must be an int, got {value!r}"))
    if out:
        return out
    if kind == "on_due":
        if days or every:
            out.append(("out-of-range", f"on_due takes no day counts, got days={days!r}, every={every!r}"))
    elif not 1 <= days <= MAX_DAYS:
        out.append(("out-of-range", f"{kind} needs 1..{MAX_DAYS} working days, got {days!r}"))
    if kind == "overdue_every":
        if not 1 <= every <= MAX_DAYS:
            out.append(("out-of-range", f"overdue_every needs every in 1..{MAX_DAYS}, got {every!r}"))
    elif kind != "on_due" and every:
        out.append(("out-of-range", f"only overdue_every takes 'every', got every={every!r}"))
    return out


def _policy_level_problems(ruleset: str, version: int, yellow_within: int) -> list[tuple[str, str, str]]:
    out: list[tuple[str, str, str]] = []
    if ruleset != RULESET_NAME:
        out.append(("bad-ruleset", "ruleset", f"expected ruleset {RULESET_NAME!r}, got {ruleset!r}"))
    if version not in SUPPORTED_VERSIONS:
        out.append(("bad-version", "version",
                    f"version {version!r} is not supported (supported: {', '.join(map(str, SUPPORTED_VERSIONS))})"))
    if isinstance(yellow_within, bool) or not isinstance(yellow_within, int) or not 0 <= yellow_within <= MAX_DAYS:
        out.append(("out-of-range", "colours.yellow_within",
                    f"yellow_within must be 0..{MAX_DAYS} working days, got {yellow_within!r}"))
    return out


def _cross_stage_problems(stages: Sequence[Stage]) -> list[tuple[str, str, str]]:
    """(code, path, message) for rules that span stages.

    - stage ids are unique;
    - at most one ``overdue_every`` stage (a candidate carries one repeat counter);
    - ladder stages advance strictly (each one's threshold is later than the
      previous one's), so "the most advanced pending stage" is the last in
      file order, and a repeating ladder stage is the last ladder stage.
    """
    out: list[tuple[str, str, str]] = []
    if not stages:
        out.append(("empty-list", "stages", "the policy needs at least one stage"))
    seen: dict[str, int] = {}
    repeats: list[int] = []
    previous: tuple[int, Stage] | None = None
    for index, stage in enumerate(stages):
        path = f"stages[{index}]"
        if not isinstance(stage, Stage):
            out.append(("wrong-type", path, f"expected a Stage, got {stage!r}"))
            continue
        if not _STAGE_ID.fullmatch(stage.id):
            out.append(("bad-id", f"{path}.id", f"stage id {stage.id!r} is not snake_case ([a-z][a-z0-9_]*)"))
        if stage.id in seen:
            out.append(("duplicate-stage", f"{path}.id",
                        f"stage {stage.id!r}: id already used by stages[{seen[stage.id]}]"))
        seen.setdefault(stage.id, index)
        if not stage.to or len(set(stage.to)) != len(stage.to) or any(r not in RECIPIENTS for r in stage.to):
            out.append(("bad-recipients", f"{path}.to", f"stage {stage.id!r}: recipients must be distinct, "
                        f"non-empty, from {', '.join(RECIPIENTS)}; got {list(stage.to)!r}"))
        if stage.catch_up not in CATCH_UPS:
            out.append(("bad-choice", f"{path}.catch_up",
                        f"stage {stage.id!r}: catch_up {stage.catch_up!r} is not one of {', '.join(CATCH_UPS)}"))
        if not isinstance(stage.label, str) or not stage.label.strip():
            out.append(("empty-value", f"{path}.label", f"stage {stage.id!r}: label must be non-empty text"))
        if stage.when.kind == "overdue_every":
            repeats.append(index)
        if stage.ladder:
            if previous is not None:
                prev_index, prev = previous
                if prev.when.kind == "overdue_every":
                    out.append(("ladder-order", f"{path}.when",
                                f"stage {stage.id!r}: a ladder stage cannot follow the repeating ladder stage "
                                f"{prev.id!r} (stages[{prev_index}]); put the repeat last"))
                elif stage.when.threshold >= prev.when.threshold:
                    out.append(("ladder-order", f"{path}.when",
                                f"stage {stage.id!r} ({stage.when.describe()}) does not come after ladder stage "
                                f"{prev.id!r} ({prev.when.describe()}); list ladder stages from the earliest "
                                "to the most advanced"))
            previous = (index, stage)
    if len(repeats) > 1:
        names = ", ".join(repr(stages[i].id) for i in repeats)
        out.append(("too-many-repeats", f"stages[{repeats[1]}].when",
                    f"stages {names} both use overdue_every; a policy has at most one repeating stage"))
    return out


def _digest_problems(policy: ReminderPolicy) -> list[tuple[str, str, str]]:
    """(code, path, message) for the digest and check-in settings against the stages."""
    out: list[tuple[str, str, str]] = []
    if not isinstance(policy.weekly_on, int) or not 0 <= policy.weekly_on <= 6:
        out.append(("out-of-range", "digest.weekly_on", f"weekly_on must be a weekday 0..6, got {policy.weekly_on!r}"))
    for name in ("max_items", "escalation_max_items"):
        value = getattr(policy, name)
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_INLINE_ITEMS:
            out.append(("out-of-range", f"digest.{name}",
                        f"{name} must be 1..{MAX_INLINE_ITEMS} cards (a longer email is not read), got {value!r}"))
    known = [s.id for s in policy.stages if isinstance(s, Stage)]
    seen: set[str] = set()
    for i, stage_id in enumerate(policy.checkin_stages or ()):
        if stage_id not in known:
            out.append(("unknown-stage", f"checkins.stages[{i}]",
                        f"no stage {stage_id!r} in the policy{did_you_mean(str(stage_id), known)}"))
        elif stage_id in seen:
            out.append(("duplicate-value", f"checkins.stages[{i}]", f"stage {stage_id!r} is listed twice"))
        seen.add(stage_id)
    return out


# --------------------------------------------------------------------------- reading

def _read_when(check: Checker, value: Any, path: str, stage: str | None) -> Condition | None:
    when = check.mapping(value, path, CONDITION_KINDS, stage=stage)
    if when is None:
        return None
    if len(when) != 1:
        check.error(path, "one-condition",
                    f"expected exactly one of {', '.join(CONDITION_KINDS)}, got {sorted(when) or 'none'}",
                    stage=stage)
        return None
    ((kind, raw),) = when.items()
    sub = f"{path}.{kind}"
    if kind == "on_due":
        flag = check.boolean(raw, sub, stage=stage)
        if flag is False:
            check.error(sub, "bad-bool", "on_due: false means nothing; remove the stage instead", stage=stage)
        return Condition(kind="on_due") if flag else None
    if kind == "overdue_every":
        rhythm = check.mapping(raw, sub, _EVERY_KEYS, _EVERY_KEYS, stage=stage)
        if rhythm is None:
            return None
        start = check.integer(rhythm.get("start"), f"{sub}.start", low=1, stage=stage) if "start" in rhythm else None
        every = check.integer(rhythm.get("every"), f"{sub}.every", low=1, stage=stage) if "every" in rhythm else None
        if start is None or every is None:
            return None
        return Condition(kind="overdue_every", days=start, every=every)
    days = check.integer(raw, sub, low=1, stage=stage)
    return None if days is None else Condition(kind=kind, days=days)  # type: ignore[arg-type]


def _read_stage(check: Checker, value: Any, index: int) -> Stage | None:
    path = f"stages[{index}]"
    raw_id = value.get("id") if isinstance(value, Mapping) else None
    name = raw_id if isinstance(raw_id, str) and raw_id else f"#{index + 1}"
    fields = check.mapping(value, path, _STAGE_KEYS, _STAGE_REQUIRED, stage=name)
    if fields is None:
        return None
    ok = True
    stage_id = check.text(fields["id"], f"{path}.id", stage=name) if "id" in fields else None
    if stage_id is not None and not _STAGE_ID.fullmatch(stage_id):
        check.error(f"{path}.id", "bad-id", f"id {stage_id!r} is not snake_case ([a-z][a-z0-9_]*, ≤ 64)",
                    stage=name)
        stage_id = None
    ladder = check.boolean(fields["ladder"], f"{path}.ladder", stage=name) if "ladder" in fields else None
    when = _read_when(check, fields["when"], f"{path}.when", name) if "when" in fields else None
    to: list[str] = []
    if "to" in fields:
        raw_to = fields["to"]
        if isinstance(raw_to, str):
            raw_to = [raw_to]
        if not isinstance(raw_to, list) or not raw_to:
            check.error(f"{path}.to", "wrong-type",
                        f"expected a non-empty list of recipients ({', '.join(RECIPIENTS)}), got {raw_to!r}",
                        stage=name)
            ok = False
        else:
            for i, item in enumerate(raw_to):
                recipient = check.choice(item, f"{path}.to[{i}]", RECIPIENTS, stage=name)
                if recipient is None:
                    ok = False
                elif recipient in to:
                    check.error(f"{path}.to[{i}]", "duplicate-recipient", f"{recipient!r} is listed twice",
                                stage=name)
                    ok = False
                else:
                    to.append(recipient)
    catch_up = check.choice(fields["catch_up"], f"{path}.catch_up", CATCH_UPS, stage=name) \
        if "catch_up" in fields else "send"
    label = check.text(fields["label"], f"{path}.label", stage=name) if "label" in fields else None
    if not ok or None in (stage_id, ladder, when, catch_up, label):
        return None
    return Stage(id=stage_id, ladder=ladder, when=when, to=tuple(to), label=label,  # type: ignore[arg-type]
                 catch_up=catch_up)  # type: ignore[arg-type]


def parse_policy(data: Any, *, source: str, root: YamlNode | None = None) -> ReminderPolicy:
    """Check a policy mapping and build the frozen :class:`ReminderPolicy`.

    ``data`` is what :func:`~duban.engine.common.strictyaml.to_plain` gives (all
    text) or a mapping built in Python; ``root`` (the node tree) lets
    diagnostics carry line numbers. Raises :class:`PolicyError` with every
    problem found.
    """
    check = Checker(source, root)
    top = check.mapping(data, "", _TOP_KEYS, ("ruleset", "version", "colours", "stages"))
    if top is None:
        raise PolicyError(check.problems)
    ruleset = check.choice(top["ruleset"], "ruleset", (RULESET_NAME,)) if "ruleset" in top else None
    version = check.integer(top["version"], "version", low=1, high=max(SUPPORTED_VERSIONS), what="a version number") \
        if "version" in top else None
    yellow_within = None
    if "colours" in top:
        colours = check.mapping(top["colours"], "colours", ("yellow_within",), ("yellow_within",))
        if colours is not None and "yellow_within" in colours:
            yellow_within = check.integer(colours["yellow_within"], "colours.yellow_within", low=0)
    digest_settings = _read_digest(check, top.get("digest")) if "digest" in top else {}
    checkin_stages: tuple[str, ...] | None = None
    if "checkins" in top:
        checkins = check.mapping(top["checkins"], "checkins", _CHECKIN_KEYS, _CHECKIN_KEYS)
        if checkins is not None and "stages" in checkins:
            raw = checkins["stages"]
            if not isinstance(raw, list):
                check.error("checkins.stages", "wrong-type", f"expected a list of stage ids, got {raw!r}")
            else:
                texts = [check.text(v, f"checkins.stages[{i}]") for i, v in enumerate(raw)]
                if None not in texts:
                    checkin_stages = tuple(t for t in texts if t is not None)
    stages: list[Stage | None] = []
    raw_stages = top.get("stages")
    if "stages" in top:
        if not isinstance(raw_stages, list) or not raw_stages:
            check.error("stages", "wrong-type", f"expected a non-empty list of stages, got {raw_stages!r}")
        else:
            stages = [_read_stage(check, item, i) for i, item in enumerate(raw_stages)]
    extra: dict[str, Any] = dict(digest_settings)
    if checkin_stages is not None:
        extra["checkin_stages"] = checkin_stages
    if not check.problems and None not in stages:
        built = tuple(s for s in stages if s is not None)
        for code, path, message in _cross_stage_problems(built):
            check.error(path, code, message)
        if not check.problems:
            probe = _Probe(stages=built, **extra)
            for code, path, message in _digest_problems(probe):  # type: ignore[arg-type]
                check.error(path, code, message)
    if check.problems:
        raise PolicyError(check.problems)
    return ReminderPolicy(stages=tuple(s for s in stages if s is not None),
                          yellow_within=yellow_within, ruleset=ruleset, version=version,  # type: ignore[arg-type]
                          source=source, **extra)


@dataclass(frozen=True, kw_only=True)
class _Probe:
    """The digest settings with the stages, checked with line numbers before the policy is built."""

    stages: tuple[Stage, ...]
    weekly_on: int = 0
    max_items: int = MAX_INLINE_ITEMS
    escalation_max_items: int = 30
    checkin_stages: tuple[str, ...] = ()


def _read_digest(check: Checker, value: Any) -> dict[str, Any]:
    """``digest: {weekly_on, max_items, escalation_max_items}``, each optional."""
    fields = check.mapping(value, "digest", _DIGEST_KEYS)
    out: dict[str, Any] = {}
    if fields is None:
        return out
    if "weekly_on" in fields:
        day = check.choice(fields["weekly_on"], "digest.weekly_on", WEEKDAYS)
        if day is not None:
            out["weekly_on"] = WEEKDAYS.index(day)
    for name in ("max_items", "escalation_max_items"):
        if name in fields:
            number = check.integer(fields[name], f"digest.{name}", low=1, high=MAX_INLINE_ITEMS, what="a number of cards")
            if number is not None:
                out[name] = number
    return out


def _read_policy_file(path: Path) -> tuple[Any, YamlNode | None, tuple[Diagnostic, ...]]:
    """The one place that reads YAML: the strict reader of :mod:`duban.engine.common.strictyaml`.

    Returns plain data (every scalar as text), the node tree for line
    numbers, and the reader's refusals (tags, aliases, duplicate keys, syntax).
    """
    root, diagnostics = read_yaml(path, display=_display(path))
    return (to_plain(root) if root is not None else None), root, diagnostics


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(RULESETS_DIR.parent.parent))
    except ValueError:
        return str(path)


def load_policy(path: str | Path | None = None, *, overrides: Mapping[str, Any] | None = None,
                overrides_source: str = "config.yaml: reminders.overrides") -> ReminderPolicy:
    """Read, check and normalise the policy file, then apply the config's overrides.

    ``path`` defaults to the shipped ``rules/rulesets/reminders.yaml``.
    Raises :class:`PolicyError` listing every problem of the file (or of
    the overrides, named by ``overrides_source``).
    """
    file = Path(path) if path is not None else DEFAULT_POLICY_PATH
    data, root, diagnostics = _read_policy_file(file)
    if root is None:
        raise PolicyError(diagnostics)
    try:
        policy = parse_policy(data, source=_display(file), root=root)
    except PolicyError as exc:  # the reader's refusals and the schema's problems, all at once
        raise PolicyError(sorted([*diagnostics, *exc.diagnostics], key=lambda d: d.line)) from None
    if diagnostics:
        raise PolicyError(diagnostics)
    if overrides:
        policy = apply_overrides(policy, overrides, source=overrides_source)
    return policy


@lru_cache(maxsize=1)
def default_policy() -> ReminderPolicy:
    """The shipped policy, without overrides (immutable, so cached)."""
    return load_policy()


# --------------------------------------------------------------------------- overrides

def apply_overrides(policy: ReminderPolicy, overrides: Mapping[str, Any], *,
                    source: str = "config.yaml: reminders.overrides") -> ReminderPolicy:
    """The policy with a deployment's numbers changed (config ``reminders.overrides``).

    Keys (all optional; values may be text, as the strict config reader gives them):

    ``lead_times: [10, 5, 1]``
        replaces the ladder's ``before`` stages by one stage ``before_N``
        per lead time (any order; normalised to descending), keeping the
        recipients and catch-up of the first stage replaced. ``[]`` drops
        the pre-due reminders.
    ``overdue_every: 5``
        the repeat interval of the ``overdue_every`` stage; the repeats keep
        their anchor (start − every, the day of the first overdue reminder),
        so 5 → 3 turns "6, 11, 16…" into "4, 7, 10…".
    ``escalate_leader_after: 5`` / ``escalate_supervisor_after: 10``
        the ``overdue`` days of stages ``escalate_leader`` / ``escalate_supervisor``.
    ``yellow_within: 5``
        the colour threshold.
    ``catch_up: {escalate_leader: skip}``
        per-stage catch-up mode.

    The result is checked as a whole (ladder order …) and carries the
    overrides in its ``source``; its :attr:`~ReminderPolicy.policy_hash`
    differs from the file's whenever a value really changed.
    """
    check = Checker(source, None)
    fields = check.mapping(overrides, "", OVERRIDE_KEYS)
    if fields is None:
        raise PolicyError(check.problems)
    stages = list(policy.stages)
    yellow_within = policy.yellow_within

    def find(stage_id: str, key: str, kind: str) -> int | None:
        for i, stage in enumerate(stages):
            if stage.id == stage_id:
                if stage.when.kind != kind:
                    check.error(key, "override-mismatch", f"stage {stage_id!r} is {stage.when.describe()}, "
                                f"not an {kind} stage; {key} cannot apply")
                    return None
                return i
        check.error(key, "override-no-stage", f"the policy ({policy.source}) has no stage {stage_id!r} "
                    f"for {key} to change{did_you_mean(stage_id, [s.id for s in stages])}")
        return None

    if "lead_times" in fields:
        stages = _with_lead_times(check, stages, fields["lead_times"])
    if "overdue_every" in fields:
        _with_rhythm(check, stages, fields["overdue_every"], policy.source)
    for key, stage_id in (("escalate_leader_after", "escalate_leader"),
                          ("escalate_supervisor_after", "escalate_supervisor")):
        if key in fields:
            overdue = check.integer(fields[key], key, low=1)
            index = find(stage_id, key, "overdue")
            if index is not None and overdue is not None:
                stages[index] = replace(stages[index], when=Condition(kind="overdue", days=overdue))
    if "yellow_within" in fields:
        threshold = check.integer(fields["yellow_within"], "yellow_within", low=0)
        if threshold is not None:
            yellow_within = threshold
    if "catch_up" in fields:
        _with_catch_up(check, stages, fields["catch_up"])
    if not check.problems:
        for code, path, message in _cross_stage_problems(stages):
            check.error(path, code, f"after overrides: {message}")
    if check.problems:
        raise PolicyError(check.problems)
    applied = ", ".join(f"{k}={fields[k]!r}" for k in fields)
    ids = {s.id for s in stages}
    return ReminderPolicy(stages=tuple(stages), yellow_within=yellow_within, ruleset=policy.ruleset,
                          weekly_on=policy.weekly_on, max_items=policy.max_items,
                          escalation_max_items=policy.escalation_max_items,
                          # a check-in stage removed by lead_times is dropped, not an error
                          checkin_stages=tuple(i for i in policy.checkin_stages or () if i in ids),
                          version=policy.version, source=f"{policy.source} + {source} ({applied})")


def _with_rhythm(check: Checker, stages: list[Stage], raw: Any, source: str) -> None:
    """Change the ``overdue_every`` stage's interval in place, keeping its anchor (start − every)."""
    every = check.integer(raw, "overdue_every", low=1)
    index = next((i for i, s in enumerate(stages) if s.when.kind == "overdue_every"), None)
    if index is None:
        check.error("overdue_every", "override-no-stage", f"the policy ({source}) has no overdue_every stage to change")
        return
    if every is None:
        return
    old = stages[index].when
    start = max(1, old.days - old.every + every)
    if start > MAX_DAYS:
        check.error("overdue_every", "out-of-range", f"overdue_every {every!r} puts the first repeat "
                    f"at {start} working days overdue, beyond {MAX_DAYS}")
        return
    stages[index] = replace(stages[index], when=Condition(kind="overdue_every", days=start, every=every))


def _with_catch_up(check: Checker, stages: list[Stage], modes: Any) -> None:
    """Set per-stage catch-up modes in place (``catch_up: {stage id: send|skip}``)."""
    if not isinstance(modes, Mapping):
        check.error("catch_up", "wrong-type", f"expected a mapping of stage id to send/skip, got {modes!r}")
        return
    for stage_id, mode in modes.items():
        index = next((i for i, s in enumerate(stages) if s.id == stage_id), None)
        if index is None:
            check.error(f"catch_up.{stage_id}", "override-no-stage",
                        f"no stage {stage_id!r}{did_you_mean(str(stage_id), [s.id for s in stages])}")
            continue
        chosen = check.choice(mode, f"catch_up.{stage_id}", CATCH_UPS)
        if chosen is not None:
            stages[index] = replace(stages[index], catch_up=chosen)  # type: ignore[arg-type]


def _with_lead_times(check: Checker, stages: list[Stage], raw: Any) -> list[Stage]:
    """The stages with the ladder's ``before`` stages replaced by one ``before_N`` per lead time.

    The new stages take the place of the old ones (or open the ladder when
    there were none) and copy the first old one's recipients and catch-up.
    """
    if not isinstance(raw, list):
        check.error("lead_times", "wrong-type", f"expected a list of working-day counts, got {raw!r}")
        return stages
    checked = [check.integer(v, f"lead_times[{i}]", low=1) for i, v in enumerate(raw)]
    days = [n for n in checked if n is not None]
    if len(days) != len(checked):
        return stages
    if len(set(days)) != len(days):
        check.error("lead_times", "duplicate-value", f"lead times repeat a value: {raw!r}")
        return stages
    positions = [i for i, s in enumerate(stages) if s.ladder and s.when.kind == "before"]
    template = stages[positions[0]] if positions else None
    insert_at = positions[0] if positions else next((i for i, s in enumerate(stages) if s.ladder), 0)
    new = [Stage(id=f"before_{n}", ladder=True, when=Condition(kind="before", days=n),
                 to=template.to if template else ("clerk",), catch_up=template.catch_up if template else "send",
                 label=f"截止前{n}个工作日提醒")
           for n in sorted(days, reverse=True)]
    kept = [s for i, s in enumerate(stages) if i not in positions]
    taken = {s.id for s in kept}
    for stage in new:
        if stage.id in taken:
            check.error("lead_times", "duplicate-stage",
                        f"lead time makes stage id {stage.id!r}, already used by another stage")
    # No replaced stage lies before insert_at, so it is also the insertion index in `kept`.
    return kept[:insert_at] + new + kept[insert_at:]
