"""Plan import into the store, on SQLite and PostgreSQL: the seed plans end to end."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from duban.store.models import AuditRecord, Obligation, Occurrence, Plan
from helpers import run
from sqlalchemy import func, select, table

REPO = Path(__file__).resolve().parent.parent
PLANS = REPO / "rules" / "plans"


def table_counts(store) -> dict[str, int]:
    names = ["plans", "tasks", "requirements", "deadline_entries", "units", "officials", "assignments",
             "obligations", "occurrences", "triggers", "audit_log"]
    with store.engine.connect() as conn:
        return {n: conn.execute(select(func.count()).select_from(table(n))).scalar_one() for n in names}


def test_seed_plans_import_and_show_every_task(store, env_for):
    env = env_for(store)
    code, out, err = run(env, "plan", "import", str(PLANS))
    assert code == 0, err
    assert "plan jieyang-2016-disclosure: created" in out
    code, out, _ = run(env, "plan", "show", "jieyang-2016-disclosure", "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["doc_number"] == "揭府办函〔2016〕71号"
    assert doc["published"] == "2016-06-23" and doc["plan_year"] == 2016
    numbers = [t["no"] for t in doc["tasks"]]
    assert numbers == list(range(0, 30))  # the notice body's duties as task 0, then all 29 tasks
    for task in doc["tasks"]:
        assert task["requirements"], f"task {task['no']} has no requirement"
        for req in task["requirements"]:
            assert req["units"], (task["no"], req["no"])
            assert req["deadline"]["phrase"] and req["deadline"]["spec"]["kind"]
    by_no = {t["no"]: t for t in doc["tasks"]}
    # Task 1: 市编办 plus the county-level group expanded to its members.
    units = by_no[1]["requirements"][0]["units"]
    assert units[0] == "市编办" and "榕城区人民政府" in units and "普宁市人民政府" in units
    assert by_no[1]["requirements"][0]["deadline"]["spec"] == {"kind": "fixed", "due": "2016-12-31"}
    # Task 0.1: 30 working days after publication on the official calendar.
    spec = by_no[0]["requirements"][0]["deadline"]["spec"]
    assert spec["kind"] == "relative" and spec["due"] == "2016-08-04"
    # Task 6 waits for a provincial document.
    assert by_no[6]["requirements"][0]["deadline"]["spec"]["kind"] == "triggered"
    # Task 17 got the education requirement that the extraction put above its row.
    assert "随迁子女" in by_no[17]["requirements"][0]["text"]


def test_reimporting_an_unchanged_plan_changes_nothing(store, env_for):
    env = env_for(store)
    assert run(env, "plan", "import", str(PLANS))[0] == 0
    before = table_counts(store)
    code, out, _ = run(env, "plan", "import", str(PLANS))
    assert code == 0
    assert "jieyang-2016-disclosure: unchanged" in out and "jieyang-2016-tax-sharing: unchanged" in out
    assert table_counts(store) == before  # not even an audit row


def test_a_changed_plan_updates_in_place_and_audits_what_changed(store, env_for, tmp_path):
    env = env_for(store)
    plans = tmp_path / "plans"
    shutil.copytree(PLANS, plans)
    assert run(env, "plan", "import", str(plans))[0] == 0
    with store.sessions() as s:
        ids_before = set(s.scalars(select(Obligation.id)).all())
    path = plans / "jieyang-2016-disclosure.yaml"
    original = path.read_text(encoding="utf-8")
    # Move task 3's deadline from 2016年12月底前完成 to 2016年11月底前完成.
    marker = original.index("\n  - no: 3\n")  # task 3 (tasks are indented by two)
    head, tail = original[:marker], original[marker:]
    changed = head + tail.replace('phrase: "2016年12月底前完成"', 'phrase: "2016年11月底前完成"', 1)
    assert changed != original
    path.write_text(changed, encoding="utf-8")
    code, out, err = run(env, "plan", "import", str(plans), "--json")
    assert code == 0, err
    report = json.loads(out)
    change = next(p for p in report["plans"] if p["plan_id"] == "jieyang-2016-disclosure")
    assert change["status"] == "updated"
    assert change["occurrences_moved"] >= 1 and change["obligations_added"] == 0
    with store.sessions() as s:
        assert set(s.scalars(select(Obligation.id)).all()) == ids_before  # same rows, updated in place
        moved = s.scalars(select(Occurrence.due).join(Obligation).where(
            Obligation.okey.like("jieyang-2016-disclosure/3/1/%"))).all()
        assert moved and all(d.isoformat() == "2016-11-30" for d in moved)
        rec = s.scalars(select(AuditRecord).where(AuditRecord.action == "plan.updated")).one()
        assert any(c.get("due_before") == "2016-12-31" and c.get("due_after") == "2016-11-30"
                   for c in rec.after["changes"])


def test_a_plan_with_an_error_writes_nothing_and_exits_1(store, env_for, tmp_path):
    env = env_for(store)
    plans = tmp_path / "plans"
    shutil.copytree(PLANS, plans)
    path = plans / "jieyang-2016-disclosure.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("2016年12月底前完成", "2016年2月30日前完成", 1),
                    encoding="utf-8")
    before = table_counts(store)
    code, _out, err = run(env, "plan", "import", str(plans))
    assert code == 1
    assert "jieyang-2016-disclosure.yaml:" in err and "impossible-date" in err
    assert "nothing was imported" in err
    assert table_counts(store) == before


def test_obligation_statuses_as_of_a_day(store, env_for):
    env = env_for(store)
    assert run(env, "plan", "import", str(PLANS))[0] == 0
    code, out, _ = run(env, "obligations", "list", "--plan", "jieyang-2016-disclosure", "--task", "6",
                       "--as-of", "2016-07-01", "--json")
    assert code == 0
    rows = json.loads(out)
    assert rows and {r["status"] for r in rows} == {"dormant"}
    assert set(rows[0]) == {"id", "plan", "task", "requirement", "unit", "kind", "due", "status"}
    code, out, _ = run(env, "obligations", "list", "--plan", "jieyang-2016-disclosure", "--task", "0",
                       "--unit", "市编办", "--as-of", "2016-07-29", "--json")
    statuses = {r["requirement"]: r for r in json.loads(out)}
    assert statuses[1]["due"] == "2016-08-04" and statuses[1]["status"] == "due_soon"
    code, out, _ = run(env, "obligations", "list", "--plan", "jieyang-2016-tax-sharing", "--as-of", "2016-07-01",
                       "--json")
    assert {r["status"] for r in json.loads(out)} == {"overdue"}


def test_units_list_marks_demo_addresses(store, env_for):
    env = env_for(store)
    assert run(env, "plan", "import", str(PLANS))[0] == 0
    code, out, _ = run(env, "units", "list", "--json")
    units = {u["name"]: u for u in json.loads(out)}
    assert units["市政府督查室"]["kind"] == "supervisor"
    assert units["各县（市、区）人民政府（管委会）"]["kind"] == "group"
    officials = [o for u in units.values() for o in u["officials"]]
    assert officials and all(o["demo"] and o["email"].endswith(".example") for o in officials)
    with store.sessions() as s:
        assert s.execute(select(func.count()).select_from(Plan)).scalar_one() == 2
