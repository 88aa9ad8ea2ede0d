"""``duban simulate``: replay a range of days as daily ticks, with a scenario.

Each day of the range is one tick at the configured hour: first the
scenario's steps dated that day are applied (an event recorded, a completion
reported, a waiver) through the same services the CLI and the web use, then
the tick decides and the outbox is delivered. It is the time machine behind
``make run`` (the seed year) and the crash tests.

Scenario file (YAML, read strictly; see docs/scenarios.md)::

    scenario: jieyang-2016-demo
    description: 演示：省文件出台、部分单位按时完成
    steps:
      - {date: 2016-07-20, action: event, trigger: gd_negative_list_doc,
         plan: jieyang-2016-disclosure, doc_number: 粤府办〔2016〕示例号, actor: 督查室}
      - {date: 2016-08-01, action: complete, plan: jieyang-2016-disclosure,
         task: 0, requirement: 1, unit: 市编办, evidence: https://example.gov.cn/x, actor: 市编办}
      - {date: 2016-09-01, action: waive, plan: ..., task: 5, requirement: 1,
         unit: 市公安局, reason: ..., actor: 督查室}
"""

from __future__ import annotations

import datetime as dt
import math
import re
import statistics
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from ...errors import DubanError
from ...store.models import Obligation, Requirement, Task, Unit
from ..common.strictyaml import Diagnostic, NodeReader, read_yaml
from ..reminders.tick import EmailStat
from ..services.completions import complete, waive
from ..services.events import DuplicateEvent, record_event
from .build import Runtime

ACTIONS = ("event", "complete", "waive")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_INT = re.compile(r"\d+")


class ScenarioError(DubanError, ValueError):
    def __init__(self, diagnostics: Sequence[Diagnostic]) -> None:
        self.diagnostics = tuple(diagnostics)
        super().__init__("invalid scenario:\n" + "\n".join(d.format() for d in self.diagnostics))


@dataclass(frozen=True, kw_only=True, slots=True)
class Step:
    on: dt.date
    action: str
    fields: dict[str, str]
    line: int


@dataclass(frozen=True, kw_only=True, slots=True)
class Scenario:
    name: str
    description: str
    steps: tuple[Step, ...]

    def on(self, day: dt.date) -> list[Step]:
        return [s for s in self.steps if s.on == day]


_STEP_FIELDS = {
    "event": (("trigger", "actor"), ("plan", "doc_number", "title", "note", "received", "event_date")),
    "complete": (("plan", "task", "requirement", "unit", "evidence", "actor"), ("occurrence", "completed_on")),
    "waive": (("plan", "task", "requirement", "unit", "reason", "actor"), ()),
}


def load_scenario(path: Path) -> Scenario:
    """Read a scenario strictly; every problem is reported at once."""
    node, diags = read_yaml(path)
    reader = NodeReader(str(path))
    reader.errors.extend(diags)
    top = reader.mapping(node, "", required=("scenario", "steps"), optional=("description",))
    steps: list[Step] = []
    if top:
        for i, item in enumerate(reader.sequence(top.get("steps"), "steps", empty_code=None) or ()):
            path_i = f"steps[{i}]"
            action_node = item.get("action") if hasattr(item, "get") else None
            action = reader.choice(action_node, f"{path_i}.action", ACTIONS) if action_node else None
            if action is None:
                if action_node is None:
                    reader.error(item.line, "missing-field", f"{path_i}.action", "required field 'action' is missing")
                continue
            required, optional = _STEP_FIELDS[action]
            fields = reader.mapping(item, path_i, required=("date", "action", *required), optional=optional)
            if fields is None:
                continue
            day = reader.matching(fields.get("date"), f"{path_i}.date", _DATE, code="bad-date", what="a date YYYY-MM-DD")
            values = {k: reader.text(v, f"{path_i}.{k}") for k, v in fields.items() if k not in ("date", "action")}
            for key in ("task", "requirement"):
                if values.get(key) is not None and not _INT.fullmatch(values[key] or ""):
                    reader.error(fields[key].line, "bad-number", f"{path_i}.{key}", f"{values[key]!r} is not a number")
            for key in ("received", "event_date", "completed_on"):
                if values.get(key) is not None and not _DATE.fullmatch(values[key] or ""):
                    reader.error(fields[key].line, "bad-date", f"{path_i}.{key}", f"{values[key]!r} is not YYYY-MM-DD")
            if day is None:
                continue
            try:
                on = dt.date.fromisoformat(day)
            except ValueError:
                reader.error(fields["date"].line, "impossible-date", f"{path_i}.date", f"{day!r} is not a real date")
                continue
            steps.append(Step(on=on, action=action, fields={k: v for k, v in values.items() if v is not None},
                              line=item.line))
    if reader.errors or top is None:
        raise ScenarioError(reader.errors)
    name = reader.text(top.get("scenario"), "scenario") or path.stem
    description = reader.text(top.get("description"), "description", allow_empty=True) or ""
    return Scenario(name=name, description=description, steps=tuple(sorted(steps, key=lambda s: (s.on, s.line))))


def _p95(values: Sequence[int]) -> int:
    """Nearest-rank 95th percentile (a value that occurred, no interpolation)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)] if ordered else 0


@dataclass(frozen=True, kw_only=True, slots=True)
class Volume:
    """Reminder volume as a product property: what recipients actually receive.

    Weeks are ISO weeks (Monday to Sunday) of the replayed range; a
    recipient's week counts from the first week of the range, so quiet weeks
    count as 0. ``busy_weeks_*`` look only at weeks with mail (the harsher view).
    """

    emails: int
    recipients: int
    max_per_recipient_day: int
    weekly_median: float
    weekly_p95: int
    weekly_max: int
    busy_weeks_median: float
    busy_weeks_p95: int
    largest_email_cards: int
    repeat_share: float  # emails with no stage change (weekly repeats, bulletins only)
    #: Emails that list the same requirement and unit twice (an invariant: 0).
    emails_with_repeated_cards: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"emails": self.emails, "recipients": self.recipients,
                "max_per_recipient_day": self.max_per_recipient_day,
                "per_recipient_week": {"median": self.weekly_median, "p95": self.weekly_p95, "max": self.weekly_max},
                "per_recipient_busy_week": {"median": self.busy_weeks_median, "p95": self.busy_weeks_p95},
                "largest_email_cards": self.largest_email_cards, "repeat_share": round(self.repeat_share, 4),
                "emails_with_repeated_cards": self.emails_with_repeated_cards}


def volume(emails: Sequence[tuple[dt.date, EmailStat]], start: dt.date, end: dt.date) -> Volume:
    """Count what each recipient got per day and per ISO week over ``start``..``end``."""
    per_day = Counter((stat.recipient, day) for day, stat in emails)
    per_week = Counter((stat.recipient, tuple(day.isocalendar())[:2]) for day, stat in emails)
    weeks = sorted({tuple((start + dt.timedelta(days=i)).isocalendar())[:2] for i in range((end - start).days + 1)})
    recipients = sorted({stat.recipient for _day, stat in emails})
    every = [per_week.get((r, w), 0) for r in recipients for w in weeks]
    busy = list(per_week.values())
    return Volume(emails=len(emails), recipients=len(recipients),
                  max_per_recipient_day=max(per_day.values(), default=0),
                  weekly_median=statistics.median(every) if every else 0, weekly_p95=_p95(every),
                  weekly_max=max(every, default=0),
                  busy_weeks_median=statistics.median(busy) if busy else 0, busy_weeks_p95=_p95(busy),
                  largest_email_cards=max((stat.cards for _d, stat in emails), default=0),
                  repeat_share=(sum(1 for _d, stat in emails if not stat.changes) / len(emails)) if emails else 0.0,
                  emails_with_repeated_cards=sum(1 for _d, stat in emails if stat.repeated))


@dataclass(kw_only=True)
class SimulationSummary:
    days: int = 0
    ticks: int = 0
    rest_days: int = 0
    reminders: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    per_unit: Counter[str] = field(default_factory=Counter)
    digests: int = 0
    delivered: Counter[str] = field(default_factory=Counter)
    steps_applied: Counter[str] = field(default_factory=Counter)
    emails: list[tuple[dt.date, EmailStat]] = field(default_factory=list)
    start: dt.date | None = None
    end: dt.date | None = None

    @property
    def volume(self) -> Volume:
        start = self.start or min((d for d, _s in self.emails), default=dt.date.today())
        return volume(self.emails, start, self.end or start)

    def to_json(self) -> dict[str, Any]:
        return {"days": self.days, "ticks": self.ticks, "rest_days": self.rest_days,
                "volume": self.volume.to_json(),
                "reminders_by_stage": dict(self.reminders), "skipped_by_stage": dict(self.skipped),
                "reminders_by_unit": dict(self.per_unit.most_common()), "digests": self.digests,
                "delivered": dict(self.delivered), "scenario_steps": dict(self.steps_applied)}


def days(start: dt.date, end: dt.date) -> Iterator[dt.date]:
    day = start
    while day <= end:
        yield day
        day += dt.timedelta(days=1)


def _obligations(rt: Runtime, session: Any, step: Step) -> list[Obligation]:
    f = step.fields
    stmt = (select(Obligation).join(Requirement, Requirement.id == Obligation.requirement_id)
            .join(Task, Task.id == Requirement.task_id).join(Unit, Unit.id == Obligation.unit_id)
            .where(Obligation.plan_id == f["plan"], Task.no == int(f["task"]), Requirement.no == int(f["requirement"]),
                   Unit.name == f["unit"], Obligation.state != "retired").order_by(Obligation.id))
    found = list(session.scalars(stmt))
    if not found:
        raise ScenarioError([Diagnostic(file="scenario", line=step.line, code="no-obligation", path="",
                                        message=f"no obligation for {f['plan']} task {f['task']} requirement "
                                                f"{f['requirement']} unit {f['unit']!r}")])
    return found


def apply_step(rt: Runtime, step: Step) -> int:
    """Apply one scenario step in its own transaction; returns how many things it changed."""
    f = step.fields
    with rt.sessions() as session, session.begin():
        if step.action == "event":
            on = dt.date.fromisoformat(f["event_date"]) if "event_date" in f else step.on
            try:
                done = record_event(session, trigger_key=f["trigger"], plan=f.get("plan"), on=on, actor=f["actor"],
                                    doc_number=f.get("doc_number"), title=f.get("title"), note=f.get("note"),
                                    received=dt.date.fromisoformat(f["received"]) if "received" in f else None,
                                    proj=rt.projection, source="cli")
            except DuplicateEvent:  # a replay after a crash: the step was applied already
                return 0
            return sum(stats.added for _ev, stats in done)
        count = 0
        for ob in _obligations(rt, session, step):
            if step.action == "complete":
                # Already completed (a replay) or waived: nothing to do for this obligation.
                on = dt.date.fromisoformat(f["completed_on"]) if "completed_on" in f else step.on
                if ob.state != "active" or not any(o.state == "open" for o in ob.occurrences):
                    continue
                if any(o.completed_on == on and o.evidence == f["evidence"] for o in ob.occurrences):
                    continue  # this step was applied by an earlier (interrupted) replay
                complete(session, ob.id, on=on, evidence=f["evidence"], actor=f["actor"], calendar=rt.calendar,
                         occurrence=f.get("occurrence"))
            elif ob.state == "active":
                waive(session, ob.id, reason=f["reason"], actor=f["actor"])
            count += 1
        return count


def simulate(rt: Runtime, start: dt.date, end: dt.date, *, scenario: Scenario | None = None,
             progress: Callable[[dt.date], None] | None = None) -> SimulationSummary:
    """Replay every day from ``start`` to ``end`` as a tick at the configured hour."""
    summary = SimulationSummary(start=start, end=end)
    for day in days(start, end):
        summary.days += 1
        for step in scenario.on(day) if scenario else ():
            apply_step(rt, step)
            summary.steps_applied[step.action] += 1
        result, report = rt.run_tick(day)
        if result.rest_day:
            summary.rest_days += 1
        else:
            summary.ticks += 1
        summary.reminders.update(result.by_stage)
        summary.skipped.update(result.skipped_by_stage)
        summary.per_unit.update(result.by_unit)
        summary.digests += result.digests
        summary.emails.extend((day, stat) for stat in result.emails)
        if report:
            summary.delivered.update(report.statuses)
        if progress:
            progress(day)
    return summary
