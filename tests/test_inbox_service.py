"""The inbox on a real store (SQLite and PostgreSQL): scan proposes, a person accepts or rejects.

Accepting must start the duties exactly as ``duban event record`` does: the
same trigger recorded through both paths on two fresh stores gives the same
event fields and the same due instances.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from duban.engine.deadlines.calendar import WorkingCalendar
from duban.engine.deadlines.spec import Offset
from duban.engine.inbox.config import load_inbox_config
from duban.engine.inbox.records import IncomingDocument, InboxError
from duban.engine.inbox.service import accept, list_proposals, pending_proposals, provenance_note, reject, scan
from duban.engine.services.events import Projection, record_event
from duban.engine.services.permissions import PermissionDenied
from duban.store.models import AuditRecord, Event, InboxDocument, Occurrence
from helpers import import_seed, run
from sqlalchemy import func, select

FIXTURE = Path(__file__).parent / "fixtures" / "inbox" / "documents.jsonl"
PROJ = Projection(calendar=WorkingCalendar.default(), default_offset=Offset(unit="working_days", amount=10),
                  checkins=((6, 30), (9, 30)))
CFG = load_inbox_config()


def corpus_doc(doc_id: str, **over: object) -> IncomingDocument:
    for line in FIXTURE.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if row["id"] == doc_id:
            fields = dict(title=row["title"], text=row["text"], source=f"test:{doc_id}", doc_number=row["doc_no"],
                          issuer=row["issuer"], link=row["url"],
                          date=dt.date.fromisoformat(row["date"]) if row["date"] else None)
            fields.update(over)
            return IncomingDocument.make(**fields)  # type: ignore[arg-type]
    raise KeyError(doc_id)


def test_scan_proposes_and_never_records(seeded) -> None:
    with seeded.sessions() as s, s.begin():
        result = scan(s, [corpus_doc("d064"), corpus_doc("d030")], CFG)
        assert result.new == 2
        assert [(p.trigger, p.rank) for p in result.proposals] == [("national_tax_policy_doc", 1)]
        assert s.scalar(select(func.count()).select_from(Event)) == 0
        p = result.proposals[0]
        assert p.doc_number == "财税〔2016〕101号" and p.status == "proposed" and p.reasons
    with seeded.sessions() as s:
        assert [r.id for r in pending_proposals(s, "jieyang")] == [p.id]
        assert pending_proposals(s, "elsewhere") == []


def test_same_document_from_two_sources_is_one_record(seeded) -> None:
    mailed = corpus_doc("d064", source="maildir:x#1", link=None)
    published = corpus_doc("d064", source="feed:portal", doc_number="財稅〔2016〕101號")
    with seeded.sessions() as s, s.begin():
        first = scan(s, [mailed], CFG)
        second = scan(s, [published], CFG)
        assert (first.new, second.new, second.known) == (1, 0, 1)
        row = s.scalars(select(InboxDocument)).one()
        assert row.sources == ["maildir:x#1", "feed:portal"]
        assert len(list_proposals(s)) == 1


def _dues(session) -> list[tuple[int, str, dt.date, str]]:
    return [tuple(r) for r in session.execute(
        select(Occurrence.obligation_id, Occurrence.key, Occurrence.due, Occurrence.state)
        .where(Occurrence.event_id.is_not(None)).order_by(Occurrence.obligation_id, Occurrence.key))]


def test_accept_is_exactly_event_record(store, tmp_path_factory) -> None:
    """Two fresh stores: one accepts the proposal, the other records the same event by hand."""
    import_seed(store)
    doc = corpus_doc("d064")
    with store.sessions() as s, s.begin():
        pid = scan(s, [doc], CFG).proposals[0].id
        ev, stats = accept(s, pid, actor="督查室林瑜", proj=PROJ)
        via_inbox = (ev.trigger.key, ev.occurred_on, ev.doc_number, ev.title, ev.note, stats.added)
        dues_inbox = _dues(s)
        note = provenance_note(s.get(InboxDocument, 1), pid)
        actions = s.scalars(select(AuditRecord.action).order_by(AuditRecord.seq)).all()
    assert actions[-3:] == ["inbox.scanned", "event.recorded", "inbox.accepted"]
    # the other path, on the same store after retracting nothing: a second store is the clean comparison
    from duban.store.db import make_engine, session_factory, upgrade

    other = make_engine(f"sqlite:///{tmp_path_factory.mktemp('hand')}/hand.db")
    upgrade(other)
    hand_store = type(store)("sqlite", str(other.url), other, session_factory(other))
    import_seed(hand_store)
    with hand_store.sessions() as s, s.begin():
        [(ev2, stats2)] = record_event(s, trigger_key="national_tax_policy_doc", plan="jieyang-2016-disclosure",
                                       on=dt.date(2016, 9, 20), actor="督查室林瑜", proj=PROJ,
                                       doc_number="财税〔2016〕101号", title=doc.title, note=note)
        by_hand = (ev2.trigger.key, ev2.occurred_on, ev2.doc_number, ev2.title, ev2.note, stats2.added)
        dues_hand = _dues(s)
    other.dispose()
    assert via_inbox == by_hand
    assert dues_inbox == dues_hand and len(dues_inbox) == stats.added > 0


def test_reject_is_remembered(seeded) -> None:
    with seeded.sessions() as s, s.begin():
        pid = scan(s, [corpus_doc("d064")], CFG).proposals[0].id
        reject(s, pid, actor="督查室", reason="已由财政局直接转发")
        with pytest.raises(InboxError, match="already rejected"):
            accept(s, pid, actor="督查室", proj=PROJ)
    # the same document again (another source, same 文号): known, not proposed again
    with seeded.sessions() as s, s.begin():
        again = scan(s, [corpus_doc("d064", source="feed:other")], CFG)
        assert again.known == 1 and again.proposals == ()
        assert [r.status for r in list_proposals(s)] == ["rejected"]


def test_only_the_supervising_office_decides(seeded) -> None:
    with seeded.sessions() as s, s.begin():
        pid = scan(s, [corpus_doc("d064")], CFG).proposals[0].id
        with pytest.raises(PermissionDenied):
            accept(s, pid, actor="某科员", proj=PROJ, role="viewer")
        with pytest.raises(PermissionDenied):
            reject(s, pid, actor="某科员", reason="x", role="clerk", unit_ids=[])


def test_a_document_without_date_needs_one(seeded) -> None:
    with seeded.sessions() as s, s.begin():
        pid = scan(s, [corpus_doc("d005")], CFG).proposals[0].id
        with pytest.raises(InboxError, match="carries no date"):
            accept(s, pid, actor="督查室", proj=PROJ)
        ev, _ = accept(s, pid, actor="督查室", proj=PROJ, on=dt.date(2016, 12, 20))
        assert ev.doc_number == "国资发〔2016〕315号" and ev.trigger.key == "central_soe_disclosure_rules"


def test_cli_scan_list_accept_reject(seeded, env_for, tmp_path: Path) -> None:
    env = env_for(seeded)
    folder = tmp_path / "received"
    folder.mkdir()
    d = corpus_doc("d015")
    content = f"{d.title}\n{d.doc_number}\n{d.issuer}\n{d.text}"
    (folder / "caishui140.txt").write_text(content, encoding="utf-8")
    (folder / "other.txt").write_text(corpus_doc("d070").title + "\n" + corpus_doc("d070").text, encoding="utf-8")
    code, out, err = run(env, "inbox", "scan", str(folder), "--json")
    assert code == 0, err
    scanned = json.loads(out)
    assert scanned["new_documents"] == 2
    [prop] = scanned["proposals"]
    assert prop["trigger"] == "national_tax_policy_doc" and prop["document"]["doc_number"] == "财税〔2016〕140号"
    code, out, _ = run(env, "inbox", "list", "--json")
    assert [p["status"] for p in json.loads(out)] == ["proposed"]
    code, out, err = run(env, "inbox", "accept", str(prop["id"]), "--actor", "督查室林瑜", "--json")
    assert code == 0, err
    assert json.loads(out)["activated"] > 0
    code, _, err = run(env, "inbox", "reject", str(prop["id"]), "--actor", "x", "--reason", "y")
    assert code == 1 and "already accepted" in err
    code, out, _ = run(env, "event", "list", "--json")
    [ev] = json.loads(out)
    assert ev["doc_number"] == "财税〔2016〕140号" and ev["date"] == "2016-12-21"
