"""The tick's stage records, written in bulk: one ``executemany`` (SQLite) or one ``COPY`` (PostgreSQL).

A busy tick at 1,000,000 obligations records ~150,000 stages (sent, and the
earlier ones skipped on a first tick). Through SQLAlchemy's ``insert()`` each
row is a dict whose every value passes its type's bind processor: ~13 µs a
row, 2 s in all. Here the rows are tuples, the two values every row shares
(the tick's date and time) are processed once, and the rest — integers,
strings, ``None`` — go to the driver as they are. The stored values are the
ones ``store.bulk.bulk_insert`` stored: processed as SQLAlchemy would on
SQLite, passed to ``COPY`` as they are on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from ...store.models import StageRecord

#: (occurrence id, stage, repeat, action, outbox key or None): what differs between the rows.
RecordRow = tuple[int, str, int, str, "str | None"]

_VARYING = ("occurrence_id", "stage", "repeat", "action", "notification_key")
_SHARED = ("tick_date", "recorded_at")
#: Rows per ``executemany`` call on SQLite.
CHUNK = 20_000


def insert_stage_records(session: Session, rows: Sequence[RecordRow], *, tick_date: dt.date,
                         recorded_at: dt.datetime) -> None:
    """Insert the tick's stage records, in order (ids follow the order, as with ``bulk_insert``)."""
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect
    table = StageRecord.__table__
    for name in _VARYING:  # ints, strings and None need no conversion on either backend
        if _processor(name, dialect) is not None:  # pragma: no cover - a changed column type
            raise TypeError(f"stage_records.{name} now needs a bind processor: write it with bulk_insert")
    columns = ", ".join(dialect.identifier_preparer.quote(name) for name in (*_VARYING, *_SHARED))
    raw: Any = connection.connection.dbapi_connection
    if dialect.name == "postgresql":
        shared: tuple[Any, ...] = (tick_date, recorded_at)
        with raw.cursor() as cursor, cursor.copy(f"COPY stage_records ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row + shared)
        return
    shared = tuple(_bound(name, value, dialect) for name, value in zip(_SHARED, (tick_date, recorded_at)))
    marks = ", ".join("?" for _ in (*_VARYING, *_SHARED))
    cursor = raw.cursor()
    try:
        for start in range(0, len(rows), CHUNK):
            cursor.executemany(f"INSERT INTO stage_records ({columns}) VALUES ({marks})",
                               [row + shared for row in rows[start:start + CHUNK]])
    finally:
        cursor.close()


def _processor(name: str, dialect: Any) -> Any:
    """The bind processor SQLAlchemy applies to column ``name`` on ``dialect`` (``None``: none)."""
    return StageRecord.__table__.c[name].type.dialect_impl(dialect).bind_processor(dialect)


def _bound(name: str, value: Any, dialect: Any) -> Any:
    """``value`` as SQLAlchemy would bind it for column ``name`` on ``dialect``."""
    processor = _processor(name, dialect)
    return value if processor is None else processor(value)
