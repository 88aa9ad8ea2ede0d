"""The wheel installs exactly one top-level name, ``duban``, with its data files."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_the_wheel_has_one_top_level_package_and_its_data(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(tmp_path), str(REPO)], check=True, capture_output=True)
    (wheel,) = tmp_path.glob("duban-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        top = {n.split("/", 1)[0] for n in names}
        top_level = next(n for n in names if n.endswith(".dist-info/top_level.txt"))
        assert zf.read(top_level).decode().split() == ["duban"]
    assert top == {"duban", wheel.name.split("-")[0] + "-" + wheel.name.split("-")[1] + ".dist-info"}
    for needed in ("duban/engine/tick.py", "duban/store/migrations/versions/0001_initial_schema.py",
                   "duban/rules/calendars/cn/2016.yaml", "duban/rules/plans/jieyang-2016-disclosure.yaml",
                   "duban/rules/rulesets/reminders.yaml", "duban/notifiers/templates/digest.html.j2",
                   "duban/config.yaml", "duban/cli/main.py"):
        assert needed in names, needed
    assert not any(n.startswith(("duban/tests/", "duban/bench/", "duban/.venv")) for n in names)


def test_a_bare_import_of_a_card_folder_fails():
    result = subprocess.run([sys.executable, "-c", "import engine"], cwd="/", capture_output=True, text=True)
    assert result.returncode != 0 and "No module named 'engine'" in result.stderr
