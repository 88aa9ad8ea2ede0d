"""The append-only, hash-chained audit log (审计日志).

Every state change writes one record *in the same transaction as the change*,
so a rolled-back change leaves no audit row and a committed one always has
one. Each record's hash covers its content and the previous record's hash, so
an edit, deletion, insertion or reordering breaks the chain at the first
touched sequence number; truncating the tail is caught against a checkpoint
(the head's ``seq`` and ``hash``) kept outside the database.

The database refuses UPDATE and DELETE on the table (migration 0001); this
module is the only writer.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from .models import AuditRecord, utcnow

GENESIS = "0" * 64
Source = Literal["cli", "web", "scheduler"]
SOURCES = ("cli", "web", "scheduler")


def _canonical(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


def record_hash(
    *, seq: int, at: dt.datetime, actor: str, source: str, action: str, object_type: str, object_id: str,
    before: Any, after: Any, reason: str | None, prev_hash: str,
) -> str:
    """SHA-256 over the canonical JSON of a record's content and its predecessor's hash."""
    at_utc = at.astimezone(dt.timezone.utc).replace(tzinfo=None).isoformat(timespec="microseconds")
    payload = _canonical(
        [seq, at_utc, actor, source, action, object_type, object_id, before, after, reason, prev_hash]
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _lock_head(session: Session) -> None:
    """Serialise appends: concurrent writers must not fork the chain.

    SQLite serialises writers by its database lock already; PostgreSQL takes a
    transaction-scoped advisory lock (released at commit or rollback).
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(4242001)"))


def append(
    session: Session,
    *,
    actor: str,
    source: Source,
    action: str,
    object_type: str,
    object_id: str | int,
    before: Any = None,
    after: Any = None,
    reason: str | None = None,
    at: dt.datetime | None = None,
) -> AuditRecord:
    """Append one record to the chain inside the caller's transaction."""
    if source not in SOURCES:
        raise ValueError(f"audit source must be one of {SOURCES}, got {source!r}")
    _lock_head(session)
    session.flush()
    head = session.execute(
        select(AuditRecord.seq, AuditRecord.hash).order_by(AuditRecord.seq.desc()).limit(1)
    ).first()
    seq = (head.seq + 1) if head else 1
    prev = head.hash if head else GENESIS
    # Round-trip before/after through JSON so the stored value hashes identically on read.
    before = json.loads(_canonical(before)) if before is not None else None
    after = json.loads(_canonical(after)) if after is not None else None
    at = (at or utcnow()).astimezone(dt.timezone.utc)

    fields = dict(seq=seq, at=at, actor=actor, source=source, action=action, object_type=object_type,
                  object_id=str(object_id), before=before, after=after, reason=reason, prev_hash=prev)
    rec = AuditRecord(**fields, hash=record_hash(**fields))
    session.add(rec)
    session.flush()
    return rec


@dataclass(frozen=True, kw_only=True, slots=True)
class Checkpoint:
    """The chain's head, to be kept outside the database (detects tail truncation)."""

    seq: int
    hash: str

    def to_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "hash": self.hash}


@dataclass(frozen=True, kw_only=True, slots=True)
class VerifyResult:
    ok: bool
    checked: int
    first_bad_seq: int | None = None
    problem: str | None = None
    head: Checkpoint | None = None


def head(session: Session) -> Checkpoint | None:
    row = session.execute(select(AuditRecord.seq, AuditRecord.hash).order_by(AuditRecord.seq.desc()).limit(1)).first()
    return Checkpoint(seq=row.seq, hash=row.hash) if row else None


def _rows(session: Session, batch: int = 20_000) -> Iterator[tuple[Any, ...]]:
    cols = (AuditRecord.seq, AuditRecord.at, AuditRecord.actor, AuditRecord.source, AuditRecord.action,
            AuditRecord.object_type, AuditRecord.object_id, AuditRecord.before, AuditRecord.after,
            AuditRecord.reason, AuditRecord.prev_hash, AuditRecord.hash)
    last = 0
    while True:
        chunk = session.execute(select(*cols).where(AuditRecord.seq > last).order_by(AuditRecord.seq).limit(batch)).all()
        if not chunk:
            return
        yield from chunk
        last = chunk[-1][0]


def verify(session: Session, checkpoint: Checkpoint | None = None) -> VerifyResult:
    """Walk the chain; report the first sequence number where it breaks.

    Detects edited content (hash mismatch), deleted or inserted records (a gap
    in ``seq`` or a ``prev_hash`` that does not match), reordering, and — given
    a checkpoint — truncation of the tail or a replaced head.
    """
    prev_hash = GENESIS
    expected_seq = 1
    checked = 0
    last: Checkpoint | None = None
    for seq, at, actor, source, action, otype, oid, before, after, reason, prev, h in _rows(session):
        if seq != expected_seq:
            return VerifyResult(ok=False, checked=checked, first_bad_seq=min(seq, expected_seq),
                                problem=f"sequence gap: expected {expected_seq}, found {seq}")
        if prev != prev_hash:
            return VerifyResult(ok=False, checked=checked, first_bad_seq=seq, problem="prev_hash does not link")
        computed = record_hash(seq=seq, at=at, actor=actor, source=source, action=action, object_type=otype,
                               object_id=oid, before=before, after=after, reason=reason, prev_hash=prev)
        if computed != h:
            return VerifyResult(ok=False, checked=checked, first_bad_seq=seq, problem="content does not match hash")
        prev_hash = h
        expected_seq += 1
        checked += 1
        last = Checkpoint(seq=seq, hash=h)
    if checkpoint is not None:
        if last is None or last.seq < checkpoint.seq:
            return VerifyResult(ok=False, checked=checked, first_bad_seq=(last.seq + 1) if last else 1,
                                problem=f"truncated: checkpoint is at seq {checkpoint.seq}, chain ends at "
                                        f"{last.seq if last else 0}", head=last)
        if _hash_at(session, checkpoint.seq) != checkpoint.hash:
            return VerifyResult(ok=False, checked=checked, first_bad_seq=checkpoint.seq,
                                problem="the record at the checkpoint's seq is not the one checkpointed", head=last)
    return VerifyResult(ok=True, checked=checked, head=last)


def _hash_at(session: Session, seq: int) -> str | None:
    return session.execute(select(AuditRecord.hash).where(AuditRecord.seq == seq)).scalar_one_or_none()


def count(session: Session) -> int:
    return int(session.execute(select(func.count()).select_from(AuditRecord)).scalar_one())


def diff(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only the keys that changed, for compact before/after records."""
    keys = sorted(set(before) | set(after))
    changed = [k for k in keys if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in changed}, {k: after.get(k) for k in changed}


def records(session: Session, **filters: Any) -> Iterable[AuditRecord]:  # pragma: no cover - thin
    stmt = select(AuditRecord).order_by(AuditRecord.seq)
    for key, value in filters.items():
        stmt = stmt.where(getattr(AuditRecord, key) == value)
    return session.scalars(stmt)
