"""The obligation summary: the dashboard's counts, kept right by the transactions that change them.

An obligation's status on a day (``status_of`` in ``engine/services/queries.py``)
depends on its state and kind, on three aggregates of its due instances — the
earliest open due date (*next due*), the earliest open due date that is not a
check-in (*next deadline*) and whether it has any live instance at all — and on
the day. Part of it no day changes; this module calls that part *settled*:

* ``done`` / ``waived``: the obligation's own state;
* ``done``: no open instance left, but some instance (all completed or waived);
* ``dormant``: a triggered duty whose event has not happened (no instance);
* ``open``: no instance and not triggered (nothing to count a day from).

Otherwise the status follows from comparing the two dates with the day
(``web/readmodel.py``: overdue, 未报进展, due soon, open).

``obligation_summary`` (:class:`~duban.store.models.ObligationSummary`) counts
live obligations by (plan, task, unit, settled, next due, next deadline), the
dates left NULL when the status is settled. Obligations with the same due
dates collapse into one row, so a store of 1,000,000 obligations keeps tens of
thousands of rows, and the "all plans" overview sums those for any ``as_of``
instead of aggregating every due instance.

Keeping it right: every write path that changes obligations or their due
instances calls one function here, in its own transaction, after its changes:

* :func:`refresh_plans` — the plan import (new, changed and retired
  obligations, re-projected instances): the plan's rows are recomputed;
* :func:`refresh_obligations` — completions, waivers, extensions, progress
  reports closing a check-in, events recorded, corrected or retracted: the
  rows of the (task, unit) groups those obligations belong to are recomputed.

A refresh recomputes whole groups from the obligations and their instances
(it never applies deltas), so it is right whatever the change was, and a
store whose summary went wrong (manual SQL, a bulk load that bypassed the
services) is repaired by :func:`rebuild`; :func:`verify` compares the two
(``duban db summary``). Concurrent writers: a refresh takes the writers' lock
of the audit chain (``lock_writers`` in :mod:`duban.store.audit`), which every
audited change holds until it commits anyway, so two refreshes of one group
never interleave and no new lock order (no deadlock) is introduced; on
PostgreSQL (READ COMMITTED) the statements after the lock see what the
previous writer committed.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, Subquery, and_, case, delete, func, insert, select
from sqlalchemy.orm import Session, aliased

# The audit chain's writers' lock: every audited change holds it until commit (see the module docstring).
from .audit import lock_writers
from .models import Obligation, ObligationSummary, Occurrence, Requirement

SUMMARY = ObligationSummary.__table__
#: The summary's key: what a status on any day depends on, per plan, task and unit.
KEY: tuple[str, ...] = ("plan_id", "task_id", "unit_id", "settled", "next_due", "next_deadline")
#: Above this many obligations a refresh recomputes their whole plans (one scan each) instead of their groups.
PLAN_WIDE = 20_000
_CHUNK = 2_000


# --------------------------------------------------------------------------- the aggregate


def per_obligation(*where: ColumnElement[bool]) -> Subquery:
    """One row per live obligation: its keys, state, kind, next due, next deadline and live-instance count.

    The one definition of the per-obligation aggregate: the summary is built
    from it, and the dashboard's per-obligation pages (plan chips, a unit's
    list) read it directly.
    """
    occ = aliased(Occurrence)
    return (
        select(Obligation.id.label("id"), Obligation.plan_id.label("plan_id"), Obligation.unit_id.label("unit_id"),
               Obligation.requirement_id.label("requirement_id"), Requirement.task_id.label("task_id"),
               Obligation.deadline_id.label("deadline_id"), Obligation.state.label("state"),
               Obligation.kind.label("kind"),
               func.min(case((occ.state == "open", occ.due))).label("next_due"),
               func.min(case((and_(occ.state == "open", occ.checkin.is_(False)), occ.due))).label("next_deadline"),
               func.count(occ.id).label("n_any"))
        .join(Requirement, Requirement.id == Obligation.requirement_id)
        .outerjoin(occ, and_(occ.obligation_id == Obligation.id, occ.state != "cancelled"))
        .where(Obligation.state != "retired", *where)
        # Grouping by the primary key is enough (both databases know the other obligation columns
        # depend on it); fewer sort keys make the per-obligation step measurably cheaper on SQLite.
        .group_by(Obligation.id, Requirement.task_id)
        .subquery("ob")
    )


def settled_status(ob: Subquery) -> ColumnElement[str | None]:
    """The status no day changes, over :func:`per_obligation`'s columns; NULL when it depends on the day."""
    c = ob.c
    return case(
        (c.state.in_(("done", "waived")), c.state),
        (c.next_due.is_(None), case((c.n_any > 0, "done"), (c.kind == "triggered", "dormant"), else_="open")),
        else_=None,
    )


def counts_select(*where: ColumnElement[bool]) -> Select[Any]:
    """The summary's rows for the live obligations matching ``where``: :data:`KEY` and the count ``n``."""
    ob = per_obligation(*where)
    settled = settled_status(ob)
    keyed = select(ob.c.plan_id, ob.c.task_id, ob.c.unit_id, settled.label("settled"),
                   case((settled.is_(None), ob.c.next_due)).label("next_due"),
                   case((settled.is_(None), ob.c.next_deadline)).label("next_deadline")).subquery("keyed")
    cols = [keyed.c[k] for k in KEY]
    # A subquery, then GROUP BY its plain columns: PostgreSQL cannot group by a CASE with bound literals.
    return select(*cols, func.count().label("n")).group_by(*cols)


# --------------------------------------------------------------------------- keeping it right


def _replace(session: Session, *, plan_id: str | None = None, tasks: Sequence[int] | None = None,
             units: Sequence[int] | None = None) -> None:
    """Delete the summary rows of a plan, or of ``tasks`` × ``units``, and recompute exactly those.

    Task ids are unique store-wide (a task belongs to one plan), so ``tasks``
    needs no plan beside it; and leaving the plan out lets both databases find
    the obligations through ``ix_obligations_unit_id`` (a plan may hold them all).
    """
    stale: list[ColumnElement[bool]] = []
    source: list[ColumnElement[bool]] = []
    if plan_id is not None:
        stale.append(SUMMARY.c.plan_id == plan_id)
        source.append(Obligation.plan_id == plan_id)
    if tasks is not None:
        stale.append(SUMMARY.c.task_id.in_(tasks))
        source.append(Requirement.task_id.in_(tasks))
    if units is not None:
        stale.append(SUMMARY.c.unit_id.in_(units))
        source.append(Obligation.unit_id.in_(units))
    session.execute(delete(SUMMARY).where(*stale))
    session.execute(insert(SUMMARY).from_select([*KEY, "n"], counts_select(*source)))


def refresh_plans(session: Session, plan_ids: Iterable[str]) -> None:
    """Recompute the summary of whole plans (the plan import calls this after writing a plan)."""
    session.flush()
    lock_writers(session)
    for plan_id in sorted(set(plan_ids)):
        _replace(session, plan_id=plan_id)


def refresh_obligations(session: Session, obligation_ids: Iterable[int]) -> None:
    """Recompute the summary groups (task, unit) of the given obligations, after a change to them.

    Call it once the change is made (pending ORM changes are flushed here).
    More than :data:`PLAN_WIDE` obligations (a provincial document activating
    half a province) recompute their whole plans instead: one scan each.
    """
    ids = sorted(set(obligation_ids))
    if not ids:
        return
    session.flush()
    lock_writers(session)
    if len(ids) > PLAN_WIDE:
        plans: set[str] = set()
        for start in range(0, len(ids), _CHUNK):
            plans.update(session.scalars(select(Obligation.plan_id).distinct()
                                         .where(Obligation.id.in_(ids[start:start + _CHUNK]))))
        refresh_plans(session, plans)
        return
    tasks: set[int] = set()
    units: set[int] = set()
    for start in range(0, len(ids), _CHUNK):
        for task_id, unit_id in session.execute(
                select(Requirement.task_id, Obligation.unit_id).distinct()
                .join(Requirement, Requirement.id == Obligation.requirement_id)
                .where(Obligation.id.in_(ids[start:start + _CHUNK]))):
            tasks.add(task_id)
            units.add(unit_id)
    # Every (task, unit) pair of the touched tasks × units is recomputed: a superset of the groups
    # touched, deleted and rebuilt alike, so still exact (and one statement pair, not one per group).
    unit_list = sorted(units)
    for start in range(0, len(unit_list), _CHUNK):
        _replace(session, tasks=sorted(tasks), units=unit_list[start:start + _CHUNK])


def rebuild(session: Session) -> int:
    """Recompute the whole summary from the obligations and their due instances; returns its row count.

    The repair after a change that bypassed the services (manual SQL, a bulk
    load written with raw inserts); migration 0008 backfills an existing
    store with the same aggregate, frozen there as SQL.
    """
    session.flush()
    lock_writers(session)
    session.execute(delete(SUMMARY))
    session.execute(insert(SUMMARY).from_select([*KEY, "n"], counts_select()))
    return int(session.scalar(select(func.count()).select_from(SUMMARY)) or 0)


# --------------------------------------------------------------------------- checking it


@dataclass(frozen=True, kw_only=True, slots=True)
class Mismatch:
    """A summary key whose stored count differs from the count recomputed from the obligations."""

    plan_id: str
    task_id: int
    unit_id: int
    settled: str | None
    next_due: dt.date | None
    next_deadline: dt.date | None
    stored: int
    actual: int

    def to_json(self) -> dict[str, Any]:
        return {"plan": self.plan_id, "task_id": self.task_id, "unit_id": self.unit_id, "settled": self.settled,
                "next_due": self.next_due.isoformat() if self.next_due else None,
                "next_deadline": self.next_deadline.isoformat() if self.next_deadline else None,
                "stored": self.stored, "actual": self.actual}


def _as_date(value: Any) -> dt.date | None:
    """A date column as read back (SQLite returns an aggregate's dates as text)."""
    return dt.date.fromisoformat(value) if isinstance(value, str) else value


def _counter(rows: Iterable[Sequence[Any]]) -> Counter[tuple[Any, ...]]:
    out: Counter[tuple[Any, ...]] = Counter()
    for plan_id, task_id, unit_id, settled, due, deadline, n in rows:
        out[(plan_id, task_id, unit_id, settled, _as_date(due), _as_date(deadline))] += int(n)
    return out


def verify(session: Session) -> list[Mismatch]:
    """Every key whose stored count is not what the obligations say now (empty: the summary is right)."""
    conn = session.connection()
    stored = _counter(conn.execute(select(*(SUMMARY.c[k] for k in KEY), SUMMARY.c.n)))
    actual = _counter(conn.execute(counts_select()))
    keys = sorted(set(stored) | set(actual), key=lambda k: tuple((v is None, str(v)) for v in k))
    return [Mismatch(plan_id=k[0], task_id=k[1], unit_id=k[2], settled=k[3], next_due=k[4], next_deadline=k[5],
                     stored=stored[k], actual=actual[k]) for k in keys if stored[k] != actual[k]]
