"""The store on both backends: migrations, UTC timestamps, the audit chain's guard."""

from __future__ import annotations

import datetime as dt

import pytest
from duban.store import audit
from duban.store.db import current_revision, head_revision, upgrade
from duban.store.models import AuditRecord, Event, Plan, Trigger
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import DBAPIError


def test_migrations_create_every_table_and_are_idempotent(store):
    tables = set(inspect(store.engine).get_table_names())
    expected = {"plans", "tasks", "requirements", "deadline_entries", "units", "group_members", "officials",
                "assignments", "obligations", "occurrences", "triggers", "events", "stage_records",
                "notifications", "tick_runs", "leases", "audit_log", "extensions", "users", "user_units",
                "login_attempts"}
    assert expected <= tables
    upgrade(store.engine)  # a second upgrade changes nothing and does not fail
    assert current_revision(store.engine) == head_revision()


def test_timestamps_are_stored_in_utc_and_read_back_aware(store):
    beijing = dt.timezone(dt.timedelta(hours=8))
    at = dt.datetime(2016, 6, 23, 9, 30, tzinfo=beijing)
    with store.sessions() as s, s.begin():
        s.add(Plan(id="p", title="t", issuer="i", published=dt.date(2016, 6, 23), plan_year=2016,
                   units_directory="jieyang", file_path="x", content_hash="0" * 64))
        s.flush()
        trig = Trigger(plan_id="p", key="k", event_kind="provincial_document_issued", description="d")
        s.add(trig)
        s.flush()
        s.add(Event(trigger_id=trig.id, occurred_on=dt.date(2016, 7, 1), occurred_at=at, actor="me"))
    with store.sessions() as s:
        ev = s.scalars(select(Event)).one()
        assert ev.occurred_at == at
        assert ev.occurred_at.utcoffset() == dt.timedelta(0)
        assert ev.occurred_at.hour == 1  # 09:30 in Beijing is 01:30 UTC
    with store.engine.connect() as conn:  # the raw column holds naive UTC
        raw = conn.execute(text("SELECT occurred_at FROM events")).scalar_one()
        assert str(raw).startswith("2016-06-23 01:30")


def test_naive_timestamps_are_refused(store):
    with pytest.raises(Exception, match="naive datetime"):
        with store.sessions() as s, s.begin():
            s.add(Plan(id="p", title="t", issuer="i", published=dt.date(2016, 6, 23), plan_year=2016,
                       units_directory="j", file_path="x", content_hash="0", imported_at=dt.datetime(2016, 1, 1)))


def _append(s, n: int = 3) -> None:
    for i in range(n):
        audit.append(s, actor="林瑜", source="cli", action="test", object_type="thing", object_id=i,
                     before={"v": i}, after={"v": i + 1, "名": "中文"}, reason=None)


def test_audit_chain_links_and_verifies(store):
    with store.sessions() as s, s.begin():
        _append(s, 5)
    with store.sessions() as s:
        result = audit.verify(s)
        assert result.ok and result.checked == 5
        rows = s.scalars(select(AuditRecord).order_by(AuditRecord.seq)).all()
        assert [r.seq for r in rows] == [1, 2, 3, 4, 5]
        assert rows[0].prev_hash == audit.GENESIS
        assert all(b.prev_hash == a.hash for a, b in zip(rows, rows[1:]))
        assert audit.verify(s, audit.head(s)).ok


@pytest.mark.parametrize("statement", ["UPDATE audit_log SET actor = 'x' WHERE seq = 2",
                                       "DELETE FROM audit_log WHERE seq = 3"])
def test_the_database_refuses_to_edit_the_audit_log(store, statement):
    with store.sessions() as s, s.begin():
        _append(s)
    with pytest.raises(DBAPIError, match="append-only"):
        with store.engine.begin() as conn:
            conn.execute(text(statement))
    with store.sessions() as s:
        assert audit.count(s) == 3 and audit.verify(s).ok


def test_audit_rows_roll_back_with_the_change(store):
    with pytest.raises(RuntimeError):
        with store.sessions() as s, s.begin():
            _append(s, 2)
            raise RuntimeError("the change failed")
    with store.sessions() as s:
        assert audit.count(s) == 0


def test_truncated_tail_is_detected_against_a_checkpoint(store):
    with store.sessions() as s, s.begin():
        _append(s, 4)
    with store.sessions() as s:
        checkpoint = audit.head(s)
    assert checkpoint is not None and checkpoint.seq == 4
    # Tamper as a superuser would: drop the guard, delete the tail.
    with store.engine.begin() as conn:
        if store.backend == "sqlite":
            conn.execute(text("DROP TRIGGER audit_log_no_delete"))
        else:
            conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only"))
        conn.execute(text("DELETE FROM audit_log WHERE seq = 4"))
    with store.sessions() as s:
        assert audit.verify(s).ok  # the chain alone cannot see a cut tail...
        bad = audit.verify(s, checkpoint)  # ...the checkpoint can
        assert not bad.ok and bad.first_bad_seq == 4
