"""The unit directory: cell splitting, name normalisation, group expansion, suggestions."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from duban.engine.plans.units import (
    Unit,
    UnitDirectory,
    UnitGroup,
    UnknownUnit,
    load_directory,
    normalise_name,
    split_cell,
)
from duban.rules import UNITS_DIR
from hypothesis import given, settings
from hypothesis import strategies as st

HERE = Path(__file__).resolve().parent
DEMO = HERE / "fixtures" / "units" / "demo.yaml"


@pytest.fixture(scope="module")
def demo() -> UnitDirectory:
    load = load_directory(DEMO)
    assert load.errors == ()
    assert load.directory is not None
    return load.directory


# --------------------------------------------------------------------------- splitting

@pytest.mark.parametrize(("cell", "names"), [
    ("各县（市、区）人民政府（管委会）", ("各县（市、区）人民政府（管委会）",)),
    ("市编办，各县（市、区）人民政府（管委会）", ("市编办", "各县（市、区）人民政府（管委会）")),
    ("市财政局、市发展改革局", ("市财政局", "市发展改革局")),
    ("市科技局(市知识产权局), 各县(市、区)人民政府(管委会)",
     ("市科技局(市知识产权局)", "各县(市、区)人民政府(管委会)")),
    ("市有关单位（见附件，下同），各县（市、区）人民政府（管委会）",
     ("市有关单位（见附件，下同）", "各县（市、区）人民政府（管委会）")),
    ("《条例》起草组、【专班】", ("《条例》起草组", "【专班】")),
    ("各县（市、区)人民政府", ("各县（市、区)人民政府",)),  # mixed widths, as extraction leaves them
    ("市编办，，市财政局", ("市编办", "", "市财政局")),
    ("市编办，", ("市编办", "")),
    ("  ", ()),
    ("", ()),
])
def test_split_cell(cell: str, names: tuple[str, ...]) -> None:
    assert split_cell(cell) == names


def test_stray_closing_bracket_does_not_swallow_separators() -> None:
    assert split_cell("市编办）、市财政局") == ("市编办）", "市财政局")


@pytest.mark.parametrize(("a", "b"), [
    ("市科技局(市知识产权局)", "市科技局（市知识产权局）"),
    ("李 宇", "李宇"),
    ("市 编 办", "市编办"),
    ("市\u3000编办", "市编办"),
    ("ＰＰＰ中心", "PPP中心"),
    ("市编办\n", "市编办"),
])
def test_normalise_name(a: str, b: str) -> None:
    assert normalise_name(a) == normalise_name(b)


def test_normalise_keeps_different_names_apart() -> None:
    assert normalise_name("市财政局") != normalise_name("市财政厅")
    assert normalise_name("各县（市、区）") != normalise_name("各县（市，区）")


# --------------------------------------------------------------------------- properties

_CJK = "市县区局办委会府政人民财科技园管发展改革编教育公安"
_WORD = st.text(alphabet=_CJK + "ABCxyz019", min_size=1, max_size=6)
_SEPARATOR = st.sampled_from(["，", "、", ",", " ， ", "、 ", ", "])


@st.composite
def _bracketed(draw: st.DrawFn) -> str:
    """A bracketed part that may hold separators ("（市、区）")."""
    opening = draw(st.sampled_from(list("（(【《")))
    closing = draw(st.sampled_from(list("）)】》")))
    inner = draw(st.lists(_WORD, min_size=1, max_size=3))
    return opening + draw(st.sampled_from(["、", "，", ","])).join(inner) + closing


@st.composite
def _unit_name(draw: st.DrawFn) -> str:
    """A name starting with a word, with bracketed parts anywhere after it."""
    return draw(_WORD) + "".join(draw(st.lists(st.one_of(_WORD, _bracketed()), max_size=3)))


@settings(max_examples=200, deadline=None)
@given(names=st.lists(_unit_name(), min_size=1, max_size=6), data=st.data())
def test_splitting_a_join_gives_back_the_names(names: list[str], data: st.DataObject) -> None:
    separators = [data.draw(_SEPARATOR) for _ in names[1:]]
    cell = names[0] + "".join(sep + name for sep, name in zip(separators, names[1:], strict=True))
    assert split_cell(cell) == tuple(names)


_WIDE = {"(": "（", ")": "）", ",": "，"}
_NARROW = {v: k for k, v in _WIDE.items()}


def _variant(name: str, draw: st.DrawFn) -> str:
    """The same name as a careless typist or a PDF extractor writes it."""
    out = []
    for char in name:
        if draw(st.booleans()):
            char = _WIDE.get(char, _NARROW.get(char, char))
        if char.isascii() and char.isalnum() and draw(st.booleans()):
            char = chr(ord(char) + 0xFEE0)  # full-width letters and digits
        out.append(char)
        out.append(draw(st.sampled_from(["", "", "", " ", "\u3000", "\t"])))
    return "".join(out)


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_width_and_space_variants_resolve_the_same(demo: UnitDirectory, data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(demo.known_names()))
    variant = _variant(name, data.draw)
    assert demo.lookup(variant) == demo.lookup(name)
    assert demo.lookup(name)


@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_a_cell_resolves_to_the_union_of_its_names(demo: UnitDirectory, data: st.DataObject) -> None:
    names = data.draw(st.lists(st.sampled_from(demo.known_names()), min_size=1, max_size=5))
    separators = [data.draw(_SEPARATOR) for _ in names[1:]]
    cell = names[0] + "".join(sep + name for sep, name in zip(separators, names[1:], strict=True))
    resolution = demo.resolve_cell(cell)
    expected: dict[str, None] = {}
    for name in names:
        expected.update(dict.fromkeys(demo.expand(name)))
    assert resolution.units == tuple(expected)
    assert resolution.unknown == ()


# --------------------------------------------------------------------------- the directory

def test_groups_expand_recursively_in_order(demo: UnitDirectory) -> None:
    assert demo.expand("各县（市、区）人民政府（管委会）") == ("榕城区人民政府", "揭东区人民政府", "产业转移园管委会")
    assert demo.expand("各县(市、区)人民政府") == demo.expand("各县（市、区）人民政府（管委会）")  # a group alias
    assert demo.is_group("市有关单位（见附件，下同）")


def test_units_resolve_by_name_alias_and_full_name(demo: UnitDirectory) -> None:
    assert demo.expand("市发改局") == ("市发展改革局",)
    assert demo.unit("示例市机构编制委员会办公室").name == "市编办"
    assert demo.unit("市编办").officials[0].email == "clerk@bianban.demo.example"


def test_cell_deduplicates_units_named_twice(demo: UnitDirectory) -> None:
    resolution = demo.resolve_cell("市财政局，市有关单位")
    assert resolution.units.count("市财政局") == 1
    assert resolution.units[0] == "市财政局"
    assert demo.resolve_cell("市财政局，市有关单位") is resolution  # cached per cell


def test_unknown_unit_suggests_close_names(demo: UnitDirectory) -> None:
    with pytest.raises(UnknownUnit) as info:
        demo.expand("市财政厅")
    assert info.value.suggestions[0] == "市财政局"
    assert "'市财政厅'" in str(info.value) and "did you mean '市财政局'" in str(info.value)
    assert isinstance(info.value, LookupError)
    with pytest.raises(UnknownUnit):
        demo.unit("各县（市、区）人民政府（管委会）")  # a group is not one unit
    assert demo.suggest("法制局") == ("市法制局",)


def test_unknown_pieces_are_reported_not_dropped(demo: UnitDirectory) -> None:
    resolution = demo.resolve_cell("市编办、市统计局，，")
    assert resolution.units == ("市编办",)
    assert resolution.unknown == ("市统计局",)
    assert resolution.empty_pieces == 2


def test_directory_values_are_frozen(demo: UnitDirectory) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        demo.units[0].name = "x"  # type: ignore[misc]


def test_directory_built_in_code_expands_like_a_loaded_one() -> None:
    directory = UnitDirectory(
        id="t", name="t", supervisor="甲",
        units=(Unit(name="甲"), Unit(name="乙", aliases=("乙局",))),
        groups=(UnitGroup(name="全部", members=("甲", "部分")), UnitGroup(name="部分", members=("乙局", "全部"))),
    )
    # The cycle is cut (and reported when loaded from a file); expansion terminates.
    assert directory.expand("全部") == ("甲", "乙")
    assert directory.expand("部分") == ("乙", "甲")


def test_units_file_with_several_defects_reports_all(tmp_path: Path) -> None:
    text = DEMO.read_text(encoding="utf-8")
    text = text.replace("demo_contacts: true", "demo_contacts: yes")
    text = text.replace("clerk@czj.demo.example", "clerk@czj.gov.cn")
    text = text.replace("members: [榕城区人民政府, 揭东区人民政府]", "members: [榕城区人民政府, 揭东区政府]")
    (tmp_path / "demo.yaml").write_text(text, encoding="utf-8")
    load = load_directory(tmp_path / "demo.yaml")
    assert [e.code for e in load.errors] == ["bad-bool", "unknown-unit"]
    # With demo_contacts unreadable, addresses are not held to example domains.


def test_shipped_jieyang_directory_is_valid() -> None:
    """The seed directory (rules/units/jieyang.yaml) loads cleanly and expands its groups."""
    load = load_directory(UNITS_DIR / "jieyang.yaml")
    assert [e.format() for e in load.errors] == []
    directory = load.directory
    assert directory is not None
    assert directory.demo_contacts is True
    assert directory.unit(directory.supervisor).name == "市政府督查室"
    counties = directory.expand("各县（市、区）人民政府（管委会）")
    assert {"榕城区人民政府", "揭东区人民政府", "揭西县人民政府", "惠来县人民政府", "普宁市人民政府",
            "产业转移园管委会", "大南海工业区管委会"} <= set(counties)
    annex = directory.expand("市有关单位（见附件，下同）")
    assert len(annex) >= 50 and "市发展改革局" in annex and "市扶贫办" in annex
    for unit in directory.units:
        for official in unit.officials:
            assert official.email.endswith(".example"), official
