"""The tick (巡检): one evaluation of every reminder due as of a day.

``Ticker.tick(as_of)`` is duban's main job. In named steps, inside **one
transaction per tick**:

1. **facts** — one indexed SQL query picks the open due occurrences of live
   obligations up to the policy's longest lead time ahead (everything overdue
   included: catch-up after downtime is built in), with working days to the
   due date counted on the official calendar (the explicit clock ``as_of``);
2. **decisions** — the ruleset (durable-rules, with its plain-Python twin
   checked in the tests) says which stages to **send** and which to **skip**;
   a check-in (进展报送) keeps only the policy's check-in stages;
3. **routing** — each sent stage goes to the unit's clerks, its leader or the
   supervising office, **by address**: a 督查室 address that is also a clerk
   gets one mailbox with a section per role. On the weekly day the mailboxes
   also get what is still overdue, the missed check-ins, the escalation
   summary by unit and the 督办通报 (daily mail only when something changes);
4. **composing** — :mod:`.compose` folds parts of one requirement and unit
   into one card, caps the cards and attaches the full lists (.xlsx);
5. **rendering** — Chinese text + HTML (phone-sized cards);
6. **writes** — stage records, outbox rows, attachments, the audit record and
   the tick's own row, committed together. The unique key on (occurrence,
   stage, repeat) makes a crashed and re-run tick unable to record — or send
   — anything twice, and at most one email per address per working day.

Delivery is separate (:mod:`duban.engine.reminders.delivery`): it hands pending
outbox rows to the notifier after the decisions are committed. Nothing here
reads the wall clock; ``as_of`` is the only notion of "today".
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ...notifiers.abc import HeaderValueError
from ...notifiers.chart import ranking_chart
from ...notifiers.model import Digest, DigestItem, RankRow, SectionKind, UnitSummary
from ...notifiers.render import DigestRenderer, DigestTemplateError, check_address, render_digest
from ...store import audit
from ...zh import cn_date
from ...store.bulk import bulk_insert, chunked
from ...store.models import (
    DeadlineEntry,
    Notification,
    NotificationAttachment,
    Obligation,
    Occurrence,
    Official,
    Plan,
    Requirement,
    Task,
    TickRun,
    Unit,
)
from ..deadlines.calendar import WorkingCalendar
from .collector import collector_paused
from .compose import Fact, Mailbox, Sent, compose, ranked, unit_summaries
from .decide import Evaluator, FactKey, decide_distinct
from .facts import load_facts, load_recorded
from .records import insert_stage_records
from .policy import ReminderPolicy

#: The supervising office's ranking for a directory as of a day, best first
#: (wired by the runtime from the services' scores; the reminders room does not import services).
ScoresFn = Callable[[Session, dt.date, str], Sequence[RankRow]]

#: The co-units (unit id, name) of each requirement id: who is copied (抄送) on the lead's changes
#: (wired by the runtime from the services' queries).
CoUnitsFn = Callable[[Session, Sequence[int]], Mapping[int, Sequence[tuple[int, str]]]]

#: Note lines for a directory's supervising office (the inbox's pending proposals, wired by the runtime).
NotesFn = Callable[[Session, str], Sequence[str]]

#: How many calendar days before the calendar's last covered day the supervising office is warned.
CALENDAR_WARNING_DAYS = 60


def recipient_problem(name: str | None, address: str | None) -> str | None:
    """Why this name and address cannot head an email (``None`` when they can).

    Import refuses such officials, but a row edited in the database, or an
    older store, may still hold one: the tick must then leave that official
    out (and say so) rather than let one header abort everybody's digests.
    """
    try:
        check_address("recipient", address or "", name or "")
    except HeaderValueError as exc:
        return str(exc)
    return None


@dataclass(frozen=True, kw_only=True, slots=True)
class Person:
    """An address in the units register (one person may hold several roles)."""

    email: str
    name: str


@dataclass(frozen=True, kw_only=True, slots=True)
class Refused:
    """An official the tick could not write to: the name or address cannot be encoded."""

    unit: str
    role: str
    name: str
    email: str
    reason: str

    def note(self) -> str:
        """The line the supervising office reads (the bad value shown escaped, never raw)."""
        return (f"单位「{self.unit}」{_ROLE_ZH.get(self.role, '联系人')} {self.name!r} <{self.email!r}> 的姓名或邮箱"
                f"无法写入邮件（{self.reason}），本次未发送给其本人，请更正单位名录。")


@dataclass(frozen=True, kw_only=True, slots=True)
class EmailStat:
    """One email the tick wrote: for the volume summary of ``duban simulate``."""

    key: str
    recipient: str
    cards: int
    changes: int
    sections: tuple[str, ...]
    #: Cards naming a requirement and unit already listed higher up in the same email (must stay 0).
    repeated: int = 0


@dataclass(kw_only=True)
class TickResult:
    """What one tick did (printed by ``duban tick``, summed by ``duban simulate``)."""

    as_of: dt.date
    rest_day: bool = False
    dry_run: bool = False
    candidates: int = 0
    sent: int = 0
    skipped: int = 0
    digests: int = 0
    by_stage: Counter[str] = field(default_factory=Counter)
    skipped_by_stage: Counter[str] = field(default_factory=Counter)
    by_unit: Counter[str] = field(default_factory=Counter)
    undeliverable: Counter[str] = field(default_factory=Counter)
    previews: list[Digest] = field(default_factory=list)
    emails: list[EmailStat] = field(default_factory=list)
    #: Officials left out today because their name or address cannot be encoded (also in a dry run).
    problems: list[str] = field(default_factory=list)
    #: Seconds per step (facts, decisions, routing, composing, rendering, writes): for operators and the benchmark.
    timings: Counter[str] = field(default_factory=Counter)

    def to_json(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(), "rest_day": self.rest_day, "dry_run": self.dry_run,
            "candidates": self.candidates, "sent": self.sent, "skipped": self.skipped, "digests": self.digests,
            "by_stage": dict(self.by_stage), "skipped_by_stage": dict(self.skipped_by_stage),
            "by_unit": dict(self.by_unit), "undeliverable_units": dict(self.undeliverable),
            "problems": list(self.problems),
            "timings": {k: round(v, 4) for k, v in self.timings.items()},
        }


class Planned(NamedTuple):
    """A decision of the tick, without its occurrence: shared by every occurrence with the same facts."""

    stage: str
    action: str  # "send" | "skip"
    repeat: int | None


@dataclass(kw_only=True)
class _Day:
    """The working state of one tick, passed from step to step."""

    as_of: dt.date
    result: TickResult
    rerun: bool
    facts: dict[int, Fact] = field(default_factory=dict)
    recorded: dict[int, tuple[frozenset[str], int]] = field(default_factory=dict)
    #: (occurrence id, decision) in occurrence order, then policy order.
    decisions: list[tuple[int, Planned]] = field(default_factory=list)
    boxes: dict[str, Mailbox] = field(default_factory=dict)
    record_key: dict[int, str] = field(default_factory=dict)  # index in ``decisions`` → address it went to
    digests: list[Digest] = field(default_factory=list)
    keys: dict[str, str] = field(default_factory=dict)  # address → outbox key
    #: (role, unit id | directory) → officials of that slot who cannot be written to.
    refused: dict[tuple[str, Any], list[Refused]] = field(default_factory=dict)
    #: directory → notes for its supervising office about officials left out today.
    problems: dict[str, dict[str, None]] = field(default_factory=dict)
    rows: list[dict[str, Any]] = field(default_factory=list)
    files: list[dict[str, Any]] = field(default_factory=list)


_CHECKIN_LABELS = {"before_5": "请于5个工作日内报送进展情况", "due_day": "今日报送进展情况",
                   "overdue_1": "进展情况未按时报送（催报）"}
_ROLE_ZH = {"clerk": "经办人", "leader": "负责同志", "supervisor": "督查室"}


class Ticker:
    """Runs ticks against one store with one policy, calendar and renderer."""

    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        calendar: WorkingCalendar,
        policy: ReminderPolicy,
        evaluate: Evaluator,
        sender: str,
        message_id_domain: str,
        dashboard_url: str,
        working_days_only: bool = True,
        renderer: DigestRenderer | None = None,
        scores: ScoresFn | None = None,
        co_units: CoUnitsFn | None = None,
        proposals: NotesFn | None = None,
    ) -> None:
        self.sessions = sessions
        self.calendar = calendar
        self.policy = policy
        self.evaluate = evaluate
        self.sender = sender
        self.message_id_domain = message_id_domain
        self.dashboard_url = dashboard_url.rstrip("/")
        self.working_days_only = working_days_only
        self.renderer = renderer
        self.scores = scores
        self.co_units = co_units
        self.proposals = proposals
        self.stage_index = {stage.id: i for i, stage in enumerate(policy.stages)}
        self.stages = {stage.id: stage for stage in policy.stages}
        # How far ahead a candidate can be: the longest lead time of any stage, and the "due soon" window.
        self.max_lead = max(0, policy.yellow_within, *(stage.when.threshold for stage in policy.stages))

    # ------------------------------------------------------------------ the tick

    def tick(self, as_of: dt.date, *, dry_run: bool = False) -> TickResult:
        """Evaluate every candidate as of ``as_of``; write decisions and digests (unless dry run)."""
        result = TickResult(as_of=as_of, dry_run=dry_run)
        if self.working_days_only and not self.calendar.is_workday(as_of):
            # No mail on rest days: the next working day's tick catches up.
            result.rest_day = True
            return result
        # One transaction: committed at the end, or nothing.
        with collector_paused(), self.sessions() as session:
            rerun = session.execute(select(TickRun.id).where(TickRun.as_of == as_of, TickRun.status == "done")
                                    .limit(1)).first() is not None
            day = _Day(as_of=as_of, result=result, rerun=rerun)
            self._timed("facts", result, self._facts, session, day)
            self._timed("decisions", result, self._decisions, day)
            self._timed("routing", result, self._routing, session, day)
            self._timed("composing", result, self._composing, session, day)
            # Rendering is pure: a dry run renders too, so it meets (and shows) the same problems.
            self._timed("rendering", result, self._rendering, session, day)
            if dry_run:
                result.previews.extend(day.digests)
                return result  # the session closes without a commit: nothing written
            self._timed("writes", result, self._writes, session, day)
            session.commit()
        return result

    @staticmethod
    def _timed(name: str, result: TickResult, step: Callable[..., None], *args: Any) -> None:
        started = time.perf_counter()
        step(*args)
        result.timings[name] += time.perf_counter() - started

    # ------------------------------------------------------------------ 1. facts

    def _facts(self, session: Session, day: _Day) -> None:
        """Every open occurrence of a live obligation due up to the horizon, with its display data."""
        horizon = self.calendar.add_workdays(day.as_of, self.max_lead)
        day.facts = load_facts(session, self.calendar, day.as_of, horizon)
        day.result.candidates = len(day.facts)
        day.recorded = load_recorded(session, list(day.facts))

    # ------------------------------------------------------------------ 2. decisions

    def _decisions(self, day: _Day) -> None:
        """The rules decide per distinct fact tuple; a check-in keeps only the policy's check-in stages.

        Decisions depend only on (working days to due, stages recorded,
        repeats recorded), so the ruleset is evaluated once per distinct tuple
        (:func:`~.decide.decide_distinct`) and each occurrence takes its
        tuple's decisions, in occurrence order then policy order.
        """
        facts = day.facts
        recorded = day.recorded
        none: tuple[frozenset[str], int] = (frozenset(), 0)
        keys: dict[int, FactKey] = {}
        for oid, fact in facts.items():
            stages, repeats = recorded.get(oid, none)
            keys[oid] = (fact.wd, stages, repeats)
        verdicts = decide_distinct(self.policy, keys.values(), self.evaluate)
        keep = set(self.policy.checkin_stages or ())
        # Per tuple and check-in or not: the decisions each such occurrence gets (shared, immutable).
        plans: dict[tuple[FactKey, bool], tuple[Planned, ...]] = {}
        sent: Counter[tuple[str, str]] = Counter()  # (stage, unit) → sent
        skipped: Counter[str] = Counter()
        decisions = day.decisions
        for oid, key in keys.items():
            fact = facts[oid]
            plan = plans.get((key, fact.checkin))
            if plan is None:
                plan = plans[(key, fact.checkin)] = tuple(
                    Planned(d.stage, "skip" if d.action == "send" and fact.checkin and d.stage not in keep
                            else d.action, d.repeat) for d in verdicts[key].decisions)
            for planned in plan:
                decisions.append((oid, planned))
                if planned.action == "send":
                    sent[(planned.stage, fact.unit)] += 1
                else:
                    skipped[planned.stage] += 1
        result = day.result
        for (stage, unit), n in sent.items():
            result.sent += n
            result.by_stage[stage] += n
            result.by_unit[unit] += n
        result.skipped = sum(skipped.values())
        result.skipped_by_stage.update(skipped)

    # ------------------------------------------------------------------ 3. routing

    def _routing(self, session: Session, day: _Day) -> None:
        """Sent stages to mailboxes by address; on the weekly day, what is still open too."""
        facts = day.facts
        sent_reqs = list(dict.fromkeys(facts[oid].requirement_id for oid, d in day.decisions if d.action == "send"))
        co = dict(self.co_units(session, sent_reqs)) if self.co_units is not None and sent_reqs else {}
        unit_ids = {f.unit_id for f in facts.values()} | {uid for units in co.values() for uid, _name in units}
        people = self._people(session, day, unit_ids, {f.directory for f in facts.values()})
        # (stage, role, unit id, unit, directory) → the section lists and addresses a sent stage goes to:
        # computed once (finding the people and opening their mailboxes is the same every time).
        targets: dict[tuple[str, str, int, str, str], list[tuple[list[Sent], str]]] = {}
        labels: dict[tuple[str, bool], str] = {}
        for index, (oid, d) in enumerate(day.decisions):
            if d.action != "send":
                continue
            fact = facts[oid]
            label = labels.get((d.stage, fact.checkin))
            if label is None:
                label = labels[(d.stage, fact.checkin)] = _CHECKIN_LABELS.get(
                    d.stage, self.stages[d.stage].label) if fact.checkin else self.stages[d.stage].label
            sent = Sent(fact=fact, stage=d.stage, label=label)
            delivered = False
            for role in self.stages[d.stage].to:
                key = (d.stage, role, fact.unit_id, fact.unit, fact.directory)
                reached = targets.get(key)
                if reached is None:
                    reached = targets[key] = self._targets(day, people, role, fact)
                for section, email in reached:
                    section.append(sent)
                    day.record_key.setdefault(index, email)
                    delivered = True
            if not delivered:
                self._undeliverable(day, people, sent, d, index)
            if "clerk" in self.stages[d.stage].to:
                self._copy_co_units(day, people, sent, co.get(fact.requirement_id, ()))
        if not day.rerun:
            self._state_sections(session, day, people)
            self._notes(session, day, people)
        self._problem_notes(day, people)

    def _targets(self, day: _Day, people: dict[tuple[str, Any], list[Person]], role: str,
                 fact: Fact) -> list[tuple[list[Sent], str]]:
        """The section lists (and addresses) of the mailboxes ``role`` reaches for ``fact``, opening them."""
        kind: SectionKind = "changes" if role == "clerk" else "escalation"
        out = []
        for person in self._reach(day, people, _who(role, fact), fact.directory):
            box = self._box(day, person, role, fact.unit, fact.directory)
            out.append((box.sent[(kind, role)], person.email))  # type: ignore[index]
        return out

    def _copy_co_units(self, day: _Day, people: dict[tuple[str, Any], list[Person]], sent: Sent,
                       co_units: Sequence[tuple[int, str]]) -> None:
        """Copy (抄送) the clerks of the requirement's co-units on a change of the lead's item.

        A copy is information, not a duty: it is not a stage record of the
        co-unit, it never escalates, and it shares the co-unit's one email of
        the day (its own section, 配合事项).
        """
        for unit_id, unit in co_units:
            if unit_id == sent.fact.unit_id:
                continue
            for person in self._reach(day, people, ("clerk", unit_id), sent.fact.directory):
                box = self._box(day, person, "clerk", unit, sent.fact.directory)
                box.sent[("cc", "clerk")].append(sent)

    def _box(self, day: _Day, person: Person, role: str, unit: str | None, directory: str | None) -> Mailbox:
        box = day.boxes.get(person.email)
        if box is None:
            box = day.boxes[person.email] = Mailbox(email=person.email, name=person.name)
        box.roles.add(role)
        if unit is not None:
            box.units[unit] = None
        if directory is not None:
            box.directories.add(directory)
        return box

    @staticmethod
    def _reach(day: _Day, people: dict[tuple[str, Any], list[Person]], slot: tuple[str, Any],
               directory: str) -> list[Person]:
        """The people of ``slot``; any official of it who cannot be written to is noted for ``directory``."""
        for refused in day.refused.get(slot, ()):
            day.problems.setdefault(directory, {})[refused.note()] = None
        return people.get(slot, [])

    def _problem_notes(self, day: _Day, people: dict[tuple[str, Any], list[Person]]) -> None:
        """Tell each supervising office which of its officials were left out today (once per note)."""
        for directory, notes in sorted(day.problems.items()):
            day.result.problems.extend(n for n in notes if n not in day.result.problems)
            for sup in people.get(("supervisor", directory), []):
                box = self._box(day, sup, "supervisor", None, directory)
                box.notes.extend(n for n in notes if n not in box.notes)
                box.flags.add("recipient_problem")

    def _undeliverable(self, day: _Day, people: dict[tuple[str, Any], list[Person]], sent: Sent,
                       d: Planned, index: int) -> None:
        """Never skipped silently: the supervising office gets the item and the reason."""
        fact = sent.fact
        day.result.undeliverable[fact.unit] += 1
        role = self.stages[d.stage].to[0] if self.stages[d.stage].to else "clerk"
        for sup in people.get(("supervisor", fact.directory), []):
            box = self._box(day, sup, "supervisor", None, fact.directory)
            box.sent[("changes", "supervisor")].append(sent)
            box.notes.append(f"单位「{fact.unit}」没有有效的{_ROLE_ZH.get(role, '联系人')}邮箱，"
                             f"第{fact.task_no}项第{fact.requirement_no}条的提醒改送督查室。")
            day.record_key.setdefault(index, sup.email)

    def _state_sections(self, session: Session, day: _Day, people: dict[tuple[str, Any], list[Person]]) -> None:
        """Summaries for today's escalations and, on the weekly day, the weekly repeat and the 督办通报."""
        weekly = self.policy.is_weekly_day(day.as_of, self.calendar.is_workday)
        open_facts = list(day.facts.values())
        late = [f for f in open_facts if f.wd < 0]
        by_unit: dict[int, list[Fact]] = defaultdict(list)
        by_dir: dict[str, list[Fact]] = defaultdict(list)
        for f in late:
            by_unit[f.unit_id].append(f)
            by_dir[f.directory].append(f)
        units = {f.unit_id: (f.unit, f.directory) for f in open_facts}
        yw = self.policy.yellow_within
        for unit_id, (unit, directory) in units.items():
            weekly_late = weekly and any(not f.checkin for f in by_unit.get(unit_id, []))
            leaders = self._reach(day, people, ("leader", unit_id), directory) if weekly_late \
                else people.get(("leader", unit_id), [])
            for person in leaders:
                escalating = ("escalation", "leader") in day.boxes.get(person.email, Mailbox(email="", name="")).sent
                kind: SectionKind = "escalation" if escalating else "weekly"
                if not (escalating or weekly_late):
                    continue
                box = self._box(day, person, "leader", unit, directory)
                box.state[(kind, "leader")].extend(f for f in by_unit.get(unit_id, []) if not f.checkin)
                box.links[(kind, "leader")] = f"{self.dashboard_url}/units/{unit_id}?as_of={day.as_of}"
            if weekly and by_unit.get(unit_id):
                for person in self._reach(day, people, ("clerk", unit_id), directory):
                    box = self._box(day, person, "clerk", unit, directory)
                    box.state[("weekly", "clerk")].extend(by_unit[unit_id])
                    box.links[("weekly", "clerk")] = f"{self.dashboard_url}/home?as_of={day.as_of}"
        every_unit: tuple[UnitSummary, ...] | None = None  # every unit's row, worst first: computed once
        for box in day.boxes.values():
            for kind in ("escalation", "weekly"):
                if (kind, "leader") in box.state or (kind, "leader") in box.sent:
                    if every_unit is None:
                        every_unit = unit_summaries(open_facts, yellow_within=yw)
                    # = unit_summaries(open_facts, yellow_within=yw, units=box.units): rows are per unit
                    box.summary[(kind, "leader")] = tuple(r for r in every_unit if r.unit in box.units)
        for directory in {d for _u, d in units.values()}:
            self._supervisor_sections(session, day, people, directory, by_dir.get(directory, []), weekly)

    def _supervisor_sections(self, session: Session, day: _Day, people: dict[tuple[str, Any], list[Person]], directory: str,
                             late: list[Fact], weekly: bool) -> None:
        scope = [f for f in day.facts.values() if f.directory == directory]
        ranking: tuple[RankRow, ...] = ()
        chart = b""
        if weekly and self.scores is not None:
            ranking = ranked(self.scores(session, day.as_of, directory))
            if ranking:
                iso = day.as_of.isocalendar()
                chart = ranking_chart(ranking, title=f"督办通报（{iso.year}年第{iso.week}周）按时完成率")
        summary: tuple[UnitSummary, ...] | None = None
        for person in people.get(("supervisor", directory), []):
            escalating = ("escalation", "supervisor") in day.boxes.get(person.email, Mailbox(email="", name="")).sent
            if not escalating and not (weekly and (late or ranking)):
                continue
            box = self._box(day, person, "supervisor", None, directory)
            kind: SectionKind = "escalation" if escalating else "weekly"
            box.state[(kind, "supervisor")].extend(f for f in late if not f.checkin)
            if summary is None:
                summary = unit_summaries(scope, yellow_within=self.policy.yellow_within)
            box.summary[(kind, "supervisor")] = summary
            box.links[(kind, "supervisor")] = f"{self.dashboard_url}/bulletin?as_of={day.as_of}"
            if ranking:
                box.ranking, box.chart = ranking, chart
                box.links[("bulletin", "supervisor")] = f"{self.dashboard_url}/bulletin?as_of={day.as_of}"
        self._proposal_notes(session, day, people, directory, weekly)

    def _proposal_notes(self, session: Session, day: _Day, people: dict[tuple[str, Any], list[Person]],
                        directory: str, weekly: bool) -> None:
        """Pending inbox proposals: in the office's weekly digest, and in any email it gets anyway."""
        if self.proposals is None:
            return
        lines = self.proposals(session, directory)
        if not lines:
            return
        for person in people.get(("supervisor", directory), []):
            if weekly or person.email in day.boxes:
                box = self._box(day, person, "supervisor", None, directory)
                box.notes.extend(line for line in lines if line not in box.notes)

    def _notes(self, session: Session, day: _Day, people: dict[tuple[str, Any], list[Person]]) -> None:
        """Failed deliveries since the last working day and the calendar's end, for every supervisor."""
        failed = self._failed_deliveries(session, day.as_of)
        notes = [*failed, *self._calendar_warning(day.as_of)]
        if not notes:
            return
        supervisors = [(Person(email=e, name=n), d) for n, e, d in session.execute(
            select(Official.name, Official.email, Unit.directory).join(Unit, Unit.id == Official.unit_id)
            .where(Unit.is_supervisor.is_(True), Official.role.in_(("clerk", "leader"))).order_by(Official.id))
            if recipient_problem(n, e) is None]
        for person, directory in supervisors:
            box = self._box(day, person, "supervisor", None, directory)
            box.notes.extend(notes)
            if failed:
                box.flags.add("delivery_failed")

    def _failed_deliveries(self, session: Session, as_of: dt.date) -> list[str]:
        """A 5xx answer marks an outbox row ``failed``; never dropped silently: told the next working day."""
        prev = as_of - dt.timedelta(days=1)
        while not self.calendar.is_workday(prev):
            prev -= dt.timedelta(days=1)
        failed = session.execute(
            select(Notification.recipient, Notification.recipient_role, Notification.scheduled_for,
                   Notification.last_error)
            .where(Notification.status == "failed", Notification.scheduled_for >= prev,
                   Notification.scheduled_for < as_of).order_by(Notification.id)).all()
        return [f"{d} 发给{_ROLE_ZH.get(role, role)} {to} 的督办邮件被邮件服务器拒收（{error or '未知原因'}），"
                f"请核实其邮箱并电话通知。" for to, role, d, error in failed]

    def _calendar_warning(self, as_of: dt.date) -> list[str]:
        """Warn 60 days before the calendar's last covered day: on that day, then in every weekly digest."""
        last = dt.date(self.calendar.span[1], 12, 31)
        left = (last - as_of).days
        if left > CALENDAR_WARNING_DAYS:
            return []
        prev = as_of - dt.timedelta(days=1)
        while self.calendar.covers(prev) and not self.calendar.is_workday(prev):
            prev -= dt.timedelta(days=1)
        first = (last - prev).days > CALENDAR_WARNING_DAYS
        if not first and not self.policy.is_weekly_day(as_of, self.calendar.is_workday):
            return []
        return [f"工作日历只覆盖到{cn_date(last)}（还剩{left}天）。请在国务院办公厅公布{last.year + 1}年节假日安排后，"
                f"将其加入日历目录（见 docs/calendar.md），否则{last.year + 1}年的截止日期无法计算。"]

    # ------------------------------------------------------------------ 4. composing

    def _composing(self, session: Session, day: _Day) -> None:
        day.keys = self._digest_keys(session, day.as_of, day.boxes)
        for address, box in sorted(day.boxes.items()):
            digest = self._compose(day, box, day.keys[address])
            if digest is not None:
                day.digests.append(digest)
        day.result.digests = len(day.digests)

    def _compose(self, day: _Day, box: Mailbox, key: str) -> Digest | None:
        if box.empty:
            return None
        digest = compose(box, key=key, as_of=day.as_of, policy=self.policy, dashboard_url=self.dashboard_url)
        return digest if digest.sections or digest.notes else None

    # ------------------------------------------------------------------ 5. rendering

    def _rendering(self, session: Session, day: _Day) -> None:
        """Render every digest; one that cannot be rendered fails alone and is reported.

        A name, address or unit name that cannot go into a header (or an
        edited template that fails) costs that one email, never the batch:
        its changes go to the supervising office of their plan instead, with a
        note saying why, and the tick's result lists the problem (in a dry run
        too). The office's digest is composed again with the note.
        """
        failed: list[Digest] = []
        for digest in day.digests:
            try:
                self._render_one(day, digest)
            except (HeaderValueError, DigestTemplateError) as exc:
                failed.append(digest)
                self._reroute(day, digest, exc)
        if not failed:
            return
        day.digests = [d for d in day.digests if d not in failed]
        supervisors = self._supervisors(session, set(day.problems))
        for digest in failed:
            for directory in day.boxes[digest.recipient_email].directories:
                for sup in supervisors.get(("supervisor", directory), []):
                    self._reroute_to(day, day.boxes[digest.recipient_email], sup, directory)
        self._problem_notes(day, supervisors)
        dead = {d.recipient_email for d in failed}
        rendered = {d.recipient_email: d for d in day.digests}
        for address, box in sorted(day.boxes.items()):
            if address in dead or "recipient_problem" not in box.flags:
                continue
            if address not in day.keys:
                day.keys.update(self._digest_keys(session, day.as_of, [address]))
            digest = self._compose(day, box, day.keys[address])
            if digest is None:
                continue
            if address in rendered:
                self._unrender(day, rendered[address])
            day.digests.append(digest)
            try:
                self._render_one(day, digest)
            except (HeaderValueError, DigestTemplateError) as exc:  # the office's own entry is bad too
                day.digests.remove(digest)
                day.result.problems.append(f"{address!r}: {exc}")
        day.result.digests = len(day.digests)

    def _reroute(self, day: _Day, digest: Digest, exc: Exception) -> None:
        """Note a digest that cannot be rendered, for the supervising offices of its units."""
        box = day.boxes[digest.recipient_email]
        note = (f"发给 {digest.recipient_name!r} <{digest.recipient_email!r}> 的督办邮件无法生成（{exc}），"
                f"其中今日的提醒改送督查室，请更正单位名录或模板。")
        for directory in box.directories:
            day.problems.setdefault(directory, {})[note] = None
        if not box.directories:
            day.result.problems.append(note)

    def _reroute_to(self, day: _Day, box: Mailbox, sup: Person, directory: str) -> None:
        """Hand today's changes of a failed mailbox (those of ``directory``) to a supervisor."""
        target = self._box(day, sup, "supervisor", None, directory)
        moved = [s for sents in box.sent.values() for s in sents if s.fact.directory == directory]
        target.sent[("changes", "supervisor")].extend(moved)
        keys = {s.fact.occurrence_id for s in moved}
        for index, (oid, _d) in enumerate(day.decisions):
            if day.record_key.get(index) == box.email and oid in keys:
                day.record_key[index] = sup.email

    @staticmethod
    def _unrender(day: _Day, digest: Digest) -> None:
        day.digests.remove(digest)
        day.rows = [r for r in day.rows if r["key"] != digest.key]
        day.files = [f for f in day.files if f["notification_key"] != digest.key]
        day.result.emails = [e for e in day.result.emails if e.key != digest.key]

    def _render_one(self, day: _Day, digest: Digest) -> None:
        """Render one digest into an outbox row, its files and its volume figures."""
        msg = render_digest(digest, sender=self.sender, message_id_domain=self.message_id_domain,
                            renderer=self.renderer)
        changes = [i for s in digest.sections if s.kind != "weekly" for i in s.items if i.stage != "weekly"]
        day.rows.append({
            "key": digest.key, "recipient": digest.recipient_email, "recipient_name": digest.recipient_name,
            "recipient_role": digest.recipient_role, "stage": self._row_stage(day, digest, changes),
            "obligation_ids": sorted({o for i in digest.items for o in (i.obligation_ids or (i.obligation_id,))}),
            "due": min((i.due for i in digest.items), default=None), "scheduled_for": day.as_of,
            "status": "pending", "attempts": 0, "message_id": msg.message_id, "subject": msg.subject,
            "body_text": msg.text, "body_html": msg.html,
        })
        day.files.extend({"notification_key": digest.key, "position": n, "filename": a.filename,
                          "content_type": a.content_type, "content_id": a.content_id or None, "data": a.data}
                         for n, a in enumerate(msg.attachments))
        day.result.emails.append(EmailStat(key=digest.key, recipient=digest.recipient_email,
                                           cards=digest.inline_items, changes=len(changes),
                                           sections=tuple(s.kind for s in digest.sections),
                                           repeated=_repeated_cards(digest)))

    def _row_stage(self, day: _Day, digest: Digest, changes: Sequence[DigestItem]) -> str:
        """The outbox row's stage: the most advanced change, else what the email is for."""
        if changes:
            return max((i.stage for i in changes), key=lambda s: self.stage_index.get(s, -1))
        flags = day.boxes[digest.recipient_email].flags
        for flag in ("delivery_failed", "recipient_problem"):
            if flag in flags:
                return flag
        if any(s.kind == "bulletin" for s in digest.sections):
            return "bulletin"
        return "weekly" if digest.sections else "notice"

    # ------------------------------------------------------------------ 6. writes

    def _writes(self, session: Session, day: _Day) -> None:
        keys = {d.recipient_email: d.key for d in day.digests}
        now = audit.utcnow()
        to = day.record_key
        records = [(oid, d.stage, d.repeat or 0, d.action, keys.get(to.get(index, "")))
                   for index, (oid, d) in enumerate(day.decisions)]
        for row in day.rows:
            row["created_at"] = now
        insert_stage_records(session, records, tick_date=day.as_of, recorded_at=now)
        bulk_insert(session, Notification.__table__, day.rows)
        bulk_insert(session, NotificationAttachment.__table__, day.files)
        result = day.result
        audit.append(session, actor="scheduler", source="scheduler", action="tick.decided",
                     object_type="tick", object_id=day.as_of.isoformat(),
                     after={"sent": result.sent, "skipped": result.skipped, "digests": len(day.rows),
                            "policy": self.policy.policy_hash})
        session.add(TickRun(as_of=day.as_of, status="done", counts=result.to_json(), finished_at=audit.utcnow()))

    # ------------------------------------------------------------------ helpers

    def _people(self, session: Session, day: _Day, unit_ids: Iterable[int],
                directories: Iterable[str]) -> dict[tuple[str, Any], list[Person]]:
        """Writable addresses by (role, unit id) and the supervisors by (\"supervisor\", directory).

        An official with no address is simply absent (the item goes to the
        supervising office, see :meth:`_undeliverable`); one whose name or
        address cannot be encoded is kept in ``day.refused`` to be reported.
        """
        out: dict[tuple[str, Any], list[Person]] = defaultdict(list)
        for chunk in chunked(list(unit_ids), 5000):
            for o in session.execute(select(Official.unit_id, Official.name, Official.role, Official.email,
                                            Unit.name).join(Unit, Unit.id == Official.unit_id)
                                     .where(Official.unit_id.in_(chunk)).order_by(Official.id)):
                if o.role in ("clerk", "leader", "contact") and o.email:
                    role = "clerk" if o.role == "contact" else o.role
                    self._admit(day, out, (role, o.unit_id), o.name, o.email, o[4], role)
        dirs = list(directories)
        if dirs:
            for directory, name, role, email, unit in session.execute(
                select(Unit.directory, Official.name, Official.role, Official.email, Unit.name)
                .join(Unit, Unit.id == Official.unit_id)
                .where(Unit.is_supervisor.is_(True), Unit.directory.in_(dirs)).order_by(Official.id)
            ):
                if role in ("clerk", "leader") and email:
                    self._admit(day, out, ("supervisor", directory), name, email, unit, "supervisor")
        return {k: list(dict.fromkeys(v)) for k, v in out.items()}

    @staticmethod
    def _admit(day: _Day, out: dict[tuple[str, Any], list[Person]], slot: tuple[str, Any], name: str,
               email: str, unit: str, role: str) -> None:
        problem = recipient_problem(name, email)
        if problem is None:
            out[slot].append(Person(email=email, name=name))
        else:
            day.refused.setdefault(slot, []).append(
                Refused(unit=unit, role=role, name=name, email=email, reason=problem))

    def _supervisors(self, session: Session, directories: set[str]) -> dict[tuple[str, Any], list[Person]]:
        """The supervising offices' writable addresses for ``directories``."""
        out: dict[tuple[str, Any], list[Person]] = defaultdict(list)
        for directory, name, email in session.execute(
                select(Unit.directory, Official.name, Official.email).join(Unit, Unit.id == Official.unit_id)
                .where(Unit.is_supervisor.is_(True), Unit.directory.in_(sorted(directories)),
                       Official.role.in_(("clerk", "leader"))).order_by(Official.id)):
            if recipient_problem(name, email) is None:
                out[("supervisor", directory)].append(Person(email=email, name=name))
        return {k: list(dict.fromkeys(v)) for k, v in out.items()}

    def _digest_keys(self, session: Session, as_of: dt.date, addresses: Iterable[str]) -> dict[str, str]:
        """One key per address and day; a second tick on the same day (new changes only) gets ``#2``…"""
        prefix = f"{as_of.isoformat()}/"
        taken = Counter(key.split("#", 1)[0] for key in session.scalars(
            select(Notification.key).where(Notification.scheduled_for == as_of, Notification.key.startswith(prefix))))
        out: dict[str, str] = {}
        for address in addresses:
            base = f"{prefix}{address}"
            n = taken[base]
            out[address] = base if n == 0 else f"{base}#{n + 1}"
        return out


def _repeated_cards(digest: Digest) -> int:
    """How many inline cards repeat a (plan, task, requirement, unit) shown earlier in the email."""
    keys = [(i.plan_title, i.task_no, i.requirement_no, i.unit) for s in digest.sections for i in s.items]
    return len(keys) - len(set(keys))


def _who(role: str, fact: Fact) -> tuple[str, Any]:
    return ("supervisor", fact.directory) if role == "supervisor" else (role, fact.unit_id)


