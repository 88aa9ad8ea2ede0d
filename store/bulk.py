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
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

from sqlalchemy import JSON, Table, insert, text
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
    return _copy(session, table, rows, want_ids)


def _copy(session: Session, table: Table, rows: Sequence[dict[str, Any]], want_ids: bool) -> list[int]:
    conn = session.connection()
    ids: list[int] = []
    columns = [c.name for c in table.columns if c.name in rows[0] or (c.name == "id" and want_ids)]
    if want_ids:
        seq = conn.execute(text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": table.name}).scalar_one()
        ids = list(conn.execute(text("SELECT nextval(:s) FROM generate_series(1, :n)"),
                                {"s": seq, "n": len(rows)}).scalars())
    json_cols = {c.name for c in table.columns if isinstance(c.type, JSON)}
    defaults = {c.name: c.default.arg for c in table.columns
                if c.default is not None and c.default.is_scalar and c.name not in rows[0]}
    columns += [c for c in defaults if c not in columns]
    raw = conn.connection.dbapi_connection
    if raw is None:  # pragma: no cover - a checked-out connection always has one
        raise RuntimeError("no DB-API connection behind the session")
    # Rows of one import share their JSON values (every obligation of a deadline has the same
    # spec object): encode each object once. Keyed by id(), with the object kept alive beside
    # its text, so an id cannot be reused by another object during the call.
    encoded: dict[int, tuple[Any, str]] = {}

    def as_json(value: Any) -> str:
        hit = encoded.get(id(value))
        if hit is None or hit[0] is not value:
            hit = encoded[id(value)] = (value, json.dumps(value, ensure_ascii=False))
        return hit[1]

    with raw.cursor() as cur:
        quoted = ", ".join(f'"{c}"' for c in columns)
        getters = [(c, c in json_cols, c == "id" and want_ids) for c in columns]
        with cur.copy(f'COPY "{table.name}" ({quoted}) FROM STDIN') as copy:
            for i, row in enumerate(rows):
                values = []
                for col, is_json, is_id in getters:
                    if is_id:
                        values.append(ids[i])
                        continue
                    value = row[col] if col in row else defaults[col]
                    if is_json and value is not None:
                        value = as_json(value)
                    values.append(value)
                copy.write_row(values)
    _analyze_if_grown(session, table, len(rows))
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
