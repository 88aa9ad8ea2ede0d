"""The plan import writes exactly what it wrote before it was made fast, on both backends.

A fixed scenario — the seed plans; an event, a completion and an approved
extension on them; a changed seed (a moved deadline, a deadline kind changed,
a unit dropped, a unit added); the original seed again; two generated
21-city-style province plans; and an import that fails half-way — is run on a
fresh store, and after each step every table the import touches is dumped in
a canonical form (rows by primary key, JSON with sorted keys, wall-clock
timestamps and the audit hash chain left out). The SHA-256 of each dump is
compared with ``fixtures/import_golden.json``, captured from the importer as
it was before the bulk rewrite (the row-per-statement look-ups and the
separate occurrence pass). Ids are part of the dump: the rewrite must hand out
the same ids in the same order. The fixture holds one set per backend: SQLite
reuses the ids of deleted rows (an assignment replaced on re-import), a
PostgreSQL sequence does not.

``DUBAN_IMPORT_GOLDEN=write`` rewrites the fixture (only when the importer's
output is meant to change); ``DUBAN_IMPORT_DUMP_DIR=folder`` also writes each
dump as JSON there, for a diff when a hash differs.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import random
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
from duban.engine.plans.importer import import_result
from duban.engine.plans.planfile import load_plans
from duban.engine.services.completions import complete
from duban.engine.services.events import Projection, record_event
from duban.engine.services.extensions import approve_extension, request_extension
from duban.store import audit
from duban.store.models import Base, Obligation, Occurrence
from helpers import CAL, CHECKINS, DEFAULT_OFFSET, REPO
from sqlalchemy import DateTime, select

sys.path.insert(0, str(REPO / "bench"))
from plan_validate import _plan_file, _units_file  # noqa: E402  (the benchmarks' province generator)

GOLDEN = Path(__file__).parent / "fixtures" / "import_golden.json"
TABLES = ("plans", "tasks", "requirements", "deadline_entries", "triggers", "units", "group_members", "officials",
          "assignments", "obligations", "occurrences", "events", "extensions", "audit_log")
"""What an import (and the scenario's services) write; other tables are no business of the importer's."""
LEFT_OUT = {"audit_log": {"at", "prev_hash", "hash", "mac"}}
PROJ = Projection(calendar=CAL, default_offset=DEFAULT_OFFSET, checkins=CHECKINS)


def _plain(value: Any) -> Any:
    """A JSON-able, backend-independent form of a column value (timestamps inside JSON dropped)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if not k.endswith("_at")}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


def _wall_clock(column: Any) -> bool:
    """A timestamp column (its value is the clock's, not the import's)."""
    return isinstance(column.type, DateTime) or isinstance(getattr(column.type, "impl", None), DateTime)


def dump(store) -> dict[str, list[list[Any]]]:  # type: ignore[no-untyped-def]
    """Every row of :data:`TABLES`, ordered by primary key, wall-clock columns left out."""
    out: dict[str, list[list[Any]]] = {}
    with store.engine.connect() as conn:
        for name in TABLES:
            table = Base.metadata.tables[name]
            cols = [c for c in table.columns if not _wall_clock(c) and c.name not in LEFT_OUT.get(name, set())]
            rows = conn.execute(select(*cols).order_by(*table.primary_key.columns)).all()
            out[name] = [[c.name for c in cols], *([_plain(v) for v in row] for row in rows)]
            if name == "plans":  # the file's folder is the test's temporary one
                at = out[name][0].index("file_path")
                for row in out[name][1:]:
                    row[at] = Path(row[at]).name
    return out


def digest(tables: dict[str, list[list[Any]]]) -> dict[str, str]:
    return {name: f"{len(rows) - 1}:" + hashlib.sha256(
        json.dumps(rows, ensure_ascii=False, sort_keys=True).encode("utf-8")).hexdigest()[:16]
        for name, rows in tables.items()}


def _import(store, folders: list[Path], units: Path) -> None:  # type: ignore[no-untyped-def]
    result = load_plans(folders, units_dirs=[units], calendar=CAL)
    assert result.ok, [e.format() for e in result.errors[:5]]
    with store.sessions() as s, s.begin():
        import_result(s, result, calendar=CAL, actor="test", default_offset=DEFAULT_OFFSET, checkins=CHECKINS)


def _edit(path: Path, *swaps: tuple[str, str, str]) -> None:
    """Apply (anchor, old, new): replace the first ``old`` after ``anchor``."""
    text = path.read_text(encoding="utf-8")
    for anchor, old, new in swaps:
        at = text.index(anchor)
        hit = text.index(old, at)
        text = text[:hit] + new + text[hit + len(old):]
    path.write_text(text, encoding="utf-8")


def _services(store) -> None:  # type: ignore[no-untyped-def]
    """An event, a completion and an approved extension: state a re-import must respect."""
    with store.sessions() as s, s.begin():
        record_event(s, trigger_key="gd_negative_list_doc", on=dt.date(2016, 9, 1), actor="test", proj=PROJ,
                     plan="jieyang-2016-disclosure")
        task3 = s.scalars(select(Obligation.id).where(Obligation.okey.like("jieyang-2016-disclosure/3/%"))
                          .order_by(Obligation.id)).all()
        complete(s, task3[0], on=dt.date(2016, 10, 10), evidence="已公开", actor="test", calendar=CAL)
        ext = request_extension(s, task3[1], until=dt.date(2017, 1, 20), reason="待数据", actor="clerk", calendar=CAL)
        approve_extension(s, ext.id, actor="supervisor", calendar=CAL)
        ongoing = s.scalars(select(Occurrence.obligation_id).join(Obligation)
                            .where(Obligation.okey.like("jieyang-2016-disclosure/2/5/%"), Occurrence.key == "final")
                            .order_by(Occurrence.id)).first()
        complete(s, ongoing, on=dt.date(2016, 12, 1), evidence="全年完成", actor="test", calendar=CAL,
                 occurrence="final")


def scenario(store, tmp_path: Path) -> dict[str, dict[str, list[list[Any]]]]:  # type: ignore[no-untyped-def]
    """Run the fixed scenario; the dump after each step."""
    plans, units = tmp_path / "plans", REPO / "rules" / "units"
    shutil.copytree(REPO / "rules" / "plans", plans)
    original = (plans / "jieyang-2016-disclosure.yaml").read_text(encoding="utf-8")
    steps: dict[str, dict[str, list[list[Any]]]] = {}
    _import(store, [plans], units)
    steps["seed"] = dump(store)
    _services(store)
    steps["services"] = dump(store)
    _edit(plans / "jieyang-2016-disclosure.yaml",
          ("\n  - no: 3\n", '"2016年12月底前完成"', '"2016年11月底前完成"'),  # moved (one has an extension)
          ("\n      - no: 5\n        text: \"公开对全市食品", '"全年工作"', '"2016年10月底前完成"'),  # kind changed
          ("\n  - no: 0\n", '"各县（市、区）人民政府（管委会），市有关单位"', '"各县（市、区）人民政府（管委会）"'),
          ("\ntasks:\n", '"市编办，各县', '"市编办，市财政局，各县'))  # a unit added
    _import(store, [plans], units)
    steps["changed"] = dump(store)
    (plans / "jieyang-2016-disclosure.yaml").write_text(original, encoding="utf-8")
    _import(store, [plans], units)
    steps["restored"] = dump(store)
    province, province_units = tmp_path / "province", tmp_path / "province-units"
    province.mkdir()
    province_units.mkdir()
    rng = random.Random(2016)
    for city in (1, 2):
        (province_units / f"city{city:02d}.yaml").write_text(_units_file(city), encoding="utf-8")
        (province / f"city{city:02d}.yaml").write_text(_plan_file(city, rng), encoding="utf-8")
    _import(store, [province], province_units)
    steps["province"] = dump(store)
    return steps


def _failed_import(store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """A third city whose import fails at its audit record, after every row of it went in."""
    folder, units = tmp_path / "failing", tmp_path / "failing-units"
    folder.mkdir()
    units.mkdir()
    (units / "city03.yaml").write_text(_units_file(3), encoding="utf-8")
    (folder / "city03.yaml").write_text(_plan_file(3, random.Random(3)), encoding="utf-8")
    real = audit.append

    def failing(*args: Any, **kwargs: Any) -> Any:
        if kwargs.get("action", "").startswith("plan."):
            raise RuntimeError("injected: the disk filled up")
        return real(*args, **kwargs)

    monkeypatch.setattr(audit, "append", failing)
    with pytest.raises(RuntimeError, match="injected"):
        _import(store, [folder], units)
    monkeypatch.setattr(audit, "append", real)


def test_the_import_writes_what_it_always_wrote(store, tmp_path, monkeypatch):
    steps = scenario(store, tmp_path)
    hashes = {step: digest(tables) for step, tables in steps.items()}
    dump_dir = os.environ.get("DUBAN_IMPORT_DUMP_DIR")
    if dump_dir:
        folder = Path(dump_dir) / store.backend
        folder.mkdir(parents=True, exist_ok=True)
        for step, tables in steps.items():
            (folder / f"{step}.json").write_text(json.dumps(tables, ensure_ascii=False, indent=0, sort_keys=True),
                                                 encoding="utf-8")
    golden = json.loads(GOLDEN.read_text(encoding="utf-8")) if GOLDEN.exists() else {}
    if os.environ.get("DUBAN_IMPORT_GOLDEN") == "write":
        golden[store.backend] = hashes
        GOLDEN.write_text(json.dumps(golden, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    assert hashes == golden[store.backend]

    _failed_import(store, tmp_path, monkeypatch)
    assert digest(dump(store)) == hashes["province"], "a failed import left rows behind"


def test_the_scenario_exercises_every_kind_of_change(store, tmp_path):
    """The golden scenario is only worth its hashes if each path of the importer ran."""
    steps = scenario(store, tmp_path)
    log = steps["province"]["audit_log"]
    col = log[0].index("after")
    changed = [row[col] for row in log[1:] if row[log[0].index("action")] == "plan.updated"]
    assert len(changed) == 2  # the changed seed and the restored one
    first, second = changed
    assert first["occurrences_moved"] and first["occurrences_cancelled"] and first["obligations_retired"]
    assert first["obligations_added"] and first["obligations_updated"]
    assert second["occurrences_added"] and second["obligations_updated"]  # reopened and reactivated
    from duban.store import summary

    with store.sessions() as s:  # both import paths keep the overview summary right
        assert summary.verify(s) == []
    occ = steps["changed"]["occurrences"]
    assert ["2017-01-20"] == [row[occ[0].index("due")] for row in occ[1:]
                              if row[occ[0].index("due")] == "2017-01-20"]  # the approved extension held


def test_a_rejected_bulk_insert_fails_the_import_and_leaves_the_store_unchanged(store, tmp_path, monkeypatch):
    """A foreign key the database refuses in the middle of the bulk write (on PostgreSQL, in the writer
    thread) fails the whole import; nothing of it stays, and the session's connection is usable after."""
    from duban.engine.plans import rows

    _import(store, [REPO / "rules" / "plans"], REPO / "rules" / "units")
    before = digest(dump(store))
    folder, units = tmp_path / "province", tmp_path / "units"
    folder.mkdir()
    units.mkdir()
    (units / "city01.yaml").write_text(_units_file(1), encoding="utf-8")
    (folder / "city01.yaml").write_text(_plan_file(1, random.Random(1)), encoding="utf-8")
    real = rows.Units.obligations

    def dangling(self, *args: Any, **kwargs: Any) -> dict[str, tuple[Any, ...]]:
        wanted = real(self, *args, **kwargs)
        okey, values = next(reversed(wanted.items()))
        at = rows.OBLIGATION_COLUMNS.index("unit_id")
        wanted[okey] = (*values[:at], 999_999, *values[at + 1:])  # no such unit
        return wanted

    monkeypatch.setattr(rows.Units, "obligations", dangling)
    with pytest.raises(Exception, match="(?i)foreign key"):
        _import(store, [folder], units)
    assert digest(dump(store)) == before
    with store.sessions() as s:
        assert s.scalars(select(Obligation.id).limit(1)).first() is not None  # the pool's connection still works
