"""Plan files: the strict YAML reader, the typed plan model, the CLI, the shipped seed plans."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from duban.cli.main import cli
from duban.cli.plan_cmd import plan
from duban.engine.deadlines.calendar import WorkingCalendar
from duban.engine.deadlines.spec import Composite, Fixed, Ongoing, Relative, Triggered
from duban.errors import DubanError
from duban.engine.plans.planfile import PlanFileError, load_plan, load_plans
from duban.engine.common.strictyaml import (
    YamlMap,
    YamlScalar,
    YamlSeq,
    node_at,
    parse_yaml,
    to_plain,
)
from duban.rules import CALENDARS_DIR, PLANS_DIR

HERE = Path(__file__).resolve().parent
UNITS = HERE / "fixtures" / "units"
DEMO_PLAN = HERE / "fixtures" / "plans" / "demo-2016.yaml"


def _write(tmp_path: Path, text: str, name: str = "plan.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- strict YAML

@pytest.mark.parametrize("scalar", ["NO", "no", "on", "off", "yes", "y", "010", "0x1F", "1e3", "2016-06-23",
                                    "null", "~", "true", ".inf", "1_000", "12:30:00", "+1"])
def test_every_scalar_stays_text(scalar: str) -> None:
    root, problems = parse_yaml(f"a: {scalar}\nb: [{scalar}]\n", file="f.yaml")
    assert problems == ()
    assert to_plain(root) == {"a": scalar, "b": [scalar]}


def test_quoted_and_block_scalars_keep_their_text() -> None:
    root, problems = parse_yaml('a: "010"\nb: |\n  第一行\n  第二行\nc: \'NO\'\n', file="f.yaml")
    assert problems == ()
    assert to_plain(root) == {"a": "010", "b": "第一行\n第二行\n", "c": "NO"}
    assert isinstance(root, YamlMap)
    assert root.get("a") == YamlScalar(value="010", line=1, column=4, plain=False)


@pytest.mark.parametrize("text", ["a: !!int 3\n", "a: !!str x\n", "a: !custom x\n", "a: ! x\n",
                                  "a: !!python/object:os.system {}\n", "a: !!map {b: 1}\n", "a: !!set {b}\n"])
def test_every_explicit_tag_is_refused(text: str) -> None:
    _root, problems = parse_yaml(text, file="f.yaml")
    assert [(p.code, p.line, p.path) for p in problems] == [("yaml-tag", 1, "a")]


def test_merge_keys_need_aliases_and_are_refused() -> None:
    _root, problems = parse_yaml("base: &b {x: 1}\nuse:\n  <<: *b\n  y: 2\n", file="f.yaml")
    assert [(p.code, p.line) for p in problems] == [("yaml-alias", 1), ("yaml-alias", 3)]


def test_duplicate_keys_are_found_at_any_depth_and_in_flow_style() -> None:
    text = "a:\n  b: 1\n  c: {d: 1, d: 2}\n  b: 3\n"
    root, problems = parse_yaml(text, file="f.yaml")
    assert sorted((p.line, p.code, p.path) for p in problems) == [
        (3, "duplicate-key", "a.c.d"), (4, "duplicate-key", "a.b")]
    assert to_plain(root) == {"a": {"b": "1", "c": {"d": "1"}}}  # the first one is kept


def test_byte_order_mark_is_tolerated(tmp_path: Path) -> None:
    from duban.engine.common.strictyaml import read_yaml

    path = tmp_path / "bom.yaml"
    path.write_bytes("\ufeffa: 1\n".encode("utf-8"))
    root, problems = read_yaml(path)
    assert problems == () and to_plain(root) == {"a": "1"}


def test_node_at_and_nulls() -> None:
    root, _ = parse_yaml("spec:\n  kind: composite\n  parts:\n    - {kind: ongoing, until: null}\n"
                         "    - {kind: ongoing, until: 'null'}\n", file="f.yaml")
    assert isinstance(root, YamlMap)
    spec = root.get("spec")
    assert spec is not None
    part = node_at(spec, "parts[1].until")
    assert isinstance(part, YamlScalar) and part.line == 5
    assert node_at(spec, "parts[7]") is None
    assert isinstance(node_at(spec, "parts"), YamlSeq)
    plain = to_plain(spec, nulls=True)
    assert plain["parts"][0]["until"] is None
    assert plain["parts"][1]["until"] == "null"  # quoted: text, not null


# --------------------------------------------------------------------------- the plan model

@pytest.fixture(scope="module")
def demo():
    return load_plan(DEMO_PLAN, units_dirs=[UNITS])


def test_valid_plan_loads_with_typed_values(demo) -> None:
    assert demo.id == "demo-2016-disclosure"
    assert demo.published == dt.date(2016, 6, 23)
    assert demo.plan_year == 2016
    assert demo.doc_number == "示府办函〔2016〕71号"
    assert [task.no for task in demo.tasks] == [0, 1, 2, 3]
    assert demo.tasks[3].title == "NO"  # a YAML 1.1 boolean, kept as text
    assert demo.file == str(DEMO_PLAN)
    assert demo.trigger("gd_negative_list_doc").event == "provincial_document_issued"


def test_relative_deadline_gets_its_working_day_due_date(demo) -> None:
    entry = demo.tasks[0].requirements[0].deadlines[0]
    assert isinstance(entry.spec, Relative)
    assert entry.spec.due == dt.date(2016, 8, 4)  # 2016-06-23 + 30 working days
    assert entry.source == "text"
    assert entry.line == 25


def test_units_are_kept_as_written_and_expanded(demo) -> None:
    req = demo.tasks[0].requirements[0]
    assert req.units_cell == "各县（市、区）人民政府（管委会），市有关单位"
    assert req.unit_names == ("各县（市、区）人民政府（管委会）", "市有关单位")
    assert req.units == ("榕城区人民政府", "揭东区人民政府", "产业转移园管委会", "市发展改革局", "市财政局", "市科技局")
    # Half-width brackets and an alias resolve to the same units.
    assert demo.tasks[2].requirements[0].units == (
        "市发展改革局", "榕城区人民政府", "揭东区人民政府", "产业转移园管委会")
    assert demo.tasks[3].requirements[0].units == ("市科技局",)


def test_inherited_fields_reviews_triggers_and_overrides(demo) -> None:
    inherited = demo.tasks[1].requirements[1]
    assert inherited.inherited == ("units", "deadline")
    assert inherited.deadlines[0].source == "inherited"
    assert [(n.field, n.status, n.line) for n in inherited.review] == [("units", "open", 44)]
    assert inherited.open_reviews == inherited.review
    triggered = demo.tasks[2].requirements[0].deadlines[0]
    assert isinstance(triggered.spec, Triggered) and triggered.trigger == "gd_negative_list_doc"
    override = demo.tasks[3].requirements[1].deadlines[0]
    assert override.overridden and override.spec == Fixed(due=dt.date(2016, 12, 31))
    assert isinstance(demo.tasks[3].requirements[0].deadlines[0].spec, Ongoing)
    assert demo.tasks[3].requirements[0].role == "lead"


def test_source_lines_of_every_element(demo) -> None:
    assert demo.line == 2
    assert [task.line for task in demo.tasks] == [18, 27, 47, 57]
    assert [req.line for req in demo.tasks[1].requirements] == [30, 36]


def test_plan_values_are_frozen(demo) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        demo.title = "x"
    with pytest.raises(dataclasses.FrozenInstanceError):
        demo.tasks[0].requirements[0].units = ()


def test_summary_counts(demo) -> None:
    result = load_plans([DEMO_PLAN], units_dirs=[UNITS])
    assert result.ok and result.errors == ()
    assert [w.code for w in result.warnings] == ["review-open"]
    # units × deadline parts: 6 + 4 + 4 + 4 + 1 + 1
    assert result.summary() == {"plans": 1, "tasks": 4, "requirements": 6, "deadline_entries": 6,
                                "obligations": 20, "open_reviews": 1}
    assert demo.obligation_count == 20
    assert set(result.directories) == {"demo"}


def test_composite_parts_count_as_obligations(tmp_path: Path) -> None:
    text = DEMO_PLAN.read_text(encoding="utf-8").replace(
        "            spec: {kind: fixed, due: \"2016-12-31\"}",
        "            spec:\n              kind: composite\n              parts:\n"
        "                - {kind: fixed, due: \"2016-12-31\"}\n"
        "                - {kind: relative, anchor: plan_published, offset: {working_days: 10}}\n")
    result = load_plans([_write(tmp_path, text)], units_dirs=[UNITS])
    assert result.errors == ()
    entry = result.plans[0].tasks[3].requirements[1].deadlines[0]
    assert isinstance(entry.spec, Composite)
    assert entry.spec.parts[1] == Relative(anchor="plan_published", offset=entry.spec.parts[1].offset,
                                           due=dt.date(2016, 7, 7))
    assert result.summary()["obligations"] == 21


def test_a_calendar_without_the_year_fails_validation(tmp_path: Path) -> None:
    """A 30-working-day window from 2016-12-20 runs into 2017: a 2016-only calendar cannot place it."""
    only_2016 = tmp_path / "cal"
    only_2016.mkdir()
    shutil.copy(CALENDARS_DIR / "cn" / "2016.yaml", only_2016 / "2016.yaml")
    calendar = WorkingCalendar.load([only_2016])
    text = DEMO_PLAN.read_text(encoding="utf-8").replace("published: 2016-06-23", "published: 2016-12-20")
    result = load_plans([_write(tmp_path, text)], units_dirs=[UNITS], calendar=calendar)
    assert [(e.code, e.line, e.path) for e in result.errors] == [
        ("calendar-year-missing", 25, "tasks[0].requirements[0].deadlines[0].phrase")]
    assert "2017" in result.errors[0].message
    # The full calendar places it.
    full = load_plans([_write(tmp_path, text)], units_dirs=[UNITS])
    assert full.errors == ()
    assert full.plans[0].tasks[0].requirements[0].deadlines[0].spec.due == dt.date(2017, 2, 6)


def test_a_spec_override_needs_a_deadline_review(tmp_path: Path) -> None:
    text = DEMO_PLAN.read_text(encoding="utf-8").replace("          - field: deadline\n", "          - field: text\n")
    result = load_plans([_write(tmp_path, text)], units_dirs=[UNITS])
    assert [(e.code, e.path) for e in result.errors] == [
        ("spec-needs-review", "tasks[3].requirements[1].deadlines[0].spec")]


def test_unused_trigger_is_a_warning(tmp_path: Path) -> None:
    text = DEMO_PLAN.read_text(encoding="utf-8").replace(
        "tasks:\n", "  - key: never_used\n    event: budget_approved\n    description: 未用\n\ntasks:\n", 1)
    result = load_plans([_write(tmp_path, text)], units_dirs=[UNITS])
    assert result.errors == ()
    assert "unused-trigger" in {w.code for w in result.warnings}


def test_ambiguous_compiled_phrase_warns_until_reviewed(tmp_path: Path) -> None:
    text = DEMO_PLAN.read_text(encoding="utf-8").replace("phrase: 全年工作", "phrase: 适时发布")
    result = load_plans([_write(tmp_path, text)], units_dirs=[UNITS])
    assert result.errors == ()
    ambiguous = [w for w in result.warnings if w.code == "ambiguous-unreviewed"]
    assert [(w.line, w.path) for w in ambiguous] == [(65, "tasks[3].requirements[0].deadlines[0]")]
    assert "'适时发布'" in ambiguous[0].message and "适时" in ambiguous[0].message
    reviewed = text.replace("            source: cell\n      - no: 2\n        text: 按预算法规定完成。",
                            "            source: cell\n        review:\n          - field: deadline\n"
                            "            note: 适时：按全年持续工作督办\n            status: confirmed\n"
                            "      - no: 2\n        text: 按预算法规定完成。")
    assert reviewed != text
    result = load_plans([_write(tmp_path, reviewed)], units_dirs=[UNITS])
    assert result.errors == ()
    assert "ambiguous-unreviewed" not in {w.code for w in result.warnings}


def test_load_plan_raises_with_every_error(tmp_path: Path) -> None:
    text = DEMO_PLAN.read_text(encoding="utf-8").replace("published: 2016-06-23", "published: 2016-6-23")
    text = text.replace("units: 市财政局\n", "units: 市财政厅\n")
    with pytest.raises(PlanFileError) as info:
        load_plan(_write(tmp_path, text), units_dirs=[UNITS])
    assert isinstance(info.value, DubanError) and isinstance(info.value, ValueError)
    assert [e.code for e in info.value.errors] == ["bad-date", "unknown-unit"]
    assert "'2016-6-23'" in str(info.value) and "'市财政厅'" in str(info.value)


def test_phrases_compile_once_per_phrase_year_and_date(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import duban.engine.deadlines.phrases as phrases

    calls: list[str] = []
    real = phrases.compile_phrase

    def counting(phrase: str, **kwargs):
        calls.append(phrase)
        return real(phrase, **kwargs)

    monkeypatch.setattr(phrases, "compile_phrase", counting)
    result = load_plans([DEMO_PLAN], units_dirs=[UNITS])
    assert result.errors == ()
    assert calls.count("2016年12月底前完成") == 1  # written twice, compiled once


def test_directories_of_plans_load_sorted_and_non_recursive(tmp_path: Path) -> None:
    (tmp_path / "nested").mkdir()
    shutil.copy(DEMO_PLAN, tmp_path / "b.yaml")
    (tmp_path / "notes.txt").write_text("not a plan", encoding="utf-8")
    shutil.copy(DEMO_PLAN, tmp_path / "nested" / "ignored.yaml")
    result = load_plans([tmp_path], units_dirs=[UNITS])
    assert [p.file for p in result.plans] == [str(tmp_path / "b.yaml")]


def test_a_file_named_twice_is_read_once_and_an_empty_folder_is_an_error(tmp_path: Path) -> None:
    shutil.copy(DEMO_PLAN, tmp_path / "a.yaml")
    empty = tmp_path / "empty"
    empty.mkdir()
    result = load_plans([tmp_path / "a.yaml", tmp_path, empty], units_dirs=[UNITS])
    assert [(e.file, e.code) for e in result.errors] == [(str(empty), "no-plan-files")]
    assert len(result.plans) == 1


# --------------------------------------------------------------------------- the CLI

def test_cli_valid_prints_summary_and_warnings() -> None:
    out = CliRunner().invoke(plan, ["validate", str(DEMO_PLAN), "--units-dir", str(UNITS)])
    assert out.exit_code == 0, out.output
    assert out.stdout.strip() == ("1 plans, 4 tasks, 6 requirements, 6 deadline entries, 20 obligations, "
                                  "1 open review notes")
    # Open review notes: one line counting them by field; --notes lists each.
    assert out.stderr == (f"warning: 1 open review note (units 1); list them: duban plan validate --notes "
                          f"{DEMO_PLAN}\n")
    listed = CliRunner().invoke(plan, ["validate", str(DEMO_PLAN), "--units-dir", str(UNITS), "--notes"])
    assert listed.stderr.startswith(f"warning: {DEMO_PLAN}:44: review-open tasks[1].requirements[1].review[0]: ")


def test_cli_strict_fails_on_warnings() -> None:
    out = CliRunner().invoke(plan, ["validate", str(DEMO_PLAN), "--units-dir", str(UNITS), "--strict"])
    assert out.exit_code == 1
    assert out.stderr.splitlines()[0].startswith(f"{DEMO_PLAN}:44: review-open ")


def test_cli_json_when_valid() -> None:
    out = CliRunner().invoke(plan, ["validate", str(DEMO_PLAN), "--units-dir", str(UNITS), "--json"])
    assert out.exit_code == 0
    document = json.loads(out.stdout)
    assert document["ok"] is True and document["errors"] == []
    assert [w["code"] for w in document["warnings"]] == ["review-open"]
    assert set(document["warnings"][0]) == {"file", "line", "code", "path", "message"}
    assert document["summary"]["obligations"] == 20


def test_cli_missing_path_is_a_usage_error(tmp_path: Path) -> None:
    out = CliRunner().invoke(plan, ["validate", str(tmp_path / "nope.yaml")])
    assert out.exit_code == 2


# --------------------------------------------------------------------------- the shipped seed plans

def test_seed_plans_validate() -> None:
    """rules/plans validates against rules/units with exit 0 (open review notes are warnings)."""
    out = CliRunner().invoke(cli, ["plan", "validate", str(PLANS_DIR), "--json"])  # as registered
    document = json.loads(out.stdout)
    assert [e["message"] for e in document["errors"]] == []
    assert out.exit_code == 0
    assert {w["code"] for w in document["warnings"]} <= {"review-open", "ambiguous-unreviewed"}
    summary = document["summary"]
    # A snapshot of the encoded seed: a change in the encoding, the units directory or the
    # phrase compiler that moves these numbers must be deliberate.
    assert {k: v for k, v in summary.items() if k != "open_reviews"} == {
        "plans": 2, "tasks": 31, "requirements": 94, "deadline_entries": 106, "obligations": 1450}
    result = load_plans([PLANS_DIR])
    disclosure = next(p for p in result.plans if p.id == "jieyang-2016-disclosure")
    assert [t.no for t in disclosure.tasks] == list(range(0, 30))  # task 0 (the notice body) and 1..29
    tax = next(p for p in result.plans if p.id == "jieyang-2016-tax-sharing")
    due = tax.tasks[0].requirements[0].deadlines[0].spec
    assert due == Fixed(due=dt.date(2016, 6, 30))
    body = disclosure.tasks[0].requirements[0].deadlines[0].spec
    assert isinstance(body, Relative) and body.due == dt.date(2016, 8, 4)
