"""The dashboard's scoped caches: a plan's or a unit's page survives completions elsewhere, and only those.

On the seed plans, both databases: a completion names one obligation, so it
leaves the other plan's and the other units' pages untouched and touches its
own plan's and unit's; a record that is not about one obligation touches
everything; the cache recomputes exactly when told so. No timing.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from duban.engine.services.completions import complete
from duban.store import audit
from duban.store.models import Obligation
from duban.web.context import AggregateCache
from duban.web.freshness import Scope, untouched
from helpers import CAL


def _head(db) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    head = audit.head(db)
    assert head is not None
    return head.seq, head.hash


def test_a_completion_touches_its_plan_and_unit_only(seeded) -> None:  # type: ignore[no-untyped-def]
    with seeded.sessions() as db, db.begin():
        plans = sorted(set(db.scalars(select(Obligation.plan_id))))
        assert len(plans) == 2
        done = db.scalars(select(Obligation).where(Obligation.plan_id == plans[0], Obligation.kind == "fixed",
                                                   Obligation.state == "active").order_by(Obligation.id)).first()
        other_unit = db.scalar(select(Obligation.unit_id).where(Obligation.unit_id != done.unit_id))
        before = _head(db)
        complete(db, done.id, on=dt.date(2016, 9, 1), evidence="http://gov.example/gk/1", actor="t", calendar=CAL)
    with seeded.sessions() as db:
        after = _head(db)
        assert after[0] == before[0] + 1
        assert untouched(db, Scope(plan_id=plans[1]), before, after)
        assert untouched(db, Scope(unit_id=other_unit), before, after)
        assert not untouched(db, Scope(plan_id=plans[0]), before, after)
        assert not untouched(db, Scope(unit_id=done.unit_id), before, after)
        assert untouched(db, Scope(plan_id=plans[0]), after, after)
        assert not untouched(db, Scope(plan_id=plans[1]), (before[0], "not the chain's hash"), after)
    with seeded.sessions() as db, db.begin():
        audit.append(db, actor="t", source="cli", action="plan.imported", object_type="plan", object_id=plans[1])
    with seeded.sessions() as db:
        assert not untouched(db, Scope(plan_id=plans[1]), after, _head(db))
        assert not untouched(db, Scope(unit_id=other_unit), after, _head(db))


def test_the_scoped_cache_recomputes_only_when_touched() -> None:
    cache = AggregateCache()
    calls: list[int] = []

    def compute() -> int:
        calls.append(1)
        return len(calls)

    key = ("plan", Scope(plan_id="p"))
    assert cache.get_scoped(key, (1, "a"), lambda since: False, compute) == 1
    assert cache.get_scoped(key, (1, "a"), lambda since: False, compute) == 1  # same head: no check needed
    assert cache.get_scoped(key, (2, "b"), lambda since: since == (1, "a"), compute) == 1  # untouched since (1, a)
    assert cache.get_scoped(key, (3, "c"), lambda since: since == (2, "b"), compute) == 1  # checkpoint moved on
    assert cache.get_scoped(key, (4, "d"), lambda since: False, compute) == 2  # touched: computed again
    assert len(calls) == 2
