"""The malformed corpus: one defect per file, each reported with its exact code, line and path.

Every file under ``tests/malformed/`` is a small plan (or units directory)
with one defect, named in its first comment. The table below is the
contract: for each file, the exact list of errors ``(line, code, path)`` —
nothing more, nothing less — so a change that adds a cascade of follow-on
errors, loses one, or moves a line fails here. A few messages are checked
too (the value with ``!r``, the "did you mean").
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from duban.cli.plan_cmd import plan
from duban.engine.plans.planfile import PlanFileError, load_plans
from duban.engine.plans.units import load_directory

HERE = Path(__file__).resolve().parent
MALFORMED = HERE / "malformed"
UNITS = HERE / "fixtures" / "units"

REQ = "tasks[0].requirements[0]"
ENTRY = f"{REQ}.deadlines[0]"

#: file stem → [(line, code, path)], in report order (by line).
PLAN_CASES: dict[str, list[tuple[int, str, str]]] = {
    "bad-date": [(6, "bad-date", "plan.published")],
    "impossible-date-published": [(6, "impossible-date", "plan.published")],
    "impossible-date-phrase": [(18, "impossible-date", f"{ENTRY}.phrase")],
    "unknown-unit": [(16, "unknown-unit", f"{REQ}.units")],
    "unknown-phrase": [(18, "unknown-phrase", f"{ENTRY}.phrase")],
    "duplicate-key": [(5, "duplicate-key", "plan.title")],
    "wrong-type-list-for-text": [(4, "wrong-type", "plan.title")],
    "wrong-type-map-for-list": [(14, "wrong-type", "tasks[0].requirements")],
    "wrong-type-units-list": [(16, "wrong-type", f"{REQ}.units")],
    "yaml11-octal-task-no": [(11, "bad-number", "tasks[0].no")],
    "yaml11-no-review-status": [(23, "bad-choice", f"{REQ}.review[0].status")],
    "yaml11-on-source": [(19, "bad-choice", f"{ENTRY}.source")],
    "python-object-tag": [(5, "yaml-tag", "plan.issuer")],
    "int-tag": [(14, "yaml-tag", f"{REQ}.no")],
    "anchor-alias": [(16, "yaml-alias", f"{REQ}.units"), (22, "yaml-alias", "tasks[0].requirements[1].units")],
    "calendar-year-missing": [(18, "calendar-year-missing", f"{ENTRY}.phrase")],
    "duplicate-task-no": [(20, "duplicate-number", "tasks[1].no")],
    "duplicate-requirement-no": [(20, "duplicate-number", "tasks[0].requirements[1].no")],
    "missing-field": [(3, "missing-field", "plan.issuer")],
    "unknown-field": [(16, "unknown-field", f"{REQ}.unit")],
    "unknown-trigger": [(25, "unknown-trigger", f"{ENTRY}.trigger")],
    "trigger-required": [(23, "trigger-required", ENTRY)],
    "bad-spec": [(22, "bad-spec", f"{ENTRY}.spec.due")],
    "bad-spec-kind": [(21, "bad-spec", f"{ENTRY}.spec.kind")],
    "spec-needs-review": [(20, "spec-needs-review", f"{ENTRY}.spec")],
    "empty-units": [(16, "empty-units", f"{REQ}.units")],
    "empty-unit-name": [(16, "bad-units", f"{REQ}.units")],
    "bad-id": [(3, "bad-id", "plan.id")],
    "syntax-error": [(10, "yaml-syntax", "")],
    "multi-document": [(20, "yaml-multi-document", "")],
    "unknown-directory": [(8, "unknown-directory", "plan.units")],
    "bad-plan-year": [(7, "bad-number", "plan.plan_year")],
    "requirement-no-zero": [(14, "bad-number", f"{REQ}.no")],
    "bad-source": [(19, "bad-choice", f"{ENTRY}.source")],
    "bad-role": [(17, "bad-choice", f"{REQ}.role")],
    "unexpected-trigger": [(25, "unexpected-trigger", f"{ENTRY}.trigger")],
    "trigger-event-mismatch": [(25, "trigger-event-mismatch", f"{ENTRY}.trigger")],
    "duplicate-trigger": [(14, "duplicate-trigger", "triggers[1].key")],
    "empty-requirements": [(13, "empty-list", "tasks[0].requirements")],
    "empty-title": [(12, "empty-value", "tasks[0].title")],
    "non-string-key": [(9, "non-string-key", "plan")],
    "top-level-list": [(2, "wrong-type", "")],
    "empty-file": [(1, "yaml-empty", "")],
    "not-utf8": [(4, "yaml-encoding", "")],
}

UNITS_CASES: dict[str, list[tuple[int, str, str]]] = {
    "demo-contacts-on": [(5, "bad-bool", "directory.demo_contacts")],
    "unknown-member": [(25, "unknown-unit", "groups[0].members")],
    "group-cycle": [(26, "group-cycle", "groups[1].members")],
    "supervisor-unknown": [(6, "unknown-unit", "supervisor")],
    "real-email": [(19, "demo-email", "units[1].officials[0].email")],
    "bad-email": [(14, "bad-email", "units[0].officials[0].email")],
    "duplicate-name": [(15, "duplicate-name", "units[1]")],
    "id-mismatch": [(3, "id-mismatch", "directory.id")],
    "bad-official-role": [(13, "bad-choice", "units[0].officials[0].role")],
}

#: Message fragments that must appear (the value, the expected form, the hint).
MESSAGES: dict[str, tuple[str, ...]] = {
    "bad-date": ("'2016/06/23'", "YYYY-MM-DD"),
    "impossible-date-published": ("'2016-02-30'",),
    "impossible-date-phrase": ("2016年2月30日前完成",),
    "unknown-unit": ("'市财政厅'", "did you mean '市财政局'"),
    "unknown-phrase": ("'等领导有空的时候'",),
    "duplicate-key": ("'title'", "first at line 4"),
    "yaml11-octal-task-no": ("'010'",),
    "yaml11-no-review-status": ("'NO'", "open, confirmed"),
    "yaml11-on-source": ("'on'", "cell, text, inherited"),
    "python-object-tag": ("!!python/object/apply:os.system",),
    "calendar-year-missing": ("2031",),
    "duplicate-task-no": ("first at line 11",),
    "unknown-field": ("'unit'", "did you mean 'units'"),
    "unknown-trigger": ("'gd_negative_list'", "did you mean 'gd_negative_list_doc'"),
    "unknown-directory": ("'demo2'", "did you mean 'demo'"),
    "bad-spec": ("'2016-13-01'",),
    "bad-role": ("'leader'", "did you mean 'lead'"),
}


def _plan_file(stem: str) -> Path:
    path = MALFORMED / f"{stem}.yaml"
    assert path.is_file(), f"missing corpus file {path}"
    return path


def test_corpus_is_complete() -> None:
    """Every corpus file has a table row and the reverse; at least 30 one-defect plan files."""
    on_disk = {p.stem for p in MALFORMED.glob("*.yaml")}
    assert on_disk == set(PLAN_CASES)
    assert {p.stem for p in (MALFORMED / "units").glob("*.yaml")} == set(UNITS_CASES)
    assert len(PLAN_CASES) >= 30


@pytest.mark.parametrize("stem", sorted(PLAN_CASES))
def test_malformed_plan(stem: str) -> None:
    path = _plan_file(stem)
    result = load_plans([path], units_dirs=[UNITS])
    got = [(e.line, e.code, e.path) for e in result.errors]
    assert got == PLAN_CASES[stem]
    assert {e.file for e in result.errors} == {str(path)}
    assert result.plans == ()
    for fragment in MESSAGES.get(stem, ()):
        assert any(fragment in e.message for e in result.errors), (fragment, result.errors)
    with pytest.raises(PlanFileError) as info:
        result.raise_for_errors()
    assert f"{path}:{PLAN_CASES[stem][0][0]}: {PLAN_CASES[stem][0][1]}" in str(info.value)


@pytest.mark.parametrize("stem", sorted(UNITS_CASES))
def test_malformed_units(stem: str) -> None:
    path = MALFORMED / "units" / f"{stem}.yaml"
    load = load_directory(path)
    assert [(e.line, e.code, e.path) for e in load.errors] == UNITS_CASES[stem]
    assert {e.file for e in load.errors} == {str(path)}


def test_unknown_member_suggests_the_unit() -> None:
    load = load_directory(MALFORMED / "units" / "unknown-member.yaml")
    assert "'揭东区政府'" in load.errors[0].message
    assert "did you mean '揭东区人民政府'" in load.errors[0].message


def test_group_cycle_names_the_cycle() -> None:
    load = load_directory(MALFORMED / "units" / "group-cycle.yaml")
    assert "→ 县区 →" in load.errors[0].message


def test_broken_units_directory_fails_the_plans_that_use_it(tmp_path: Path) -> None:
    """A plan on a directory with errors is not yielded, and the directory's errors are listed."""
    units = tmp_path / "units"
    units.mkdir()
    source = (MALFORMED / "units" / "unknown-member.yaml").read_text(encoding="utf-8")
    (units / "demo.yaml").write_text(source.replace("id: unknown-member", "id: demo"), encoding="utf-8")
    plan_text = (HERE / "fixtures" / "plans" / "demo-2016.yaml").read_text(encoding="utf-8")
    plan_path = tmp_path / "plan.yaml"
    plan_path.write_text(plan_text, encoding="utf-8")
    result = load_plans([plan_path], units_dirs=[units])
    assert result.plans == ()
    assert ("unknown-unit", str(units / "demo.yaml")) in {(e.code, e.file) for e in result.errors}


def test_duplicate_plan_id_across_files() -> None:
    folder = MALFORMED / "pairs" / "duplicate-id"
    result = load_plans([folder], units_dirs=[UNITS])
    assert [(e.file, e.line, e.code, e.path) for e in result.errors] == [
        (str(folder / "b.yaml"), 3, "duplicate-id", "plan.id")]
    assert f"{folder / 'a.yaml'}:3" in result.errors[0].message
    # The first file's plan is valid on its own, but nothing may be applied while any error stands.
    assert not result.ok


SEVERAL = [
    (6, "impossible-date", "plan.published"),
    (16, "unknown-unit", "tasks[0].requirements[0].units"),
    (19, "bad-choice", "tasks[0].requirements[0].deadlines[0].source"),
    (20, "duplicate-number", "tasks[0].requirements[1].no"),
    (22, "unknown-field", "tasks[0].requirements[1].unit"),
    (26, "bad-number", "tasks[1].no"),
    (27, "wrong-type", "tasks[1].title"),
]


def test_several_defects_are_all_reported() -> None:
    path = MALFORMED / "several" / "several-defects.yaml"
    result = load_plans([path], units_dirs=[UNITS])
    assert [(e.line, e.code, e.path) for e in result.errors] == SEVERAL


def test_all_files_at_once_report_every_error() -> None:
    """Loading the whole corpus together loses no file's errors."""
    paths = [MALFORMED, MALFORMED / "several"]
    result = load_plans(paths, units_dirs=[UNITS])
    by_file: dict[str, list[tuple[int, str, str]]] = {}
    for error in result.errors:
        by_file.setdefault(Path(error.file).stem, []).append((error.line, error.code, error.path))
    expected = {**PLAN_CASES, "several-defects": SEVERAL}
    assert by_file == expected


def test_cli_exits_1_and_prints_every_error() -> None:
    path = MALFORMED / "several" / "several-defects.yaml"
    runner = CliRunner()
    out = runner.invoke(plan, ["validate", str(path), "--units-dir", str(UNITS)])
    assert out.exit_code == 1
    lines = out.stderr.splitlines()
    for line, code, where in SEVERAL:
        assert any(text.startswith(f"{path}:{line}: {code} {where}: ") for text in lines), (line, code, lines)
    assert out.stdout == ""


def test_cli_json_lists_errors() -> None:
    path = MALFORMED / "unknown-unit.yaml"
    out = CliRunner().invoke(plan, ["validate", str(path), "--units-dir", str(UNITS), "--json"])
    assert out.exit_code == 1
    document = json.loads(out.stdout)
    assert document["ok"] is False
    assert document["errors"] == [{
        "file": str(path), "line": 16, "code": "unknown-unit", "path": "tasks[0].requirements[0].units",
        "message": document["errors"][0]["message"],
    }]
    assert "did you mean '市财政局'" in document["errors"][0]["message"]
