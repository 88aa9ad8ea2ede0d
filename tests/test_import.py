"""Plan import into the store, on SQLite and PostgreSQL: the seed plans end to end."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest
from duban.store.models import AuditRecord, Obligation, Occurrence, Plan
from helpers import YELLOW, run
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


# ----------------------------------------------------------------------------- co-units (配合单位)

CO_PLAN = """\
plan:
  id: co-units-demo
  title: "配合单位导入测试方案"
  issuer: "揭阳市人民政府办公室"
  published: 2016-06-23
  plan_year: 2016
  units: jieyang
tasks:
  - no: 1
    title: "推进预算公开"
    requirements:
      - no: 1
        text: "全面公开部门预算。"
        units: "市财政局"
        co_units: "市发展改革局、各县（市、区）人民政府（管委会）"
        deadlines:
          - phrase: "2016年12月底前"
            source: cell
      - no: 2
        text: "公开重点项目进展。"
        units: "市发展改革局"
        deadlines:
          - phrase: "2016年10月底前"
            source: cell
"""


def _import_co_plan(store, folder: Path):
    from duban.engine.plans.importer import import_result
    from duban.engine.plans.planfile import load_plans
    from helpers import CAL, CHECKINS, DEFAULT_OFFSET

    result = load_plans([folder], units_dirs=[REPO / "rules" / "units"], calendar=CAL)
    assert result.ok, [e.format() for e in result.errors]
    with store.sessions() as s, s.begin():
        return import_result(s, result, calendar=CAL, actor="test", default_offset=DEFAULT_OFFSET,
                             checkins=CHECKINS)


def test_co_units_import_reimport_unchanged_and_are_queryable(store, tmp_path):
    from duban.engine.services.queries import co_unit_items, co_units_by_requirement, show_plan
    from duban.store.models import Assignment, Requirement, Unit
    from helpers import CAL

    folder = tmp_path / "plans"
    folder.mkdir()
    (folder / "co.yaml").write_text(CO_PLAN, encoding="utf-8")
    assert _import_co_plan(store, folder).plans[0].status == "created"
    before = table_counts(store)
    assert _import_co_plan(store, folder).plans[0].status == "unchanged"
    assert table_counts(store) == before  # the re-import writes nothing, not even an audit row

    with store.sessions() as s:
        roles = s.execute(select(Unit.name, Assignment.role, Assignment.via_group)
                          .join(Assignment, Assignment.unit_id == Unit.id).order_by(Assignment.id)).all()
        # Co-units owe nothing: obligations exist for the lead units only.
        owing = set(s.scalars(select(Unit.name).join(Obligation, Obligation.unit_id == Unit.id)).all())
        req1 = s.scalars(select(Requirement).where(Requirement.text == "全面公开部门预算。")).one()
        cc = co_units_by_requirement(s, [req1.id])
        fagai = s.scalars(select(Unit.id).where(Unit.name == "市发展改革局")).one()
        puning = s.scalars(select(Unit.id).where(Unit.name == "普宁市人民政府")).one()
        items = co_unit_items(s, fagai, as_of=dt.date(2016, 12, 28), calendar=CAL, due_soon_within=YELLOW)
        county_items = co_unit_items(s, puning, as_of=dt.date(2017, 1, 3), calendar=CAL, due_soon_within=YELLOW)
        doc = show_plan(s, "co-units-demo")
    assert ("市财政局", "lead", None) in roles
    assert ("市发展改革局", "co", None) in roles and ("市发展改革局", "lead", None) in roles
    assert ("普宁市人民政府", "co", "各县（市、区）人民政府（管委会）") in roles
    assert owing == {"市财政局", "市发展改革局"}
    assert req1.co_units_as_written == "市发展改革局、各县（市、区）人民政府（管委会）"
    assert [name for _id, name in cc[req1.id]][:2] == ["市发展改革局", "榕城区人民政府"]
    assert len(cc[req1.id]) == 10  # 市发展改革局 and the nine members of the group
    # 配合事项: the lead's progress, as of a day.
    assert [(i.task, i.requirement, i.lead_units, i.status) for i in items] == [(1, 1, ("市财政局",), "due_soon")]
    assert items[0].next_due == dt.date(2016, 12, 31) and items[0].via_group is None
    assert county_items[0].status == "overdue" and county_items[0].via_group == "各县（市、区）人民政府（管委会）"
    req = doc["tasks"][0]["requirements"][0]
    assert req["units"] == ["市财政局"] and req["co_units"][0] == "市发展改革局"
    assert "co_units" not in doc["tasks"][0]["requirements"][1]


def test_dropping_a_co_unit_reimports_as_a_change(store, tmp_path):
    from duban.store.models import Assignment

    folder = tmp_path / "plans"
    folder.mkdir()
    path = folder / "co.yaml"
    path.write_text(CO_PLAN, encoding="utf-8")
    _import_co_plan(store, folder)
    path.write_text(CO_PLAN.replace("市发展改革局、各县（市、区）人民政府（管委会）", "市发展改革局"), encoding="utf-8")
    report = _import_co_plan(store, folder)
    assert report.plans[0].status == "updated" and report.plans[0].obligations_added == 0
    with store.sessions() as s:
        co = s.scalars(select(func.count()).select_from(Assignment).where(Assignment.role == "co")).one()
        audits = s.scalars(select(AuditRecord.action).where(AuditRecord.object_id == "co-units-demo")).all()
    assert co == 1
    assert audits == ["plan.created", "plan.updated"]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_co_units_migration_upgrades_and_downgrades(backend, tmp_path, request):
    """0003 adds the 配合单位 column and the (unit, role) index, and takes both away again."""
    from alembic import command
    from duban.store.db import _alembic_config, current_revision, make_engine, upgrade
    from helpers import create_database, database_url, drop_database
    from sqlalchemy import inspect

    admin, name = None, None
    if backend == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    else:
        admin = request.getfixturevalue("pg_admin")
        name = create_database(admin, prefix="duban_m")
        engine = make_engine(database_url(admin, name))

    def shape() -> tuple[bool, bool]:
        inspector = inspect(engine)
        return ("co_units_as_written" in {c["name"] for c in inspector.get_columns("requirements")},
                "ix_assignments_unit_id_role" in {i["name"] for i in inspector.get_indexes("assignments")})

    try:
        upgrade(engine, "0002")
        assert shape() == (False, False)
        upgrade(engine, "0003")
        assert shape() == (True, True)
        with engine.begin() as conn:
            cfg = _alembic_config(engine)
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0002")
        assert current_revision(engine) == "0002" and shape() == (False, False)
        upgrade(engine, "0003")
        assert shape() == (True, True)
    finally:
        engine.dispose()
        if admin is not None and name is not None:
            drop_database(admin, name)


def test_the_report_shows_each_requirements_co_units_beside_its_lead(store, tmp_path):
    from duban.engine.services import reports
    from helpers import CAL

    folder = tmp_path / "plans"
    folder.mkdir()
    (folder / "co.yaml").write_text(CO_PLAN, encoding="utf-8")
    _import_co_plan(store, folder)
    with store.sessions() as s:
        report = reports.build_report(s, "co-units-demo", as_of=dt.date(2016, 12, 28), calendar=CAL,
                                      due_soon_within=YELLOW)
    budget = [r for r in report.rows if r.requirement_text == "全面公开部门预算。"]
    assert budget and {r.unit for r in budget} == {"市财政局"}  # the lead owes it; co-units are named, not owing
    assert all(r.co_units.startswith("市发展改革局、") and "普宁市人民政府" in r.co_units for r in budget)
    header, *lines = [line.split(",") for line in reports.render_csv(report).lstrip("\ufeff").splitlines()]
    col = header.index("配合单位")
    assert any(line[col].startswith("市发展改革局") for line in lines)
    assert "配合：市发展改革局" in reports.render_html(report)
