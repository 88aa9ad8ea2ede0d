"""Bulk inserts that are fast on both backends.

SQLite: the first row goes in with ``INSERT … RETURNING id``, which takes the
database's write lock and gives the next free rowid; the other rows get the
following ids explicitly and go in with one ``executemany`` (SQLite hands out
``max(rowid) + 1`` and nobody else can write until the transaction ends, so
the ids are exactly the ones it would have chosen; asking for RETURNING on
every row would make SQLAlchemy insert them one statement at a time).
PostgreSQL: ``COPY … FROM STDIN``, after reserving the ids from the table's
sequence in one query (multi-row INSERTs are slow there: psycopg re-parses
every long statement in Python). Both return the new ids in input order.

Two entry points: :func:`bulk_insert` takes dicts keyed by column name (any
caller; on SQLite it goes through SQLAlchemy's ``insert()``, so Python-side
defaults of every kind apply); :func:`insert_tuples` takes tuples in a given
column order and skips building a dict per row — the plan import's path for
hundreds of thousands of rows.
"""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import JSON, Table, func, insert, select
from sqlalchemy.orm import Session

T = TypeVar("T")

CHUNK = 5000


def bulk_insert(session: Session, table: Table, rows: Sequence[dict[str, Any]], *, want_ids: bool = False) -> list[int]:
    """Insert ``rows`` (dicts keyed by column name) into ``table``; ids in input order if asked."""
    if not rows:
        return []
    conn = session.connection()
    if conn.dialect.name != "postgresql":
        ids: list[int] = []
        if want_ids:
            first = conn.execute(insert(table).returning(table.c.id), [dict(rows[0])]).scalar_one()
            ids = list(range(first, first + len(rows)))
            rows = [{**row, "id": new_id} for row, new_id in zip(rows[1:], ids[1:])]
        for start in range(0, len(rows), CHUNK):
            conn.execute(insert(table), list(rows[start:start + CHUNK]))
        return ids
    columns = [c.name for c in table.columns if c.name in rows[0]]
    return insert_tuples(session, table, columns, [tuple(row[c] for c in columns) for row in rows],
                         want_ids=want_ids, skip_computed_defaults=True)


def insert_tuples(session: Session, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]], *,
                  want_ids: bool = False, skip_computed_defaults: bool = False) -> list[int]:
    """Insert ``rows`` (tuples of ``columns``' values) into ``table``; ids in input order if asked.

    A column not listed gets its scalar Python-side default (``default="open"``);
    one with a callable default (``default=list``, ``default=utcnow``) must be
    listed (``skip_computed_defaults``: leave it to the database instead, which
    is what :func:`bulk_insert` always did on PostgreSQL). JSON values are
    Python objects, encoded here (once per object: the rows of one import
    share them).
    """
    if not rows:
        return []
    defaults = _defaults(table, columns, want_ids, skip_computed_defaults)
    names = [*columns, *defaults]
    extra = tuple(defaults.values())
    json_at = [i for i, name in enumerate(columns) if isinstance(table.c[name].type, JSON)]
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        ids = _reserve(session, table, len(rows)) if want_ids else []
        _copy(_dbapi(session), table, ["id", *names] if want_ids else names, rows, ids, extra, json_at)
        _analyze_if_grown(session, table, len(rows))
        return ids
    return _sqlite(session, table, names, rows, extra, want_ids)


def _defaults(table: Table, columns: Sequence[str], want_ids: bool, skip_computed: bool) -> dict[str, Any]:
    """The scalar defaults of the columns not listed (``id`` aside); refuses a missing computed default."""
    out: dict[str, Any] = {}
    for col in table.columns:
        if col.name in columns or col.name == "id" or col.default is None:
            continue
        if not col.default.is_scalar:
            if skip_computed:
                continue
            raise ValueError(f"{table.name}.{col.name} has a computed default: list it with its values")
        out[col.name] = col.default.arg
    if want_ids and "id" in columns:
        raise ValueError("want_ids hands out the ids: do not list the id column as well")
    return out


def reserve_ids(session: Session, counts: Mapping[Table, int]) -> dict[str, list[int]]:
    """Draw ``counts[table]`` new ids for each table, by table name, for rows inserted with their ids given.

    PostgreSQL: one query draws them all from the tables' sequences (each id
    is ``nextval``'s, so concurrent writers never collide). SQLite: the ids
    after the table's largest, which are the ones SQLite would choose itself;
    call it inside a transaction that has already written (SQLite's write
    lock keeps any other writer out until it ends).
    """
    conn = session.connection()
    if conn.dialect.name != "postgresql":
        out: dict[str, list[int]] = {}
        for table, n in counts.items():
            top = conn.execute(select(func.max(table.c.id))).scalar_one() or 0
            out[table.name] = list(range(top + 1, top + 1 + n))
        return out
    tables = list(counts)
    params: dict[str, Any] = {}
    parts = []
    for i, table in enumerate(tables):
        params[f"s{i}"], params[f"n{i}"] = _sequence(session, table), counts[table]
        parts.append(f"(SELECT array_agg(nextval(%(s{i})s) ORDER BY i) FROM generate_series(1, %(n{i})s) AS i)")
    row = conn.exec_driver_sql("SELECT " + ", ".join(parts), params).one()
    return {table.name: list(ids or ()) for table, ids in zip(tables, row)}


def _sequence(session: Session, table: Table) -> str:
    """The name of the sequence behind ``table.id`` (PostgreSQL), looked up once per session."""
    sequences: dict[str, str] = session.info.setdefault("duban_bulk_sequences", {})
    seq = sequences.get(table.name)
    if seq is None:
        seq = sequences[table.name] = session.connection().exec_driver_sql(
            "SELECT pg_get_serial_sequence(%(t)s, 'id')", {"t": table.name}).scalar_one()
    return seq


def _reserve(session: Session, table: Table, n: int) -> list[int]:
    """``n`` ids from the table's sequence (PostgreSQL), in one query."""
    return reserve_ids(session, {table: n})[table.name]


def _dbapi(session: Session) -> Any:
    """The DB-API (psycopg) connection under the session's connection."""
    raw = session.connection().connection.dbapi_connection
    if raw is None:  # pragma: no cover - a checked-out connection always has one
        raise RuntimeError("no DB-API connection behind the session")
    return raw


def _copy(raw: Any, table: Table, names: Sequence[str], rows: Sequence[Sequence[Any]], ids: Sequence[int],
          extra: tuple[Any, ...], json_at: Sequence[int]) -> None:
    """``COPY`` the rows in on the psycopg connection ``raw`` (ids, when given, in front; ``extra`` behind)."""
    # Rows of one import share their JSON values (every obligation of a deadline has the same
    # spec object): encode each object once. Keyed by id(), with the object kept alive beside
    # its text, so an id cannot be reused by another object during the call.
    encoded: dict[int, tuple[Any, str]] = {}

    def as_json(value: Any) -> str | None:
        if value is None:
            return None
        hit = encoded.get(id(value))
        if hit is None or hit[0] is not value:
            hit = encoded[id(value)] = (value, json.dumps(value, ensure_ascii=False))
        return hit[1]

    quoted = ", ".join(f'"{c}"' for c in names)
    with raw.cursor() as cur, cur.copy(f'COPY "{table.name}" ({quoted}) FROM STDIN') as copy:
        write = copy.write_row
        for i, row in enumerate(rows):
            if json_at:
                row = list(row)
                for j in json_at:
                    row[j] = as_json(row[j])
            if ids:
                write((ids[i], *row, *extra))
            elif extra:
                write((*row, *extra))
            else:
                write(row)


def _sqlite(session: Session, table: Table, names: Sequence[str], rows: Sequence[Sequence[Any]],
            extra: tuple[Any, ...], want_ids: bool) -> list[int]:
    """``executemany`` of the driver, each value through its column type's bind processor (as ``insert()`` does)."""
    conn = session.connection()
    dialect = conn.dialect
    procs = [table.c[name].type._cached_bind_processor(dialect) for name in names]  # noqa: SLF001 - SQLAlchemy's own
    quote = dialect.identifier_preparer.quote

    def bound(row: Sequence[Any]) -> tuple[Any, ...]:
        values = (*row, *extra) if extra else row
        return tuple(v if p is None or v is None else p(v) for v, p in zip(values, procs))

    cols = ", ".join(quote(n) for n in names)
    marks = ", ".join("?" for _ in names)
    ids: list[int] = []
    start = 0
    if want_ids:
        first = conn.exec_driver_sql(f"INSERT INTO {quote(table.name)} ({cols}) VALUES ({marks}) RETURNING id",
                                     bound(rows[0])).scalar_one()
        ids = list(range(first, first + len(rows)))
        cols, marks, procs = f"id, {cols}", f"?, {marks}", [None, *procs]
        rows = [(new_id, *row) for new_id, row in zip(ids[1:], rows[1:])]
    sql = f"INSERT INTO {quote(table.name)} ({cols}) VALUES ({marks})"
    for chunk in chunked(rows, CHUNK):
        conn.exec_driver_sql(sql, [bound(row) for row in chunk])
    return ids


def _analyze_if_grown(session: Session, table: Table, added: int) -> None:
    """ANALYZE a table whenever the rows this session copied into it have doubled.

    An import writes a province in one transaction; autovacuum does not see
    uncommitted rows, so without this the planner keeps the statistics of an
    empty table and the importer's later look-ups (by plan, by obligation)
    become sequential scans: the import slowed from 7,700 to 4,000
    obligations/s between 10k and 100k rows. Doubling keeps it to
    log2(N) ANALYZEs (each samples a fixed 30,000 rows).
    """
    seen: dict[str, list[int]] = session.info.setdefault("duban_bulk_rows", {})
    total, analysed_at = seen.setdefault(table.name, [0, 0])
    total += added
    if total >= max(2 * analysed_at, analysed_at + 5000):
        quoted = session.connection().dialect.identifier_preparer.quote(table.name)
        session.connection().exec_driver_sql(f"ANALYZE {quoted}")
        analysed_at = total
    seen[table.name] = [total, analysed_at]


def chunked(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """``items`` in slices of at most ``size`` (IN lists and batches stay under the drivers' limits)."""
    for i in range(0, len(items), size):
        yield items[i:i + size]


class BulkWriter:
    """Bulk inserts that run while the caller builds the next rows (PostgreSQL); in line on SQLite.

    On PostgreSQL most of a ``COPY``'s cost is the server's: index entries and
    one foreign-key check per row and constraint, run when the data ends. A
    writer thread takes the ``COPY``s in order and waits for the server, so
    the Python that builds the next batch of rows runs on the other core
    meanwhile (psycopg releases the GIL while it waits). The thread uses the
    session's own DB-API connection, inside the session's transaction; the
    caller must not use the session until :meth:`close` returns, which waits
    for every ``COPY``, raises the first error, and ANALYZEs the tables that
    grew (as :func:`insert_tuples` does). On SQLite (a connection of one
    thread) each insert runs at once, as :func:`insert_tuples`.

    Use as a context manager: leaving it, normally or by an exception, waits
    for the thread, so the connection is never in use by two threads.
    """

    def __init__(self, session: Session) -> None:
        self.session = session
        self.postgresql = session.connection().dialect.name == "postgresql"
        self.written: dict[Table, int] = {}
        self.error: BaseException | None = None
        self._jobs: queue.Queue[tuple[Any, ...] | None] = queue.Queue(maxsize=4)
        self._thread: threading.Thread | None = None
        if self.postgresql:
            self._raw = _dbapi(session)
            self._thread = threading.Thread(target=self._run, name="duban-bulk-writer", daemon=True)
            self._thread.start()

    def insert(self, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """Queue ``rows`` (tuples of ``columns``' values, ids included if wanted) for ``table``, after earlier ones."""
        if not rows:
            return
        if not self.postgresql:
            insert_tuples(self.session, table, columns, rows)
            return
        if self.error is not None:
            raise self.error
        defaults = _defaults(table, columns, False, False)
        json_at = [i for i, name in enumerate(columns) if isinstance(table.c[name].type, JSON)]
        self._jobs.put((table, [*columns, *defaults], rows, tuple(defaults.values()), json_at))
        self.written[table] = self.written.get(table, 0) + len(rows)

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            if self.error is None:
                table, names, rows, extra, json_at = job
                try:
                    _copy(self._raw, table, names, rows, (), extra, json_at)
                except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread by close()
                    self.error = exc

    def close(self) -> None:
        """Wait for every queued insert; raise the first error; ANALYZE what grew."""
        if self._thread is not None:
            self._jobs.put(None)
            self._thread.join()
            self._thread = None
            if self.error is not None:
                raise self.error
            for table, added in self.written.items():
                _analyze_if_grown(self.session, table, added)

    def __enter__(self) -> BulkWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
