"""The full-year reminder invariants (issue 13), over the seed year on SQLite.

The seed plans are replayed 2016-06-21 → 2017-03-31 (the replay of
``make run``) twice: with the demo scenario, and with no completions at all
(the harshest case: everything goes overdue and stays overdue). The figures
come from ``duban simulate``'s own summary (:class:`~duban.engine.runtime.simulate.Volume`),
and the per-stage delivery from the store's stage records and outbox rows.
The figures of both runs are recorded in docs/notifications.md.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from duban.engine.deadlines.spec import Offset
from duban.engine.plans.importer import import_result
from duban.engine.plans.planfile import load_plans
from duban.engine.runtime.build import Runtime, build_runtime
from duban.engine.runtime.settings import load_settings
from duban.engine.runtime.simulate import SimulationSummary, load_scenario, simulate
from duban.store.models import (
    Notification,
    NotificationAttachment,
    Obligation,
    Occurrence,
    Plan,
    StageRecord,
)
from sqlalchemy import select

REPO = Path(__file__).resolve().parent.parent
START, END = dt.date(2016, 6, 21), dt.date(2017, 3, 31)
SCENARIO = REPO / "rules" / "scenarios" / "jieyang-2016-demo.yaml"

pytestmark = pytest.mark.slow


def _replay(tmp_path: Path, scenario: Path | None) -> tuple[Runtime, SimulationSummary]:
    settings = load_settings(environ={"DUBAN_DATABASE_URL": f"sqlite:///{tmp_path / 'volume.db'}",
                                      "DUBAN_OUTBOX_DIR": str(tmp_path / "outbox")})
    rt = build_runtime(settings)
    loaded = load_plans([REPO / "rules" / "plans"], units_dirs=[REPO / "rules" / "units"], calendar=rt.calendar)
    with rt.sessions() as s, s.begin():
        import_result(s, loaded, calendar=rt.calendar, actor="test", checkins=settings.ongoing_checkins,
                      default_offset=Offset(unit="working_days", amount=settings.trigger_default_offset_working_days))
    return rt, simulate(rt, START, END, scenario=load_scenario(scenario) if scenario else None)


@pytest.fixture(scope="module", params=["demo-scenario", "no-completions"])
def replay(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[Runtime, SimulationSummary]:
    scenario = SCENARIO if request.param == "demo-scenario" else None
    rt, summary = _replay(tmp_path_factory.mktemp(request.param), scenario)
    print(f"\n{request.param}: {summary.volume.to_json()}")  # the figures docs/notifications.md records
    yield rt, summary
    rt.engine.dispose()


def test_the_mail_volume_is_a_product_property(replay: tuple[Runtime, SimulationSummary]) -> None:
    _rt, summary = replay
    v = summary.volume
    assert v.emails > 0 and v.recipients > 0
    assert v.max_per_recipient_day <= 1          # one email per recipient per working day, across roles and plans
    assert v.weekly_median <= 2 and v.weekly_p95 <= 3
    assert v.largest_email_cards <= 50           # the rest travels as an .xlsx attachment
    assert v.emails_with_repeated_cards == 0     # one line per requirement and unit


def test_no_check_in_falls_within_20_working_days_of_publication(replay: tuple[Runtime, SimulationSummary]) -> None:
    rt, _summary = replay
    with rt.sessions() as s:
        rows = s.execute(select(Occurrence.due, Plan.published).join(Obligation, Obligation.id == Occurrence.obligation_id)
                         .join(Plan, Plan.id == Obligation.plan_id).where(Occurrence.checkin.is_(True))).all()
    assert rows
    early = [(due, published) for due, published in rows if due <= rt.calendar.add_workdays(published, 20)]
    assert not early


def test_every_stage_change_reaches_its_recipient_on_its_working_day(
        replay: tuple[Runtime, SimulationSummary]) -> None:
    rt, _summary = replay
    with rt.sessions() as s:
        outbox = {n.key: n for n in s.scalars(select(Notification))}
        attached = set(s.scalars(select(NotificationAttachment.notification_key)
                                 .where(NotificationAttachment.filename.like("%.xlsx"))))
        sends = s.execute(select(StageRecord.stage, StageRecord.tick_date, StageRecord.notification_key,
                                 Occurrence.obligation_id)
                          .join(Occurrence, Occurrence.id == StageRecord.occurrence_id)
                          .where(StageRecord.action == "send")).all()
    assert sends
    lost = []
    for stage, day, key, obligation_id in sends:
        n = outbox.get(key or "")
        if n is None or n.scheduled_for != day or n.status != "sent" or \
                (obligation_id not in n.obligation_ids and key not in attached):
            lost.append((stage, day, key, obligation_id))
    assert not lost, lost[:10]
