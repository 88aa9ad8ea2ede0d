"""Attack tests on recipient data (issue 14, row 5): poison in the units directory is refused at import.

An official whose name or address holds CR/LF or an RFC 2047 encoded-word
used to pass `plan validate`/`import` and then abort the real tick for
everyone. It is now an error with file:line where the data enters.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from duban.engine.plans.units import load_directory

REPO = Path(__file__).resolve().parent.parent
SOURCE = REPO / "rules" / "units" / "jieyang.yaml"


@pytest.mark.parametrize(("field", "poison"), [
    ("name", '"市发展改革局负责同志\\r\\nBcc: everyone@evil.example"'),
    ("name", '"=?utf-8?b?5p6X55Gc?="'),
    ("email", '"leader@fagai.jieyang.example\\nBcc: x@evil.example"'),
])
def test_a_poisoned_official_is_refused_with_file_and_line(tmp_path: Path, field: str, poison: str) -> None:
    text = SOURCE.read_text(encoding="utf-8")
    lines = text.splitlines()
    index = next(i for i, line in enumerate(lines)
                 if line.strip() == ('- name: "市发展改革局负责同志（示例）"' if field == "name"
                                     else 'email: "leader@fagai.jieyang.example"'))
    prefix = lines[index][: len(lines[index]) - len(lines[index].lstrip())]
    lines[index] = prefix + ("- name: " if field == "name" else "email: ") + poison
    poisoned = tmp_path / "jieyang.yaml"
    poisoned.write_text("\n".join(lines) + "\n", encoding="utf-8")
    loaded = load_directory(poisoned)
    found = [d for d in loaded.errors if d.code in ("unsafe-recipient", "bad-email")]
    assert found, loaded.errors
    assert found[0].line == index + 1 and found[0].file.endswith("jieyang.yaml")
    assert load_directory(SOURCE).errors == ()
