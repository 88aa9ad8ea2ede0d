"""The append-only, hash-chained audit log (审计日志).

Every state change writes one record *in the same transaction as the change*,
so a rolled-back change leaves no audit row and a committed one always has
one. Each record's hash covers its content and the previous record's hash, so
an edit, deletion, insertion or reordering breaks the chain at the first
touched sequence number; truncating the tail is caught against a checkpoint
(the head's ``seq`` and ``hash``) kept outside the database.

The database refuses UPDATE and DELETE on the table (migration 0001); this
module is the only writer.

The hash alone is keyless: anyone who can write to the database can append
a row with a recomputed hash. So each record also carries a **MAC**, an
HMAC-SHA256 of its hash under a key taken from the environment
(``$DUBAN_AUDIT_KEY``, at least 32 characters) and never stored in the
database (issue 14, row 11). ``audit verify`` with the key detects a forged
row anywhere: a wrong MAC, or a row without one after keyed rows. Without
the key it says so: the chain then proves order and content only, and
checkpoints kept off the database host are the only defence against an
appended row. Set the same key for every process that writes (CLI,
scheduler, dashboard).

Appends are serialised on both backends (issue 14, row 6): PostgreSQL takes a
transaction-scoped advisory lock, SQLite's write lock is taken *before* the
head is read (``BEGIN IMMEDIATE`` when no write has started the transaction
yet), so two writers never compute the same ``seq``.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import hmac
import json
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TextIO

from sqlalchemy import JSON, Text, cast, func, insert, literal, null, or_, select, text
from sqlalchemy.orm import Session

from ..errors import DubanError
from .models import AuditRecord, utcnow

GENESIS = "0" * 64
Source = Literal["cli", "web", "scheduler"]
SOURCES = ("cli", "web", "scheduler")

#: The columns of a record in chain order, as :func:`verify_rows` and the exports read them.
COLUMNS = ("seq", "at", "actor", "source", "action", "object_type", "object_id", "before", "after", "reason",
           "prev_hash", "hash")

#: The columns of an export: the chain's, then the record's MAC (empty when written without a key).
EXPORT_COLUMNS = (*COLUMNS, "mac")

#: One record as a plain tuple in :data:`COLUMNS` order, optionally followed by its MAC (what the verifier walks).
RowTuple = tuple[Any, ...]

KEY_ENV = "DUBAN_AUDIT_KEY"
#: Length limits of the indexed columns (store/models.py): refused with a message, never truncated by a backend.
LIMITS = {"actor": 200, "action": 50, "object_type": 50, "object_id": 200}


class AuditError(DubanError, ValueError):
    """A checkpoint file or an audit query that cannot be used as given."""


_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
HASH_VERSION = "duban-audit-v1"


def _canonical(value: Any) -> str:
    return _ENCODER.encode(value)


def _json_text(value: Any) -> str | None:
    """The canonical JSON text of a before/after value (None stays None: SQL NULL)."""
    return None if value is None else _ENCODER.encode(value)


def _at_text(at: dt.datetime | str) -> str:
    """The instant as the hash sees it: naive UTC, ISO 8601 with microseconds.

    Accepts what either backend returns on a raw read: an aware or naive-UTC
    ``datetime`` (PostgreSQL) or SQLite's stored text.
    """
    if isinstance(at, str):
        at = dt.datetime.fromisoformat(at)
    if at.tzinfo is not None:
        at = at.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return at.isoformat(timespec="microseconds")


def _digest(seq: int, at_text: str, actor: str, source: str, action: str, object_type: str, object_id: str,
            before_text: str | None, after_text: str | None, reason: str | None, prev_hash: str) -> str:
    """SHA-256 over the record's fields as length-prefixed text (netstrings; ``N`` for NULL).

    Length prefixes make the encoding unambiguous without escaping, so the
    verifier can hash the JSON columns' stored text as it is read — no JSON
    parsing on the fast path — and still no two different records share an
    input.
    """
    payload = (f"{HASH_VERSION}|{seq}|{len(at_text)}:{at_text}{len(actor)}:{actor}{len(source)}:{source}"
               f"{len(action)}:{action}{len(object_type)}:{object_type}{len(object_id)}:{object_id}"
               f"{'N' if before_text is None else f'{len(before_text)}:{before_text}'}"
               f"{'N' if after_text is None else f'{len(after_text)}:{after_text}'}"
               f"{'N' if reason is None else f'{len(reason)}:{reason}'}{len(prev_hash)}:{prev_hash}")
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def record_hash(
    *, seq: int, at: dt.datetime, actor: str, source: str, action: str, object_type: str, object_id: str,
    before: Any, after: Any, reason: str | None, prev_hash: str,
) -> str:
    """The hash of a record: its content (before/after as canonical JSON) and its predecessor's hash."""
    return _digest(seq, _at_text(at), actor, source, action, object_type, object_id, _json_text(before),
                   _json_text(after), reason, prev_hash)


def audit_key(environ: Any = None) -> bytes | None:
    """The MAC key from ``$DUBAN_AUDIT_KEY`` (None when unset); a short key is refused, not used."""
    value = (os.environ if environ is None else environ).get(KEY_ENV, "")
    if not value:
        return None
    if len(value) < 32:
        raise AuditError(f"${KEY_ENV} is too short ({len(value)} characters; use at least 32, "
                         f"e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))')")
    return value.encode("utf-8")


def record_mac(key: bytes, digest: str) -> str:
    """HMAC-SHA256 of a record's hash: the hash covers its content and its predecessor, so this keys both."""
    return hmac.new(key, digest.encode("ascii"), hashlib.sha256).hexdigest()


def clip_id(value: str, limit: int = LIMITS["object_id"]) -> str:
    """``value`` cut to fit ``limit`` characters, ending in a digest of the whole (for ids taken from requests)."""
    if len(value) <= limit:
        return value
    return value[:limit - 13] + "~" + hashlib.sha256(value.encode("utf-8")).hexdigest()[:12]


def _check_lengths(**fields: str) -> None:
    for name, value in fields.items():
        if len(value) > LIMITS[name]:
            raise AuditError(f"audit {name} is {len(value)} characters long; at most {LIMITS[name]}")


def lock_writers(session: Session) -> None:
    """Serialise appends: concurrent writers must not fork the chain.

    PostgreSQL takes a transaction-scoped advisory lock (released at commit or
    rollback). SQLite must hold its write lock *before* the head is read: a
    transaction that has not written yet (pysqlite begins one lazily, at the
    first write) is begun with ``BEGIN IMMEDIATE``, which waits for the lock.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(4242001)"))
        return
    raw = session.connection().connection.dbapi_connection
    if raw is not None and not raw.in_transaction:
        raw.execute("BEGIN IMMEDIATE")


def _json_value(session: Session, value: str | None) -> Any:
    """Bind canonical JSON text so the column stores exactly it (the verifier hashes the stored text).

    PostgreSQL's ``json`` type keeps its input text verbatim; SQLite stores
    the text as given. Going through the ORM's JSON type would re-serialise it.
    """
    if value is None:
        return null()
    bound = literal(value, Text())
    return cast(bound, JSON()) if session.get_bind().dialect.name == "postgresql" else bound


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
    """Append one record to the chain inside the caller's transaction; returns it (detached)."""
    if source not in SOURCES:
        raise ValueError(f"audit source must be one of {SOURCES}, got {source!r}")
    oid = str(object_id)
    _check_lengths(actor=actor, action=action, object_type=object_type, object_id=oid)
    key = audit_key()
    session.flush()
    lock_writers(session)
    head = session.execute(
        select(AuditRecord.seq, AuditRecord.hash).order_by(AuditRecord.seq.desc()).limit(1)
    ).first()
    seq = (head.seq + 1) if head else 1
    prev = head.hash if head else GENESIS
    before_text, after_text = _json_text(before), _json_text(after)
    at = (at or utcnow()).astimezone(dt.timezone.utc)
    digest = _digest(seq, _at_text(at), actor, source, action, object_type, oid, before_text, after_text, reason,
                     prev)
    mac = record_mac(key, digest) if key is not None else None
    session.execute(insert(AuditRecord.__table__).values(
        seq=seq, at=at, actor=actor, source=source, action=action, object_type=object_type, object_id=oid,
        before=_json_value(session, before_text), after=_json_value(session, after_text), reason=reason,
        prev_hash=prev, hash=digest, mac=mac))
    return AuditRecord(seq=seq, at=at, actor=actor, source=source, action=action, object_type=object_type,
                       object_id=oid, before=json.loads(before_text) if before_text is not None else None,
                       after=json.loads(after_text) if after_text is not None else None, reason=reason,
                       prev_hash=prev, hash=digest, mac=mac)


# --------------------------------------------------------------------------- checkpoints


@dataclass(frozen=True, kw_only=True, slots=True)
class Checkpoint:
    """The chain's head, to be kept outside the database (detects tail truncation).

    ``seq`` 0 with the genesis hash is the checkpoint of an empty log.
    """

    seq: int
    hash: str

    def to_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "hash": self.hash}

    @classmethod
    def from_json(cls, data: Any, *, where: str = "checkpoint") -> Checkpoint:
        """Read ``{"seq": N, "hash": "<64 hex>"}``; anything else is refused, naming the value."""
        if not isinstance(data, dict) or set(data) - {"seq", "hash"} or not {"seq", "hash"} <= set(data):
            raise AuditError(f"{where}: expected {{\"seq\": N, \"hash\": \"<64 hex digits>\"}}, got {data!r}")
        seq, digest = data["seq"], data["hash"]
        if isinstance(seq, bool) or not isinstance(seq, int) or seq < 0:
            raise AuditError(f"{where}: seq must be a whole number >= 0, got {seq!r}")
        if not isinstance(digest, str) or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise AuditError(f"{where}: hash must be 64 lowercase hex digits, got {digest!r}")
        return cls(seq=seq, hash=digest)

    @classmethod
    def load(cls, path: Path) -> Checkpoint:
        try:
            raw = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise AuditError(f"cannot read checkpoint {str(path)!r}: {exc.strerror}") from None
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise AuditError(f"{path}: not JSON ({exc.msg} at line {exc.lineno})") from None
        return cls.from_json(data, where=str(path))


EMPTY = Checkpoint(seq=0, hash=GENESIS)


@dataclass(frozen=True, kw_only=True, slots=True)
class VerifyResult:
    """What a walk of the chain found.

    ``keyed`` says whether MACs were checked (a key was given); ``unkeyed``
    counts the records written before any key was in use (their MAC is
    empty: they are covered by the chain and checkpoints only).
    """

    ok: bool
    checked: int
    first_bad_seq: int | None = None
    problem: str | None = None
    head: Checkpoint | None = None
    keyed: bool = False
    unkeyed: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "checked": self.checked, "first_bad_seq": self.first_bad_seq,
                "problem": self.problem, "head": self.head.to_json() if self.head else None,
                "keyed": self.keyed, "unkeyed": self.unkeyed}


def head(session: Session) -> Checkpoint | None:
    row = session.execute(select(AuditRecord.seq, AuditRecord.hash).order_by(AuditRecord.seq.desc()).limit(1)).first()
    return Checkpoint(seq=row.seq, hash=row.hash) if row else None


# --------------------------------------------------------------------------- verification


def verify_rows(rows: Iterable[RowTuple], checkpoint: Checkpoint | None = None, *,
                json_text: bool = False, key: bytes | None = None) -> VerifyResult:
    """Walk records in ``seq`` order; report the first sequence number where the chain breaks.

    Pure (no database): :func:`verify` feeds it the table, tests feed it
    tampered copies. Each row is a tuple in :data:`COLUMNS` order; ``at`` may
    be a ``datetime`` or ISO text. With ``json_text`` the before/after values
    are the JSON text as stored: hashed as they are (the fast path), and only
    when that does not match, parsed and re-canonicalised (a row whose JSON
    was stored in another but equivalent form still verifies; unreadable JSON
    counts as tampering at that row).

    Detects edited content (hash mismatch), deleted or inserted records (a
    break in ``seq`` or a ``prev_hash`` that does not link), reordering, and —
    given a checkpoint — a truncated tail or a replaced head. Given the
    ``key``, a row whose MAC (the optional 13th value) is wrong, or missing
    after a keyed row, is a forgery even when its hash was recomputed.
    """
    prev_hash = GENESIS
    expected = 1
    checked = 0
    unkeyed = 0
    seen_keyed = False
    at_checkpoint: str | None = GENESIS if checkpoint is not None and checkpoint.seq == 0 else None
    digest_of = _digest
    for row in rows:
        seq, at, actor, source, action, otype, oid, before, after, reason, prev, digest = row[:12]
        mac = row[12] if len(row) > 12 else None
        if seq != expected:  # a deleted record (gap) or one out of place: either way `expected` is wrong
            return _broken(checked, expected, f"sequence break: expected seq {expected}, found {seq!r}", prev_hash)
        if prev != prev_hash:
            return _broken(checked, seq, "prev_hash does not link to the previous record", prev_hash)
        try:
            if json_text:
                at_text = at.isoformat(timespec="microseconds") if isinstance(at, dt.datetime) and at.tzinfo is None \
                    else (at[:10] + "T" + at[11:] if isinstance(at, str) and len(at) == 26 and at[10] in " T"
                          else _at_text(at))
                ok = digest_of(seq, at_text, actor, source, action, otype, oid, before, after, reason, prev) == digest
                if not ok:  # stored in an equivalent but not canonical form? decide on the parsed content
                    ok = digest_of(seq, _at_text(at), actor, source, action, otype, oid,
                                   _reencode(before), _reencode(after), reason, prev) == digest
            else:
                ok = digest_of(seq, _at_text(at), actor, source, action, otype, oid, _json_text(before),
                               _json_text(after), reason, prev) == digest
        except (TypeError, ValueError, AttributeError) as exc:
            return _broken(checked, seq, f"unreadable content ({exc})", prev_hash)
        if not ok:
            return _broken(checked, seq, "content does not match its hash (edited)", prev_hash)
        if key is not None:
            if mac:
                if not hmac.compare_digest(record_mac(key, digest), str(mac)):
                    return _broken(checked, seq, "its MAC does not match (forged, or written under another "
                                                 f"${KEY_ENV})", prev_hash)
                seen_keyed = True
            elif seen_keyed:
                return _broken(checked, seq, "no MAC after keyed records (appended without the key: forged?)",
                               prev_hash)
            else:
                unkeyed += 1
        prev_hash = digest
        if checkpoint is not None and seq == checkpoint.seq:
            at_checkpoint = digest
        expected += 1
        checked += 1
    last = Checkpoint(seq=expected - 1, hash=prev_hash) if checked else None
    keyed = key is not None
    if checkpoint is not None and checkpoint.seq > 0:
        if checked < checkpoint.seq:
            return VerifyResult(ok=False, checked=checked, first_bad_seq=checked + 1,
                                problem=f"truncated: the checkpoint is at seq {checkpoint.seq}, the chain ends at "
                                        f"{checked}", head=last, keyed=keyed, unkeyed=unkeyed)
        if at_checkpoint != checkpoint.hash:
            return VerifyResult(ok=False, checked=checked, first_bad_seq=checkpoint.seq,
                                problem="the record at the checkpoint's seq is not the one checkpointed", head=last,
                                keyed=keyed, unkeyed=unkeyed)
    return VerifyResult(ok=True, checked=checked, head=last, keyed=keyed, unkeyed=unkeyed)


def _reencode(value: str | None) -> str | None:
    return None if value is None else _json_text(json.loads(value))


def _broken(checked: int, seq: int, problem: str, prev_hash: str) -> VerifyResult:
    last = Checkpoint(seq=checked, hash=prev_hash) if checked else None
    return VerifyResult(ok=False, checked=checked, first_bad_seq=seq, problem=problem, head=last)


def _raw_rows(session: Session, batch: int = 50_000) -> Iterator[RowTuple]:
    """The table in ``seq`` order, read raw (JSON as stored text) through the driver's own cursor.

    Raw reads on the session's connection (so they see its transaction) skip
    SQLAlchemy's per-value result processing, which is most of the cost of
    walking a million rows. SQLite streams one query; PostgreSQL pages by
    ``seq`` so memory stays flat.
    """
    conn = session.connection()
    pg = conn.dialect.name == "postgresql"
    cast_ = "::text" if pg else ""
    columns = (f"seq, at, actor, source, action, object_type, object_id, before{cast_}, after{cast_}, reason, "
               f"prev_hash, hash, mac")
    raw = conn.connection.dbapi_connection
    if raw is None:  # pragma: no cover - a closed connection
        raise AuditError("the session's connection is closed")
    cur = raw.cursor()
    try:
        if not pg:
            cur.execute(f"SELECT {columns} FROM audit_log ORDER BY seq")
            while chunk := cur.fetchmany(batch):
                yield from chunk
            return
        last: int | None = None  # the first page has no lower bound: a forged seq <= 0 is seen too
        while True:
            if last is None:
                cur.execute(f"SELECT {columns} FROM audit_log ORDER BY seq LIMIT %s", (batch,))
            else:
                cur.execute(f"SELECT {columns} FROM audit_log WHERE seq > %s ORDER BY seq LIMIT %s", (last, batch))
            chunk = cur.fetchall()
            if not chunk:
                return
            yield from chunk
            last = chunk[-1][0]
            if len(chunk) < batch:
                return
    finally:
        cur.close()


def verify(session: Session, checkpoint: Checkpoint | None = None, *, key: bytes | None = None) -> VerifyResult:
    """Verify the whole table (see :func:`verify_rows`); pass :func:`audit_key` to check the MACs too."""
    return verify_rows(_raw_rows(session), checkpoint, json_text=True, key=key)


def count(session: Session) -> int:
    return int(session.execute(select(func.count()).select_from(AuditRecord)).scalar_one())




# --------------------------------------------------------------------------- reading


#: The days an audit query may start from: anything else is a typo, and 0001-01-01 at 00:00 in
#: Asia/Shanghai is not even a representable UTC instant (issue 14, row 8).
FIRST_DAY = dt.date(1970, 1, 1)
LAST_DAY = dt.date(9998, 12, 31)


def start_of_day(day: dt.date, tz: dt.tzinfo) -> dt.datetime:
    """00:00 of ``day`` in ``tz`` as a UTC instant, for ``--since``/``?since=``; refuses days out of range."""
    if not FIRST_DAY <= day <= LAST_DAY:
        raise AuditError(f"since {day.isoformat()} is out of range ({FIRST_DAY.isoformat()} to "
                         f"{LAST_DAY.isoformat()})")
    return dt.datetime.combine(day, dt.time(), tzinfo=tz).astimezone(dt.timezone.utc)


@dataclass(frozen=True, kw_only=True, slots=True)
class AuditFilter:
    """What ``duban audit list/export`` and the dashboard's audit page narrow to: the one audit filter.

    Every field is optional and all given ones must hold. ``object`` is
    ``TYPE:ID`` (``obligation:12``), or a bare word matching either a type
    (``user``, ``event``) or an id (``lin-yu``); ``object_type`` and
    ``object_id`` match one column each (the dashboard's separate fields);
    ``action`` is exact (``obligation.completed``) or a prefix ending in ``*``
    (``event.*``); ``since`` is an instant (see :func:`start_of_day`).
    """

    since: dt.datetime | None = None
    actor: str | None = None
    object: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    action: str | None = None
    source: str | None = None

    def __post_init__(self) -> None:
        if self.since is not None and self.since.tzinfo is None:
            raise AuditError(f"since must be an aware instant, got naive {self.since!r}")


def filter_query(stmt: Any, f: AuditFilter) -> Any:
    """``stmt`` (a select over :class:`AuditRecord`) narrowed by ``f``."""
    if f.since is not None:
        stmt = stmt.where(AuditRecord.at >= f.since)
    if f.actor:
        stmt = stmt.where(AuditRecord.actor == f.actor)
    if f.source:
        stmt = stmt.where(AuditRecord.source == f.source)
    if f.action:
        if f.action.endswith("*"):
            stmt = stmt.where(AuditRecord.action.startswith(f.action[:-1], autoescape=True))
        else:
            stmt = stmt.where(AuditRecord.action == f.action)
    if f.object_type:
        stmt = stmt.where(AuditRecord.object_type == f.object_type)
    if f.object_id:
        stmt = stmt.where(AuditRecord.object_id == f.object_id)
    if f.object:
        otype, sep, oid = f.object.partition(":")
        if sep:
            stmt = stmt.where(AuditRecord.object_type == otype, AuditRecord.object_id == oid)
        else:
            stmt = stmt.where(or_(AuditRecord.object_type == f.object, AuditRecord.object_id == f.object))
    return stmt


def records(session: Session, f: AuditFilter | None = None, *, batch: int = 5_000) -> Iterator[AuditRecord]:
    """Matching records oldest first, fetched in keyset-paged batches (an export can be large)."""
    f = f or AuditFilter()
    last = 0
    while True:
        chunk = session.scalars(filter_query(select(AuditRecord), f).where(AuditRecord.seq > last)
                                .order_by(AuditRecord.seq).limit(batch)).all()
        if not chunk:
            return
        yield from chunk
        for rec in chunk:  # keep memory flat on a long export (the rows are read-only here)
            session.expunge(rec)
        last = chunk[-1].seq


def latest(session: Session, f: AuditFilter | None = None, *, n: int) -> list[AuditRecord]:
    """The newest ``n`` matching records, oldest first."""
    stmt = filter_query(select(AuditRecord), f or AuditFilter()).order_by(AuditRecord.seq.desc()).limit(n)
    return list(reversed(session.scalars(stmt).all()))


def record_json(rec: AuditRecord) -> dict[str, Any]:
    """A record as JSON (UTC instant with microseconds, so an export can be re-hashed and its MAC checked)."""
    return {"seq": rec.seq, "at": rec.at.astimezone(dt.timezone.utc).isoformat(timespec="microseconds"),
            "actor": rec.actor, "source": rec.source, "action": rec.action, "object_type": rec.object_type,
            "object_id": rec.object_id, "before": rec.before, "after": rec.after, "reason": rec.reason,
            "prev_hash": rec.prev_hash, "hash": rec.hash, "mac": rec.mac}


ExportFormat = Literal["csv", "jsonl"]


def export(session: Session, out: TextIO, fmt: ExportFormat, f: AuditFilter | None = None, *,
           limit: int | None = None) -> int:
    """Write matching records to ``out`` as CSV (before/after as canonical JSON) or JSON lines.

    ``limit`` keeps the newest N matching records (as ``audit list --limit``).
    Returns how many records were written. The hashes are included, so an
    export kept elsewhere is itself evidence of what the log held. CSV cells
    that a spreadsheet would run as a formula are neutralised (:func:`csv_safe`);
    JSON lines keep the values exactly.
    """
    if fmt not in ("csv", "jsonl"):
        raise AuditError(f"export format must be csv or jsonl, got {fmt!r}")
    found: Iterable[AuditRecord] = records(session, f) if limit is None else latest(session, f, n=limit)
    n = 0
    if fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(EXPORT_COLUMNS)
        for rec in found:
            row = record_json(rec)
            writer.writerow([_csv_cell(row[c]) for c in EXPORT_COLUMNS])
            n += 1
        return n
    for rec in found:
        out.write(_canonical(record_json(rec)) + "\n")
        n += 1
    return n


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: Any) -> Any:
    """Neutralise text a spreadsheet would run as a formula (CSV injection): prefix it with ``'``.

    The one copy of the rule: the audit export and the reports both use it.
    """
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return _canonical(value)
    return csv_safe(value)


def rows_from_records(recs: Sequence[dict[str, Any]]) -> list[RowTuple]:
    """Exported JSON records back to verifier tuples, with their MACs (for checking an export offline)."""
    return [tuple(r.get(c) for c in EXPORT_COLUMNS) for r in recs]
