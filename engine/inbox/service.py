"""The inbox in the store: keep arriving documents, propose triggers, and let a person decide.

* :func:`scan` stores each new document once (the same 文号 from a second
  source only adds the source) and writes a proposal for each trigger the
  matcher ranks for it — never an event.
* :func:`accept` is the one step a person takes: it records the event through
  :func:`duban.engine.services.events.record_event`, the very function behind
  ``duban event record``, with the document as provenance (date, 文号, title,
  and the link in the note), then marks the proposal accepted. Both the event
  and the decision are audited, in the caller's transaction.
* :func:`reject` remembers the decision: the (document, trigger) row stays, so
  a later scan never proposes that document for that trigger again.
* :func:`pending_proposals` is the query the supervising office's digest reads.

Who may decide is the events' rule (:func:`..services.permissions.authorize`
with action ``event``): an operator or supervisor, or a clerk of the
supervising office of the plan's directory.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...store import audit
from ...store.models import Event, InboxDocument, InboxProposal, Plan, Trigger, utcnow
from ..services.events import Projection, record_event
from ..services.permissions import OPERATOR, authorize
from .config import InboxConfig
from .match import Candidate, Matcher
from .profiles import profiles_from_store
from .records import IncomingDocument, InboxError


class ProposalNotFound(InboxError, LookupError):
    """No proposal with that id."""


@dataclass(frozen=True, kw_only=True, slots=True)
class ScanResult:
    """What one scan did: documents new and already known, and the proposals written."""

    new: int
    known: int
    proposals: tuple[ProposalRow, ...]

    def to_json(self) -> dict[str, Any]:
        return {"new_documents": self.new, "known_documents": self.known,
                "proposals": [p.to_json() for p in self.proposals]}


@dataclass(frozen=True, kw_only=True, slots=True)
class ProposalRow:
    """A proposal as ``duban inbox list`` and the dashboard show it."""

    id: int
    document_id: int
    title: str
    doc_number: str | None
    issuer: str | None
    date: dt.date | None
    link: str | None
    plan: str
    trigger: str
    description: str
    score: float
    rank: int
    reasons: tuple[str, ...]
    status: str
    decided_by: str | None
    decision_reason: str | None
    event_id: int | None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "document": {"id": self.document_id, "title": self.title,
                                            "doc_number": self.doc_number, "issuer": self.issuer,
                                            "date": self.date.isoformat() if self.date else None,
                                            "link": self.link},
                "trigger": self.trigger, "plan": self.plan, "description": self.description,
                "score": self.score, "rank": self.rank, "reasons": list(self.reasons), "status": self.status,
                "decided_by": self.decided_by, "decision_reason": self.decision_reason, "event_id": self.event_id}


def _store_document(session: Session, doc: IncomingDocument) -> tuple[InboxDocument, bool]:
    """The stored row for a document; ``True`` when it is new (a known one only gains the source)."""
    row = session.scalar(select(InboxDocument).where(InboxDocument.key == doc.key))
    if row is not None:
        if doc.source not in row.sources:
            row.sources = [*row.sources, doc.source]
        row.link = row.link or doc.link
        row.issued_on = row.issued_on or doc.date
        return row, False
    row = InboxDocument(key=doc.key, title=doc.title, doc_number=doc.doc_number, issuer=doc.issuer,
                        issued_on=doc.date, received_on=doc.received, link=doc.link, text=doc.text,
                        sources=[doc.source])
    session.add(row)
    session.flush()
    return row, True


def scan(session: Session, documents: Iterable[IncomingDocument], config: InboxConfig, *,
         actor: str = "inbox", source: audit.Source = "cli") -> ScanResult:
    """Store arriving documents and propose triggers for the new ones (one audit record per scan)."""
    profiles, background = profiles_from_store(session)
    matcher = Matcher(profiles, config, background)
    new = known = 0
    written: list[int] = []
    for doc in documents:
        row, is_new = _store_document(session, doc)
        if not is_new:
            known += 1
            continue
        new += 1
        for rank, cand in enumerate(matcher.rank(doc), 1):
            written.append(_propose(session, row, cand, rank))
    session.flush()
    rows = tuple(r for r in list_proposals(session) if r.id in set(written))
    if new or known:
        audit.append(session, actor=actor, source=source, action="inbox.scanned", object_type="inbox",
                     object_id="scan", after={"new_documents": new, "known_documents": known,
                                              "proposals": [r.id for r in rows]})
    return ScanResult(new=new, known=known, proposals=rows)


def _propose(session: Session, doc: InboxDocument, cand: Candidate, rank: int) -> int:
    existing = session.scalar(select(InboxProposal).where(
        InboxProposal.document_id == doc.id, InboxProposal.plan_id == cand.plan,
        InboxProposal.trigger_key == cand.trigger))
    if existing is not None:  # decided or pending already: never proposed twice
        return existing.id
    row = InboxProposal(document_id=doc.id, plan_id=cand.plan, trigger_key=cand.trigger,
                        score_milli=round(cand.score * 1000), rank=rank, reasons=list(cand.reasons),
                        status="proposed")
    session.add(row)
    session.flush()
    return row.id


def list_proposals(session: Session, *, status: str | None = None,
                   plans: Collection[str] | None = None) -> list[ProposalRow]:
    """Proposals, newest document first, best rank first within a document."""
    stmt = (select(InboxProposal, InboxDocument, Trigger)
            .join(InboxDocument, InboxDocument.id == InboxProposal.document_id)
            .join(Trigger, (Trigger.plan_id == InboxProposal.plan_id) & (Trigger.key == InboxProposal.trigger_key))
            .order_by(InboxDocument.id.desc(), InboxProposal.rank, InboxProposal.id))
    if status:
        stmt = stmt.where(InboxProposal.status == status)
    if plans is not None:
        stmt = stmt.where(InboxProposal.plan_id.in_(list(plans)))
    return [ProposalRow(id=p.id, document_id=d.id, title=d.title, doc_number=d.doc_number, issuer=d.issuer,
                        date=d.issued_on, link=d.link, plan=p.plan_id, trigger=p.trigger_key,
                        description=t.description, score=p.score_milli / 1000, rank=p.rank,
                        reasons=tuple(p.reasons), status=p.status, decided_by=p.decided_by,
                        decision_reason=p.decision_reason, event_id=p.event_id)
            for p, d, t in session.execute(stmt)]


def pending_proposals(session: Session, directory: str) -> list[ProposalRow]:
    """Undecided proposals for the plans of one units directory (for its supervising office's digest)."""
    plans = session.scalars(select(Plan.id).where(Plan.units_directory == directory)).all()
    return list_proposals(session, status="proposed", plans=plans)


def _pending(session: Session, proposal_id: int) -> InboxProposal:
    row = session.get(InboxProposal, proposal_id)
    if row is None:
        raise ProposalNotFound(f"no inbox proposal {proposal_id!r}")
    if row.status != "proposed":
        raise InboxError(f"inbox proposal {proposal_id!r} is already {row.status}"
                         + (f" by {row.decided_by}" if row.decided_by else ""))
    return row


def provenance_note(doc: InboxDocument, proposal_id: int) -> str:
    """The event's note: where the document was read (its link or file), and the proposal it came from."""
    where = doc.link or ", ".join(doc.sources)
    return f"收文 inbox proposal {proposal_id}: {where}"


def accept(session: Session, proposal_id: int, *, actor: str, proj: Projection, on: dt.date | None = None,
           source: audit.Source = "cli", role: str = OPERATOR,
           unit_ids: Collection[int] | None = None) -> tuple[Event, Any]:
    """Record the proposal's event exactly as ``duban event record`` would, with the document as provenance.

    ``on`` overrides the event date (needed when the document carries none).
    Returns ``(event, stats)`` from :func:`record_event`.
    """
    row = _pending(session, proposal_id)
    authorize(session, "event", role=role, unit_ids=unit_ids, plan_id=row.plan_id)
    doc = row.document
    day = on or doc.issued_on
    if day is None:
        raise InboxError(f"inbox proposal {proposal_id!r}: the document {doc.title!r} carries no date; "
                         f"give the event's date (--date)")
    received = doc.received_on if doc.received_on and doc.received_on >= day else None
    [(event, stats)] = record_event(session, trigger_key=row.trigger_key, plan=row.plan_id, on=day, actor=actor,
                                    proj=proj, doc_number=doc.doc_number, title=doc.title, received=received,
                                    note=provenance_note(doc, row.id), source=source, role=role,
                                    unit_ids=unit_ids)
    row.status, row.decided_by, row.decided_at, row.event_id = "accepted", actor, utcnow(), event.id
    audit.append(session, actor=actor, source=source, action="inbox.accepted", object_type="inbox_proposal",
                 object_id=row.id, after={"event_id": event.id, "trigger": row.trigger_key, "plan": row.plan_id,
                                          "document": doc.title, "doc_number": doc.doc_number,
                                          "date": day.isoformat(), "link": doc.link})
    return event, stats


def reject(session: Session, proposal_id: int, *, actor: str, reason: str, source: audit.Source = "cli",
           role: str = OPERATOR, unit_ids: Collection[int] | None = None) -> ProposalRow:
    """Turn a proposal down; the document is never proposed for that trigger again."""
    row = _pending(session, proposal_id)
    authorize(session, "event", role=role, unit_ids=unit_ids, plan_id=row.plan_id)
    if not actor.strip() or not reason.strip():
        raise InboxError("rejecting a proposal needs an actor and a reason")
    row.status, row.decided_by, row.decided_at, row.decision_reason = "rejected", actor, utcnow(), reason
    audit.append(session, actor=actor, source=source, action="inbox.rejected", object_type="inbox_proposal",
                 object_id=row.id, after={"trigger": row.trigger_key, "plan": row.plan_id,
                                          "document": row.document.title}, reason=reason)
    session.flush()
    return next(r for r in list_proposals(session) if r.id == row.id)


def documents_of(rows: Sequence[ProposalRow]) -> list[int]:
    """The distinct document ids of some proposals, in order (for grouping on the dashboard)."""
    return list(dict.fromkeys(r.document_id for r in rows))


def scan_configured(session: Session, config: InboxConfig, *, names: Sequence[str] = (),
                    actor: str = "scheduler", source: audit.Source = "scheduler") -> ScanResult:
    """Read the configured sources (all, or ``names``) and scan what they hold: the scheduler's job.

    ``duban run`` calls it on its schedule inside one transaction; a source
    that cannot be read raises :class:`InboxError` naming it (nothing is stored).
    """
    from .sources import read_source

    docs: list[IncomingDocument] = []
    for cfg in config.sources:
        if not names or cfg.name in names:
            docs.extend(read_source(cfg))
    return scan(session, docs, config, actor=actor, source=source)
