"""The audit log: one record per state change, its commands, and tamper detection (SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path

import pytest
from duban.engine.deadlines.calendar import WorkingCalendar
from duban.errors import DubanError
from duban.store import audit
from duban.store.models import (
    AuditRecord,
    Event,
    Obligation,
    Occurrence,
    Requirement,
    Task,
    Unit,
)
from helpers import run
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.exc import DBAPIError

REPO = Path(__file__).resolve().parent.parent
CAL = WorkingCalendar.default()


def ob_id(s, task: int, req: int, unit: str) -> int:
    return s.execute(select(Obligation.id).join(Unit, Unit.id == Obligation.unit_id).join(Requirement).join(Task)
                     .where(Obligation.plan_id == "jieyang-2016-disclosure", Task.no == task, Requirement.no == req,
                            Unit.name == unit).order_by(Obligation.id)).scalars().first()


def audit_rows(store) -> list[tuple[int, str]]:
    with store.sessions() as s:
        return [tuple(r) for r in s.execute(select(AuditRecord.seq, AuditRecord.action).order_by(AuditRecord.seq))]


def drop_guard(conn, backend: str) -> None:
    """Disable the append-only guard as a superuser would (inside ``conn``'s transaction on PostgreSQL)."""
    if backend == "sqlite":
        conn.execute(text("DROP TRIGGER IF EXISTS audit_log_no_update"))
        conn.execute(text("DROP TRIGGER IF EXISTS audit_log_no_delete"))
    else:
        conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only"))


# --------------------------------------------------------------------------- one record per change


def test_every_state_changing_command_writes_exactly_one_audit_record(seeded, env_for):
    env = env_for(seeded)
    with seeded.sessions() as s:
        a, b, c, d = (ob_id(s, 0, 1, u) for u in ("市发展改革局", "市财政局", "市教育局", "市公安局"))
    steps: list[tuple[tuple[str, ...], str]] = [
        (("event", "record", "gd_negative_list_doc", "--date", "2016-09-05", "--actor", "督查室"), "event.recorded"),
        (("event", "correct", "1", "--date", "2016-09-06", "--actor", "督查室", "--reason", "更正"), "event.corrected"),
        (("event", "record", "important_policy_doc", "--date", "2016-09-14", "--actor", "督查室"), "event.recorded"),
        (("event", "retract", "2", "--reason", "误登", "--actor", "督查室"), "event.retracted"),
        (("complete", str(a), "--date", "2016-08-04", "--evidence", "http://x.example/1", "--actor", "发改"),
         "obligation.completed"),
        (("extend", "request", str(b), "--until", "2016-08-31", "--reason", "r", "--actor", "财政"),
         "extension.requested"),
        (("extend", "approve", "1", "--actor", "督查室"), "extension.approved"),
        (("extend", "request", str(c), "--until", "2016-08-31", "--reason", "r", "--actor", "教育"),
         "extension.requested"),
        (("extend", "reject", "2", "--reason", "不同意", "--actor", "督查室"), "extension.rejected"),
        (("waive", str(d), "--reason", "职能调整", "--actor", "督查室"), "obligation.waived"),
    ]
    for args, action in steps:
        before = audit_rows(seeded)
        code, _out, err = run(env, *args)
        assert code == 0, (args, err)
        after = audit_rows(seeded)
        assert len(after) == len(before) + 1 and after[-1][1] == action, args
    # Refused commands write nothing.
    for args in (("extend", "approve", "1", "--actor", "督查室"),  # already approved
                 ("complete", str(a), "--date", "2016-08-05", "--evidence", "e", "--actor", "x"),  # already done
                 ("event", "retract", "2", "--reason", "again", "--actor", "督查室")):
        before = audit_rows(seeded)
        assert run(env, *args)[0] == 1
        assert audit_rows(seeded) == before
    code, out, _ = run(env, "audit", "verify")
    assert code == 0 and "intact" in out


def _append_then_fail(original):
    def wrapper(*args, **kwargs):
        original(*args, **kwargs)
        raise DubanError("simulated failure after the audit record was written")

    return wrapper


def test_a_failing_command_rolls_back_the_change_and_its_audit_record(seeded, env_for, monkeypatch):
    env = env_for(seeded)
    with seeded.sessions() as s:
        a = ob_id(s, 0, 1, "市发展改革局")
    assert run(env, "extend", "request", str(a), "--until", "2016-08-31", "--reason", "r", "--actor", "发改")[0] == 0
    before = audit_rows(seeded)
    monkeypatch.setattr(audit, "append", _append_then_fail(audit.append))
    for args in (("event", "record", "gd_negative_list_doc", "--date", "2016-09-05", "--actor", "督查室"),
                 ("complete", str(a), "--date", "2016-08-04", "--evidence", "e", "--actor", "发改"),
                 ("extend", "approve", "1", "--actor", "督查室"),
                 ("waive", str(a), "--reason", "r", "--actor", "督查室")):
        code, _out, err = run(env, *args)
        assert code == 1 and "simulated failure" in err
    monkeypatch.undo()
    assert audit_rows(seeded) == before
    with seeded.sessions() as s:
        assert s.execute(select(func.count()).select_from(Event)).scalar_one() == 0
        [occ] = s.scalars(select(Occurrence).where(Occurrence.obligation_id == a)).all()
        assert (occ.state, occ.due, occ.evidence) == ("open", dt.date(2016, 8, 4), None)
        assert s.get(Obligation, a).state == "active"
        triggered = s.scalars(select(Obligation.id).where(Obligation.trigger_key == "gd_negative_list_doc")).all()
        assert s.execute(select(func.count()).select_from(Occurrence)
                         .where(Occurrence.obligation_id.in_(triggered))).scalar_one() == 0


# --------------------------------------------------------------------------- list, export, verify, checkpoint


def test_audit_list_filters_and_export(seeded, env_for, tmp_path):
    env = env_for(seeded)
    with seeded.sessions() as s:
        a = ob_id(s, 0, 1, "市发展改革局")
    run(env, "event", "record", "gd_task29_doc", "--date", "2016-12-01", "--actor", "督查室林瑜")
    run(env, "complete", str(a), "--date", "2016-08-04", "--evidence", "=HYPERLINK(\"http://evil\")", "--actor", "发改")
    code, out, _ = run(env, "audit", "list", "--json")
    everything = json.loads(out)
    assert [r["action"] for r in everything][-2:] == ["event.recorded", "obligation.completed"]
    assert set(everything[0]) == set(audit.EXPORT_COLUMNS)
    code, out, _ = run(env, "audit", "list", "--actor", "督查室林瑜", "--json")
    assert [r["action"] for r in json.loads(out)] == ["event.recorded"]
    code, out, _ = run(env, "audit", "list", "--object", f"obligation:{a}", "--json")
    [rec] = json.loads(out)
    assert rec["after"]["completed_on"] == "2016-08-04" and rec["before"]["due"] == "2016-08-04"
    code, out, _ = run(env, "audit", "list", "--object", "event", "--json")
    assert len(json.loads(out)) == 1
    code, out, _ = run(env, "audit", "list", "--action", "plan.*", "--json")
    assert {r["action"] for r in json.loads(out)} == {"plan.created"}
    code, out, _ = run(env, "audit", "list", "--since", "2999-01-01", "--json")
    assert json.loads(out) == []
    code, out, _ = run(env, "audit", "list", "--since", "2000-01-01", "--limit", "1")
    assert out.startswith(f"{len(everything)}\t") and "obligation.completed" in out
    # Exports carry the hashes; a JSONL export verifies offline.
    code, out, _ = run(env, "audit", "export", "--format", "jsonl")
    records = [json.loads(line) for line in out.splitlines()]
    assert len(records) == len(everything)
    assert audit.verify_rows(audit.rows_from_records(records)).ok
    records[1]["actor"] = "someone else"
    assert audit.verify_rows(audit.rows_from_records(records)).first_bad_seq == 2
    target = tmp_path / "audit.csv"
    code, _out, err = run(env, "audit", "export", "--format", "csv", "-o", str(target), "--action", "obligation.*")
    assert code == 0 and "1 record(s) exported" in err
    rows = list(csv.reader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert rows[0] == list(audit.EXPORT_COLUMNS) and len(rows) == 2
    assert json.loads(rows[1][8])["evidence"] == "=HYPERLINK(\"http://evil\")"


def test_audit_verify_and_checkpoint_commands(seeded, env_for, tmp_path):
    env = env_for(seeded)
    run(env, "event", "record", "gd_task29_doc", "--date", "2016-12-01", "--actor", "督查室")
    checkpoint = tmp_path / "head.json"
    code, out, _ = run(env, "audit", "checkpoint", "-o", str(checkpoint))
    assert code == 0
    head = json.loads(out)
    assert json.loads(checkpoint.read_text()) == head and head["seq"] == 4 and len(head["hash"]) == 64
    code, out, _ = run(env, "audit", "verify", "--checkpoint", str(checkpoint))
    assert code == 0 and "matches checkpoint seq 4" in out
    code, out, _ = run(env, "audit", "verify", "--json")
    assert json.loads(out) == {"ok": True, "checked": 4, "first_bad_seq": None, "problem": None, "head": head,
                               "keyed": False, "unkeyed": 0}
    # A manual edit of the table (as a superuser) is caught, naming the first bad seq.
    with seeded.engine.begin() as conn:
        drop_guard(conn, seeded.backend)
        conn.execute(text("UPDATE audit_log SET actor = 'someone' WHERE seq = 2"))
    code, _out, err = run(env, "audit", "verify")
    assert code == 1 and "BROKEN at seq 2" in err
    with seeded.engine.begin() as conn:
        drop_guard(conn, seeded.backend)
        conn.execute(text("DELETE FROM audit_log WHERE seq >= 2"))
    code, out, _ = run(env, "audit", "verify")
    assert code == 0  # the chain alone cannot see a cut tail...
    code, _out, err = run(env, "audit", "verify", "--checkpoint", str(checkpoint))
    assert code == 1 and "BROKEN at seq 2" in err and "truncated" in err  # ...the checkpoint can
    bad = tmp_path / "bad.json"
    bad.write_text('{"seq": "4", "hash": "abc"}')
    code, _out, err = run(env, "audit", "verify", "--checkpoint", str(bad))
    assert code == 1 and "seq must be a whole number" in err
    code, _out, err = run(env, "audit", "verify", "--checkpoint", str(tmp_path / "missing.json"))
    assert code == 1 and "cannot read checkpoint" in err


def test_an_empty_log_has_a_genesis_checkpoint(store, env_for):
    code, out, _ = run(env_for(store), "audit", "checkpoint")
    assert code == 0 and json.loads(out) == {"seq": 0, "hash": audit.GENESIS}
    with store.sessions() as s:
        assert audit.verify(s, audit.EMPTY).ok


# --------------------------------------------------------------------------- tampering, in memory


def _chain(n: int) -> list[tuple]:
    """A genuine chain of ``n`` records with varied content (Chinese text, nulls, nested JSON)."""
    rows: list[tuple] = []
    prev = audit.GENESIS
    start = dt.datetime(2016, 9, 5, 1, 2, 3, 456789, tzinfo=dt.timezone.utc)
    actions = ["event.recorded", "obligation.completed", "extension.approved", "obligation.waived", "tick.decided"]
    for i in range(n):
        seq = i + 1
        content = dict(at=start + dt.timedelta(minutes=7 * i, microseconds=i), actor=["督查室林瑜", "市发改局", "scheduler"][i % 3],
                       source=["cli", "web", "scheduler"][i % 3], action=actions[i % len(actions)],
                       object_type=["event", "obligation", "extension"][i % 3], object_id=str(100 + i),
                       before=None if i % 4 == 0 else {"state": "open", "due": f"2016-09-{1 + i % 28:02d}"},
                       after={"state": "done", "evidence": f"http://www.jieyang.gov.cn/{i}", "n": i, "列表": [i, None]},
                       reason=None if i % 3 else f"理由{i}")
        digest = audit.record_hash(seq=seq, prev_hash=prev, **content)
        rows.append((seq, content["at"], content["actor"], content["source"], content["action"],
                     content["object_type"], content["object_id"], content["before"], content["after"],
                     content["reason"], prev, digest))
        prev = digest
    return rows


CHAIN = _chain(60)
HEAD = audit.Checkpoint(seq=CHAIN[-1][0], hash=CHAIN[-1][11])
FIELDS = list(audit.COLUMNS)


def _renumber(rows: list[tuple], start: int = 0) -> list[tuple]:
    return rows[:start] + [(i + 1, *r[1:]) for i, r in enumerate(rows[start:], start=start)]


def _changed(value, draw_int: int):
    """A different value of the same kind (the smallest edit a forger could make)."""
    if isinstance(value, bool) or value is None:
        return {"forged": draw_int} if draw_int % 2 else f"forged{draw_int}"
    if isinstance(value, int):
        return value + 1 + draw_int
    if isinstance(value, dt.datetime):
        return value + dt.timedelta(microseconds=1 + draw_int)
    if isinstance(value, str):
        if len(value) == 64 and all(c in "0123456789abcdef" for c in value):
            pos = draw_int % 64
            return value[:pos] + ("0" if value[pos] != "0" else "1") + value[pos + 1:]
        return value + "改" if draw_int % 2 else "x" + value[1:] if value[:1] != "x" else "y" + value[1:]
    if isinstance(value, dict):
        changed = dict(value)
        key = sorted(changed)[draw_int % len(changed)]
        changed[key] = _changed(changed[key], draw_int)
        return changed
    if isinstance(value, list):
        return [*value, draw_int]
    raise AssertionError(value)


OPS = ["flip", "delete", "delete_renumber", "insert_forged", "insert_bad_hash", "insert_duplicate_seq", "swap",
       "reorder", "truncate"]


def tamper(rows: list[tuple], op: str, i: int, j: int, k: int) -> tuple[list[tuple], int]:
    """Apply one tampering; return the tampered copy and the seq the verifier must name."""
    n = len(rows)
    rows = list(rows)
    if op == "flip":
        field = k % len(FIELDS)
        row = list(rows[i])
        row[field] = _changed(row[field], k)
        rows[i] = tuple(row)
        return rows, i + 1
    if op == "delete":
        del rows[i]
        return rows, i + 1
    if op == "delete_renumber":
        del rows[i]
        return _renumber(rows, i), i + 1
    if op in ("insert_forged", "insert_bad_hash", "insert_duplicate_seq"):
        # A forger's record before an existing one (after the last it is an ordinary append: see store/audit.py).
        prev = rows[i - 1][11] if i else audit.GENESIS
        content = dict(at=rows[i][1], actor="伪造者", source="cli", action="obligation.completed",
                       object_type="obligation", object_id="1", before=None, after={"forged": k}, reason=None)
        digest = audit.record_hash(seq=i + 1, prev_hash=prev, **content)
        if op == "insert_bad_hash":
            digest = _changed(digest, k)
        forged = (i + 1, *content.values(), prev, digest)
        rows.insert(i, forged)
        if op != "insert_duplicate_seq":
            rows = _renumber(rows, i + 1)
        return rows, (i + 1 if op == "insert_bad_hash" else i + 2)
    if op == "swap":
        a, b = sorted((i, j if j != i else (i + 1) % n))
        rows[a], rows[b] = (a + 1, *rows[b][1:]), (b + 1, *rows[a][1:])
        return rows, a + 1
    if op == "reorder":
        target = j if j != i else (i + 1) % n
        row = rows.pop(i)
        rows.insert(target, row)
        return _renumber(rows), min(i, target) + 1
    if op == "truncate":
        cut = 1 + k % n
        return rows[:n - cut], n - cut + 1
    raise AssertionError(op)


@settings(max_examples=1000, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(op=st.sampled_from(OPS), i=st.integers(0, len(CHAIN) - 1), j=st.integers(0, len(CHAIN) - 1),
       k=st.integers(0, 10_000))
def test_a_thousand_random_tamperings_are_all_detected_in_memory(op, i, j, k):
    untampered = list(CHAIN)
    assert audit.verify_rows(untampered, HEAD).ok  # no false alarm on an untampered copy
    rows, expected = tamper(CHAIN, op, i, j, k)
    result = audit.verify_rows(rows, HEAD)
    assert not result.ok, (op, i, j, k)
    assert result.first_bad_seq == expected, (op, i, j, k, result.problem)


def test_growth_after_a_checkpoint_is_not_an_alarm():
    grown = _chain(80)
    assert grown[:60] == CHAIN  # the same content hashes the same
    assert audit.verify_rows(grown, HEAD).ok
    older = audit.Checkpoint(seq=30, hash=CHAIN[29][11])
    assert audit.verify_rows(CHAIN, older).ok
    assert not audit.verify_rows(CHAIN, audit.Checkpoint(seq=30, hash=CHAIN[28][11])).ok


# --------------------------------------------------------------------------- tampering, in the database

DB_TAMPERINGS = [(op, pos) for op in ("flip_actor", "flip_after", "flip_at", "flip_hash", "flip_prev", "delete",
                                      "insert_forged_tail", "insert_middle", "swap", "truncate")
                 for pos in (1, 13, 30)]


def _db_tamper(s, op: str, pos: int, n: int) -> int:
    """Tamper with the real table inside the session's transaction; return the seq verify must name."""
    t = AuditRecord.__table__
    row = s.execute(select(t).where(t.c.seq == pos)).mappings().one()
    if op == "flip_actor":
        s.execute(update(t).where(t.c.seq == pos).values(actor=row["actor"] + "改"))
    elif op == "flip_after":
        s.execute(update(t).where(t.c.seq == pos).values(after={**(row["after"] or {}), "forged": True}))
    elif op == "flip_at":
        s.execute(update(t).where(t.c.seq == pos).values(at=row["at"] + dt.timedelta(microseconds=1)))
    elif op == "flip_hash":
        s.execute(update(t).where(t.c.seq == pos).values(hash=_changed(row["hash"], pos)))
    elif op == "flip_prev":
        s.execute(update(t).where(t.c.seq == pos).values(prev_hash=_changed(row["prev_hash"], pos)))
    elif op == "delete":
        s.execute(t.delete().where(t.c.seq == pos))
        return pos
    elif op == "insert_forged_tail":
        s.execute(insert(t).values({**row, "seq": n + 1, "actor": "伪造者"}))  # copies an old record's hash
        return n + 1
    elif op == "insert_middle":
        s.execute(update(t).where(t.c.seq >= pos).values(seq=t.c.seq + 1_000_000))
        s.execute(update(t).where(t.c.seq >= 1_000_000).values(seq=t.c.seq - 999_999))
        s.execute(insert(t).values({**row, "seq": pos, "actor": "伪造者"}))
    elif op == "swap":
        other = s.execute(select(t).where(t.c.seq == pos + 2)).mappings().one()
        s.execute(update(t).where(t.c.seq == pos).values({**other, "seq": pos}))
        s.execute(update(t).where(t.c.seq == pos + 2).values({**row, "seq": pos + 2}))
    elif op == "truncate":
        s.execute(t.delete().where(t.c.seq >= pos))
    return pos


def test_tampering_with_the_real_table_is_detected_and_rolled_back(store):
    n = 32
    with store.sessions() as s, s.begin():
        for i in range(n):
            audit.append(s, actor=["督查室", "市发改局"][i % 2], source="cli", action="obligation.completed",
                         object_type="obligation", object_id=i,
                         before={"state": "open"}, after={"evidence": f"http://www.jieyang.gov.cn/{i}", "名": "中文"},
                         reason=None if i % 2 else "按时")
    with store.sessions() as s:
        checkpoint = audit.head(s)
    assert checkpoint is not None and checkpoint.seq == n
    if store.backend == "sqlite":  # SQLite runs DDL outside the transaction: drop the guard once, for good
        with store.engine.begin() as conn:
            drop_guard(conn, "sqlite")
    for op, pos in DB_TAMPERINGS:
        with store.sessions() as s:
            if store.backend == "postgresql":
                drop_guard(s, "postgresql")  # rolled back with the tampering
            expected = _db_tamper(s, op, pos, n)
            result = audit.verify(s, checkpoint)
            s.rollback()
        assert not result.ok, (op, pos)
        assert result.first_bad_seq == expected, (op, pos, result.problem)
        with store.sessions() as s:
            assert audit.verify(s, checkpoint).ok, f"false alarm after rolling back {op} at {pos}"
    if store.backend == "postgresql":  # the guard came back with the rollback
        with pytest.raises(DBAPIError, match="append-only"), store.engine.begin() as conn:
            conn.execute(text("UPDATE audit_log SET actor = 'x' WHERE seq = 1"))
