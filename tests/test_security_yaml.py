"""Attack tests on the strict YAML reader (issue 14, row 9): aliases, nesting, size."""

from __future__ import annotations

from pathlib import Path

from duban.engine.common import strictyaml
from duban.engine.common.strictyaml import YamlScalar, YamlSeq, parse_yaml, read_yaml


def _laughs(levels: int) -> str:
    lines = ['a0: &a0 ["x","x","x","x","x","x","x","x","x","x"]']
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def test_aliases_are_refused_before_expansion() -> None:
    """An 852-byte file of nested aliases took 24.7 s and 2.4 GB in `plan validate` (each level ×10)."""
    root, diags = parse_yaml(_laughs(9), file="laughs.yaml")
    assert root is not None and {d.code for d in diags} == {"yaml-alias"}
    level1 = root.get("a1")
    assert isinstance(level1, YamlSeq)
    # An alias stands for an empty scalar, never for the anchored subtree: nothing can multiply.
    assert all(isinstance(item, YamlScalar) and item.value == "" for item in level1.items)
    assert strictyaml.to_plain(root)["a8"] == [""] * 10


def test_deep_nesting_is_a_diagnostic_not_a_traceback() -> None:
    """About 3,000 levels of nesting gave a RecursionError traceback."""
    for text in ("a: " + "[" * 3000 + "]" * 3000, "\n".join(" " * i + "k:" for i in range(3000)),
                 "a: " + "{b: " * 3000 + "c" + "}" * 3000):
        root, diags = parse_yaml(text, file="deep.yaml")
        assert [d.code for d in diags] == ["yaml-too-deep"], diags
        assert diags[0].line >= 1


def test_an_oversized_file_is_not_parsed(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(strictyaml, "MAX_BYTES", 1024)
    big = tmp_path / "big.yaml"
    big.write_text("k: " + "x" * 2000 + "\n", encoding="utf-8")
    root, diags = read_yaml(big)
    assert root is None and [d.code for d in diags] == ["yaml-too-large"]
    assert parse_yaml("k: " + "x" * 2000, file="s.yaml")[1][0].code == "yaml-too-large"


def test_plan_validate_reports_an_alias_bomb_quickly(tmp_path: Path) -> None:
    """End to end: `duban plan validate` on the bomb answers with file:line errors, not minutes of work."""
    import time

    from click.testing import CliRunner
    from duban.cli.main import cli

    plan = tmp_path / "bomb.yaml"
    plan.write_text(_laughs(9), encoding="utf-8")
    started = time.monotonic()
    result = CliRunner().invoke(cli, ["plan", "validate", str(plan)], catch_exceptions=False)
    assert time.monotonic() - started < 10
    assert result.exit_code != 0 and "yaml-alias" in (result.stdout + result.stderr)
