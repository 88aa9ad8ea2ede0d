"""Co-units (配合单位) are copied on the lead's changes, in their one email of the day (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import json

from duban.engine.runtime.build import build_runtime
from duban.engine.runtime.settings import load_settings
from duban.store.models import Assignment, Notification, Obligation, Official, StageRecord, Unit
from helpers import run
from sqlalchemy import func, select

DAY = dt.date(2016, 7, 25)


def test_a_co_unit_clerk_is_copied_on_the_lead_units_change(seeded, env_for):
    env = env_for(seeded)
    code, out, err = run(env, "tick", "--as-of", DAY.isoformat(), "--dry-run", "--json")
    assert code == 0, err
    clean = json.loads(out)
    lead = next(d for d in clean["would_send"] if d["role"] == "clerk" and d["items"])
    item = lead["items"][0]
    with seeded.sessions() as s, s.begin():
        ob = s.get(Obligation, item["obligation_id"])
        assert ob is not None
        lead_unit = s.get(Unit, ob.unit_id)
        # A unit of the same directory whose clerk gets no mail of its own today.
        busy = {d["recipient"] for d in clean["would_send"]}
        co_unit, clerk = next(
            (u, o) for u, o in s.execute(select(Unit, Official).join(Official, Official.unit_id == Unit.id)
                                         .where(Unit.directory == lead_unit.directory, Unit.id != lead_unit.id,
                                                Unit.is_supervisor.is_(False), Official.role == "clerk")
                                         .order_by(Unit.id)).tuples()
            if o.email and o.email not in busy)
        s.add(Assignment(requirement_id=ob.requirement_id, unit_id=co_unit.id, role="co"))

    rt = build_runtime(load_settings(environ=env), engine=seeded.engine)
    result, _ = rt.run_tick(DAY)
    assert result.sent == clean["sent"]  # a copy is not a stage of the co-unit's own
    with seeded.sessions() as s:
        rows = {n.recipient: n for n in s.scalars(select(Notification).where(Notification.scheduled_for == DAY))}
        assert s.execute(select(func.count()).select_from(StageRecord)
                         .where(StageRecord.notification_key.like(f"%{clerk.email}"))).scalar_one() == 0
    copy = rows[clerk.email]
    assert "抄送：配合事项" in copy.body_text and "配合事项抄送" in copy.subject
    assert f"任务{item['task']}" in copy.body_text and lead_unit.name in copy.body_text
    assert ob.id in copy.obligation_ids
    assert item["obligation_id"] in rows[lead["recipient"]].obligation_ids  # the lead is still told
    assert len(rows) == len(clean["would_send"]) + 1
