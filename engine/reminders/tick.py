"""The tick (巡检): one evaluation of every reminder due as of a day.

``Ticker.tick(as_of)`` is duban's main job. It

1. picks **candidates** with one indexed SQL query: open due instances of live
   obligations whose date is at most the policy's longest lead time ahead
   (everything already overdue is included — catch-up after downtime is
   built in, not a special path);
2. computes each candidate's *fact* with the explicit clock ``as_of``: signed
   working days to the due date on the official calendar, and the stages
   already recorded for it;
3. asks the ruleset (durable-rules, with its plain-Python twin checked in the
   tests) which stages to **send** and which to **skip** (a stage overtaken
   by a later one after downtime is recorded as skipped, never sent late in a
   storm);
4. groups the items to send into **one digest per recipient** (unit clerks,
   unit leaders, the supervising office), renders it (Chinese, text + HTML),
   and writes the stage records and the outbox rows **in one transaction per
   batch**. The unique key on (occurrence, stage, repeat) makes a crashed and
   re-run tick unable to record — or send — anything twice.

Delivery is separate (:mod:`duban.engine.reminders.delivery`): it hands pending outbox
rows to the notifier after the decisions are committed. Nothing here reads
the wall clock; ``as_of`` is the only notion of "today".
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from ...notifiers.model import Digest, DigestItem
from ...notifiers.abc import HeaderValueError
from ...notifiers.render import DigestRenderer, check_address, render_digest
from ...store import audit
from ...store.bulk import bulk_insert
from ...store.models import (
    DeadlineEntry,
    Notification,
    Obligation,
    Occurrence,
    Official,
    Plan,
    Requirement,
    StageRecord,
    Task,
    TickRun,
    Unit,
)
from ..deadlines.calendar import WorkingCalendar
from .decide import Candidate, Decision, Evaluator, evaluate_and_decide
from .policy import ReminderPolicy



def valid_email(address: str | None) -> bool:
    """Whether a directory address can receive mail: the notifiers' own strict check.

    The same parser that builds the headers decides, so an address the tick
    accepts is one the message can carry (no CR/LF tricks, a dotted host).
    """
    if not address:
        return False
    try:
        check_address("recipient", address)
    except HeaderValueError:
        return False
    return True


@dataclass(frozen=True, kw_only=True, slots=True)
class Recipient:
    email: str
    name: str
    role: str  # clerk | leader | supervisor


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
    #: Seconds per phase (select, decide, compose, write): for operators and the benchmark.
    timings: Counter[str] = field(default_factory=Counter)

    def to_json(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(), "rest_day": self.rest_day, "dry_run": self.dry_run,
            "candidates": self.candidates, "sent": self.sent, "skipped": self.skipped, "digests": self.digests,
            "by_stage": dict(self.by_stage), "skipped_by_stage": dict(self.skipped_by_stage),
            "by_unit": dict(self.by_unit), "undeliverable_units": dict(self.undeliverable),
            "timings": {k: round(v, 4) for k, v in self.timings.items()},
        }


@dataclass(frozen=True, kw_only=True, slots=True)
class _ItemInfo:
    occurrence_id: int
    occurrence_key: str
    due: dt.date
    obligation_id: int
    unit_id: int
    unit: str
    directory: str
    plan_title: str
    task_no: int
    task_title: str
    requirement_no: int
    requirement_text: str
    phrase: str


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
        batch_size: int = 50_000,
        renderer: DigestRenderer | None = None,
    ) -> None:
        self.sessions = sessions
        self.calendar = calendar
        self.policy = policy
        self.evaluate = evaluate
        self.sender = sender
        self.message_id_domain = message_id_domain
        self.dashboard_url = dashboard_url.rstrip("/")
        self.working_days_only = working_days_only
        self.batch_size = batch_size
        self.renderer = renderer
        self.stage_index = {stage.id: i for i, stage in enumerate(policy.stages)}
        self.stages = {stage.id: stage for stage in policy.stages}
        # How far ahead a candidate can be: the longest lead time of any stage.
        self.max_lead = max(0, *(stage.when.threshold for stage in policy.stages))

    # ------------------------------------------------------------------ the tick

    def tick(self, as_of: dt.date, *, dry_run: bool = False) -> TickResult:
        """Evaluate every candidate as of ``as_of``; write decisions and digests (unless dry run)."""
        result = TickResult(as_of=as_of, dry_run=dry_run)
        if self.working_days_only and not self.calendar.is_workday(as_of):
            # No mail on rest days: the next working day's tick catches up.
            result.rest_day = True
            return result
        horizon = self.calendar.add_workdays(as_of, self.max_lead)
        started = time.perf_counter()
        with self.sessions() as session:
            rows = self._candidate_rows(session, horizon)
            recorded = self._recorded(session, horizon)
        result.timings["select"] += time.perf_counter() - started
        result.candidates = len(rows)
        for start in range(0, len(rows), self.batch_size):
            batch = rows[start:start + self.batch_size]
            self._batch(batch, recorded, as_of, result)
        self._report_failed_deliveries(as_of, result)
        if not dry_run:
            with self.sessions() as session, session.begin():
                session.add(TickRun(as_of=as_of, status="done", counts=result.to_json(),
                                    finished_at=audit.utcnow()))
        return result

    def _candidate_rows(self, session: Session, horizon: dt.date) -> list[tuple[int, dt.date]]:
        stmt = (
            select(Occurrence.id, Occurrence.due)
            .join(Obligation, Obligation.id == Occurrence.obligation_id)
            .where(Occurrence.state == "open", Occurrence.due <= horizon, Obligation.state == "active")
            .order_by(Occurrence.id)
        )
        return [(oid, due) for oid, due in session.connection().execute(stmt)]

    def _recorded(self, session: Session, horizon: dt.date) -> dict[int, tuple[set[str], int]]:
        """Stages already recorded per candidate occurrence, and the highest repeat index.

        Grouped in SQL: an occurrence overdue for months has one row per repeat,
        but the decision only needs the stage set and the top repeat.
        """
        stmt = (
            select(StageRecord.occurrence_id, StageRecord.stage, func.max(StageRecord.repeat))
            .join(Occurrence, Occurrence.id == StageRecord.occurrence_id)
            .where(Occurrence.state == "open", Occurrence.due <= horizon)
            .group_by(StageRecord.occurrence_id, StageRecord.stage)
        )
        out: dict[int, tuple[set[str], int]] = {}
        for oid, stage, repeat in session.connection().execute(stmt):
            entry = out.get(oid)
            if entry is None:
                entry = out[oid] = (set(), 0)
            entry[0].add(stage)
            if repeat and repeat > entry[1]:
                out[oid] = (entry[0], repeat)
        return out

    def _batch(self, rows: Sequence[tuple[int, dt.date]], recorded: dict[int, tuple[set[str], int]],
               as_of: dt.date, result: TickResult) -> None:
        started = time.perf_counter()
        between = self.calendar.workdays_between
        candidates = []
        wd_by_occ: dict[int, int] = {}
        for oid, due in rows:
            wd = between(as_of, due)
            wd_by_occ[oid] = wd
            stages, top = recorded.get(oid, (set(), 0))
            candidates.append(Candidate(id=f"occ:{oid}", wd_to_due=wd, recorded=frozenset(stages),
                                        repeats_recorded=top))
        verdicts = evaluate_and_decide(self.policy, candidates, self.evaluate)
        decisions: list[Decision] = [d for v in verdicts for d in v.decisions]
        colours: dict[str, str] = {v.candidate_id: v.colour for v in verdicts}
        result.timings["decide"] += time.perf_counter() - started
        if not decisions:
            return
        started = time.perf_counter()
        send_ids = sorted({int(d.candidate_id.split(":", 1)[1]) for d in decisions if d.action == "send"})
        with self.sessions() as session:  # one transaction per batch: committed at the end, or nothing
            info = self._item_info(session, send_ids)
            recipients = self._recipients(session, {i.unit_id for i in info.values()},
                                          {i.directory for i in info.values()})
            digests: dict[Recipient, list[DigestItem]] = defaultdict(list)
            notes: dict[Recipient, list[str]] = defaultdict(list)
            records: list[dict[str, Any]] = []
            item_keys: dict[int, list[tuple[Recipient, str]]] = defaultdict(list)
            for d in decisions:
                oid = int(d.candidate_id.split(":", 1)[1])
                rec = {"occurrence_id": oid, "stage": d.stage, "repeat": d.repeat or 0, "action": d.action,
                       "tick_date": as_of, "notification_key": None}
                records.append(rec)
                if d.action != "send":
                    result.skipped += 1
                    result.skipped_by_stage[d.stage] += 1
                    continue
                result.sent += 1
                result.by_stage[d.stage] += 1
                item = info[oid]
                result.by_unit[item.unit] += 1
                digest_item = self._digest_item(item, d, wd_by_occ[oid], colours.get(d.candidate_id, "red"))
                targets = self._targets(item, d.stage, recipients)
                if not targets:
                    # Never skipped silently: the supervising office gets the item and the reason.
                    result.undeliverable[item.unit] += 1
                    for sup in recipients.get(("supervisor", item.directory), []):
                        digests[sup].append(digest_item)
                        notes[sup].append(f"单位「{item.unit}」没有有效的{_ROLE_ZH.get(self._role_of(d.stage), '联系人')}"
                                          f"邮箱，第{item.task_no}项第{item.requirement_no}条的提醒改送督查室。")
                        item_keys[id(rec)].append((sup, d.stage))
                    continue
                for r in targets:
                    digests[r].append(digest_item)
                    item_keys[id(rec)].append((r, d.stage))
            result.digests += len(digests)
            keys = self._digest_keys(session, as_of, digests.keys())
            rendered = []
            for r, items in digests.items():
                items.sort(key=lambda i: (i.working_days_left, i.task_no, i.requirement_no, i.unit))
                digest = Digest(key=keys[r], recipient_name=r.name, recipient_email=r.email, recipient_role=r.role,
                                units=tuple(dict.fromkeys(i.unit for i in items)), as_of=as_of, items=tuple(items),
                                dashboard_url=self.dashboard_url, notes=tuple(dict.fromkeys(notes.get(r, []))))
                if result.dry_run:
                    result.previews.append(digest)
                    continue
                msg = render_digest(digest, sender=self.sender, message_id_domain=self.message_id_domain,
                                    renderer=self.renderer)
                top = max((i.stage for i in items), key=lambda s: self.stage_index.get(s, -1))
                rendered.append({
                    "key": digest.key, "recipient": r.email, "recipient_name": r.name, "recipient_role": r.role,
                    "stage": top, "obligation_ids": sorted({i.obligation_id for i in items}),
                    "due": min(i.due for i in items), "scheduled_for": as_of, "status": "pending", "attempts": 0,
                    "message_id": msg.message_id, "subject": msg.subject, "body_text": msg.text,
                    "body_html": msg.html,
                })
            result.timings["compose"] += time.perf_counter() - started
            if result.dry_run:
                return
            started = time.perf_counter()
            for rec in records:
                targets = item_keys.get(id(rec))
                if targets:
                    rec["notification_key"] = keys[targets[0][0]]
            now = audit.utcnow()
            for rec in records:
                rec["recorded_at"] = now
            for row in rendered:
                row["created_at"] = now
            bulk_insert(session, StageRecord.__table__, records)
            bulk_insert(session, Notification.__table__, rendered)
            audit.append(session, actor="scheduler", source="scheduler", action="tick.decided",
                         object_type="tick", object_id=as_of.isoformat(),
                         after={"sent": result.sent, "skipped": result.skipped, "digests": len(rendered),
                                "policy": self.policy.policy_hash})
            session.commit()
            result.timings["write"] += time.perf_counter() - started

    def _report_failed_deliveries(self, as_of: dt.date, result: TickResult) -> None:
        """Tell the supervising office which digests the server refused since the last tick.

        A 5xx answer marks an outbox row ``failed``; it is never dropped
        silently: the next working day's tick sends every supervisor a digest
        whose notes list the failed deliveries (once: the digest's key is fixed).
        """
        prev = as_of - dt.timedelta(days=1)
        while not self.calendar.is_workday(prev):
            prev -= dt.timedelta(days=1)
        with self.sessions() as session:
            failed = session.execute(
                select(Notification.recipient, Notification.recipient_role, Notification.scheduled_for,
                       Notification.last_error)
                .where(Notification.status == "failed", Notification.scheduled_for >= prev,
                       Notification.scheduled_for < as_of).order_by(Notification.id)).all()
            if not failed:
                return
            notes = tuple(f"{day} 发给{_ROLE_ZH.get(role, role)} {to} 的督办邮件被邮件服务器拒收（{error or '未知原因'}），"
                          f"请核实其邮箱并电话通知。" for to, role, day, error in failed)
            supervisors = session.execute(
                select(Official.name, Official.email).join(Unit, Unit.id == Official.unit_id)
                .where(Unit.is_supervisor.is_(True), Official.role.in_(("clerk", "leader"))).order_by(Official.id)).all()
            rows = []
            for name, address in supervisors:
                if not valid_email(address):
                    continue
                key = f"{as_of.isoformat()}/supervisor/{address}/delivery-failures"
                if session.execute(select(Notification.id).where(Notification.key == key)).first():
                    continue  # a re-run of the same tick
                digest = Digest(key=key, recipient_name=name, recipient_email=address, recipient_role="supervisor",
                                units=(), as_of=as_of, items=(), dashboard_url=self.dashboard_url, notes=notes)
                result.digests += 1
                if result.dry_run:
                    result.previews.append(digest)
                    continue
                msg = render_digest(digest, sender=self.sender, message_id_domain=self.message_id_domain,
                                    renderer=self.renderer)
                rows.append({"key": key, "recipient": address, "recipient_name": name, "recipient_role": "supervisor",
                             "stage": "delivery_failed", "obligation_ids": [], "due": None, "scheduled_for": as_of,
                             "status": "pending", "attempts": 0, "message_id": msg.message_id,
                             "subject": msg.subject, "body_text": msg.text, "body_html": msg.html,
                             "created_at": audit.utcnow()})
            if rows:
                bulk_insert(session, Notification.__table__, rows)
                session.commit()

    # ------------------------------------------------------------------ helpers

    def _item_info(self, session: Session, occurrence_ids: Sequence[int]) -> dict[int, _ItemInfo]:
        out: dict[int, _ItemInfo] = {}
        for chunk in _chunks(list(occurrence_ids), 5000):
            stmt = (
                select(Occurrence.id, Occurrence.key, Occurrence.due, Obligation.id, Unit.id, Unit.name,
                       Plan.units_directory, Plan.title, Task.no, Task.title, Requirement.no, Requirement.text,
                       DeadlineEntry.phrase)
                .join(Obligation, Obligation.id == Occurrence.obligation_id)
                .join(Unit, Unit.id == Obligation.unit_id)
                .join(Requirement, Requirement.id == Obligation.requirement_id)
                .join(Task, Task.id == Requirement.task_id)
                .join(Plan, Plan.id == Task.plan_id)
                .join(DeadlineEntry, DeadlineEntry.id == Obligation.deadline_id)
                .where(Occurrence.id.in_(chunk))
            )
            for row in session.execute(stmt):
                out[row[0]] = _ItemInfo(occurrence_id=row[0], occurrence_key=row[1], due=row[2], obligation_id=row[3],
                                        unit_id=row[4], unit=row[5], directory=row[6], plan_title=row[7],
                                        task_no=row[8], task_title=row[9], requirement_no=row[10],
                                        requirement_text=row[11], phrase=row[12])
        return out

    def _recipients(self, session: Session, unit_ids: Iterable[int],
                    directories: Iterable[str]) -> dict[tuple[str, Any], list[Recipient]]:
        """Valid addresses by (role, unit id) and the supervisors by (\"supervisor\", directory)."""
        out: dict[tuple[str, Any], list[Recipient]] = defaultdict(list)
        ids = list(unit_ids)
        for chunk in _chunks(ids, 5000):
            for o in session.execute(select(Official.unit_id, Official.name, Official.role, Official.email)
                                     .where(Official.unit_id.in_(chunk)).order_by(Official.id)):
                if o.role in ("clerk", "leader", "contact") and valid_email(o.email):
                    role = "clerk" if o.role == "contact" else o.role
                    out[(role, o.unit_id)].append(Recipient(email=o.email, name=o.name, role=role))
        dirs = list(directories)
        if dirs:
            for directory, name, role, email in session.execute(
                select(Unit.directory, Official.name, Official.role, Official.email)
                .join(Unit, Unit.id == Official.unit_id)
                .where(Unit.is_supervisor.is_(True), Unit.directory.in_(dirs)).order_by(Official.id)
            ):
                if role in ("clerk", "leader") and valid_email(email):
                    out[("supervisor", directory)].append(Recipient(email=email, name=name, role="supervisor"))
        return out

    def _role_of(self, stage: str) -> str:
        to = self.stages[stage].to
        return to[0] if to else "clerk"

    def _targets(self, item: _ItemInfo, stage: str, recipients: dict[tuple[str, Any], list[Recipient]]) -> list[Recipient]:
        targets: list[Recipient] = []
        for role in self.stages[stage].to:
            key = ("supervisor", item.directory) if role == "supervisor" else (role, item.unit_id)
            targets.extend(recipients.get(key, []))
        return list(dict.fromkeys(targets))

    def _digest_item(self, item: _ItemInfo, d: Decision, wd: int, colour: str) -> DigestItem:
        return DigestItem(
            obligation_id=item.obligation_id, occurrence_key=item.occurrence_key, plan_title=item.plan_title,
            task_no=item.task_no, task_title=item.task_title, requirement_no=item.requirement_no,
            requirement_text=item.requirement_text, unit=item.unit, deadline_phrase=item.phrase, due=item.due,
            working_days_left=wd, colour=colour, stage=d.stage, stage_label=self.stages[d.stage].label,
        )

    def _digest_keys(self, session: Session, as_of: dt.date, recipients: Iterable[Recipient]) -> dict[Recipient, str]:
        """One key per recipient and day; a re-run after a partial crash gets ``#2``, ``#3``…"""
        prefix = f"{as_of.isoformat()}/"
        taken = Counter(key.split("#", 1)[0] for key in session.scalars(
            select(Notification.key).where(Notification.scheduled_for == as_of, Notification.key.startswith(prefix))))
        out: dict[Recipient, str] = {}
        for r in recipients:
            base = f"{prefix}{r.role}/{r.email}"
            n = taken[base]
            out[r] = base if n == 0 else f"{base}#{n + 1}"
        return out


_ROLE_ZH = {"clerk": "经办人", "leader": "负责同志", "supervisor": "督查室"}


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]
