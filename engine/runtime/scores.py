"""The weekly 督办通报's ranking, wired from the services' scores into the tick.

The reminders room may not import the services room (they stand side by
side); the runtime, which wires the rooms together, adapts
:func:`duban.engine.services.reports.unit_scores` — the same scores as
``duban scores`` and the report — into the ranking rows the tick mails.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...notifiers.model import RankRow
from ...store.models import Plan
from ..deadlines.calendar import WorkingCalendar
from ..services.reports import build_report, unit_scores


def directory_ranking(calendar: WorkingCalendar, *, due_soon_within: int
                      ) -> Callable[[Session, dt.date, str], Sequence[RankRow]]:
    """A function giving the units of a directory ranked over all its plans, best first.

    Per plan the scores are the services' own; across plans the counts are
    summed and the rate recomputed (on-time ÷ assessed), then ordered as
    ``unit_scores`` orders them: rate, fewer overdue, name.
    """

    def ranking(session: Session, as_of: dt.date, directory: str) -> Sequence[RankRow]:
        totals: dict[str, Counter[str]] = defaultdict(Counter)
        for plan_id in session.scalars(select(Plan.id).where(Plan.units_directory == directory).order_by(Plan.id)):
            for score in unit_scores(build_report(session, plan_id, as_of=as_of, calendar=calendar,
                                                   due_soon_within=due_soon_within)):
                t = totals[score.unit]
                t["assessed"] += score.assessed
                t["on_time"] += score.on_time
                t["overdue"] += score.overdue
        rows = [RankRow(rank=0, unit=unit, assessed=t["assessed"], on_time=t["on_time"], overdue=t["overdue"],
                        on_time_rate=round(t["on_time"] / t["assessed"], 4) if t["assessed"] else None)
                for unit, t in totals.items()]
        rows.sort(key=lambda r: (r.on_time_rate is None, -(r.on_time_rate or 0.0), r.overdue, r.unit))
        return rows

    return ranking
