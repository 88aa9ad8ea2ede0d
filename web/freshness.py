"""Whether the audit records appended since a page was computed can have changed it.

Every change that can move a status appends an audit record in the same
transaction, which is why the dashboard's caches are keyed by the audit
chain's head (:class:`duban.web.context.AggregateCache`). But under load the
head moves with every completion anywhere in the province, and a plan's
overview or a unit's page would be recomputed after each, although a
completion changes the pages of one plan and one unit only.

So a page *scoped* to one plan or one unit keeps its cached value across a
head move when every record appended since then is provably about something
else: an account or a refused request (:data:`NO_STATUS`), or an obligation
of another plan (another unit). Any other record — a plan import, an event,
an extension, a directory, a tick, anything new — or more than
:data:`MAX_DELTA` records, or a gap in the sequence, means "compute again".
The check costs one indexed range read of the records since, and one look-up
of the obligations they name.

What this relies on: a plan-scoped page (the plan's overview, the plan page)
shows only that plan's obligations and due instances plus data that only
non-obligation records change (plans, units, officials); a unit-scoped page
(``/units/ID``) only that unit's; an obligation's page only that obligation,
its extensions, its trigger's events and its audit trail (extensions and
events are records of their own kinds, so they recompute it). A read model that starts showing another
plan's or unit's obligations there must stop using a scoped key.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..store.models import AuditRecord, Obligation

#: Record object types that never change what a plan, unit or overview page shows: accounts, and the
#: ``web.denied`` records of refused requests (those naming an obligation are checked like any other).
NO_STATUS = frozenset({"user", "route", "csrf", "service"})
#: More records than this since the page was computed: compute it again rather than check them all.
MAX_DELTA = 500


@dataclass(frozen=True, slots=True)
class Scope:
    """What a cached page is about: one plan, one unit or one obligation (exactly one is set)."""

    plan_id: str | None = None
    unit_id: int | None = None
    obligation_id: int | None = None


def untouched(session: Session, scope: Scope, since: tuple[int, str], head: tuple[int, str]) -> bool:
    """True when no record after the checkpoint ``since`` up to ``head`` can change ``scope``'s page.

    Checkpoints are the audit chain's ``(seq, hash)``.
    """
    if head == since:
        return True
    if not 0 < head[0] - since[0] <= MAX_DELTA:
        return False
    rows = session.execute(select(AuditRecord.seq, AuditRecord.hash, AuditRecord.object_type, AuditRecord.object_id)
                           .where(AuditRecord.seq >= since[0], AuditRecord.seq <= head[0])
                           .order_by(AuditRecord.seq)).all()
    if len(rows) != head[0] - since[0] + 1 or (rows[0][0], rows[0][1]) != since or (rows[-1][0], rows[-1][1]) != head:
        return False  # not the chain the value was computed on (or a gap): be safe
    named: set[int] = set()
    for _seq, _hash, object_type, object_id in rows[1:]:
        if object_type in NO_STATUS:
            continue
        if object_type != "obligation" or not str(object_id).isdigit():
            return False
        named.add(int(object_id))
    if not named:
        return True
    if scope.obligation_id is not None:
        return scope.obligation_id not in named
    column = Obligation.plan_id if scope.plan_id is not None else Obligation.unit_id
    target = scope.plan_id if scope.plan_id is not None else scope.unit_id
    found = session.execute(select(Obligation.id, column).where(Obligation.id.in_(sorted(named)))).all()
    return len(found) == len(named) and all(value != target for _id, value in found)
