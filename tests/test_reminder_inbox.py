"""The inbox's pending proposals reach the supervising office's digest (SQLite and PostgreSQL).

The reminders room does not import the inbox room: the runtime passes the
proposals into the tick (engine/runtime/proposals.py).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from duban.engine.inbox.config import load_inbox_config
from duban.engine.inbox.records import IncomingDocument
from duban.engine.inbox.service import scan
from duban.engine.runtime.build import build_runtime
from duban.engine.runtime.settings import load_settings
from duban.store.models import Notification
from sqlalchemy import select

FIXTURE = Path(__file__).parent / "fixtures" / "inbox" / "documents.jsonl"
MONDAY = dt.date(2016, 8, 1)  # the weekly digest's day
TUESDAY = dt.date(2016, 8, 2)


def _doc(doc_id: str) -> IncomingDocument:
    row = next(r for r in map(json.loads, FIXTURE.read_text(encoding="utf-8").splitlines()) if r["id"] == doc_id)
    return IncomingDocument.make(title=row["title"], text=row["text"], source=f"test:{doc_id}",
                                 doc_number=row["doc_no"], issuer=row["issuer"], link=row["url"],
                                 date=dt.date.fromisoformat(row["date"]) if row["date"] else None)


def _supervisor_mail(seeded, day: dt.date) -> list[Notification]:  # type: ignore[no-untyped-def]
    with seeded.sessions() as s:
        return [n for n in s.scalars(select(Notification).where(Notification.scheduled_for == day))
                if n.recipient_role == "supervisor"]


def test_pending_proposals_are_listed_in_the_supervising_offices_weekly_digest(seeded, env_for):
    with seeded.sessions() as s, s.begin():
        [proposal] = scan(s, [_doc("d064")], load_inbox_config()).proposals
    rt = build_runtime(load_settings(environ=env_for(seeded)), engine=seeded.engine)
    rt.run_tick(MONDAY)
    mails = _supervisor_mail(seeded, MONDAY)
    assert mails and all("收文待确认" in n.body_text and proposal.title in n.body_text for n in mails)
    # Nobody else is told about proposals: they are the supervising office's decision.
    with seeded.sessions() as s:
        others = [n for n in s.scalars(select(Notification).where(Notification.scheduled_for == MONDAY))
                  if n.recipient_role != "supervisor"]
    assert others and not any("收文待确认" in n.body_text for n in others)
    # The next day the office is told again only if it gets an email anyway (no mail just for this).
    rt.run_tick(TUESDAY)
    assert all("收文待确认" in n.body_text for n in _supervisor_mail(seeded, TUESDAY))
