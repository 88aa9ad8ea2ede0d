"""Issue 12's new spec fields flow through a real store: plan import → plan show --json → obligations.

A plan file with a weekly rhythm (weekday), a lag rhythm (次月5日前), a window with a start and a
triggered deadline with the event's own words (description): every field the compiler writes must
come back unchanged from ``plan show --json``, and the obligations the tick reminds from must
carry the dues those fields mean.
"""

from __future__ import annotations

import json
from pathlib import Path

from helpers import run

# (phrase, the spec fields it must keep through the store)
PHRASES = [
    ("每周五", {"kind": "recurring", "freq": "weekly", "weekday": 5}),
    ("次月5日前", {"kind": "recurring", "freq": "monthly", "lag": {"days": 5}}),
    ("2016年7月1日至9月30日", {"kind": "fixed", "start": "2016-07-01", "due": "2016-09-30"}),
    ("自收到申请之日起20个工作日内", {"kind": "triggered", "description": "收到申请",
                                   "offset": {"working_days": 20}}),
    ("每两个月", {"kind": "recurring", "freq": "monthly", "interval": 2}),
]


def _plan_file(folder: Path) -> Path:
    lines = ["plan:", "  id: fields-2016", "  title: 新字段测试方案", "  issuer: 揭阳市人民政府办公室",
             "  published: 2016-06-23", "  plan_year: 2016", "  units: jieyang", "",
             "triggers:", "  - key: application", "    event: document_received", "    description: 收到申请", "",
             "tasks:", "  - no: 1", "    title: 各类时限", "    requirements:"]
    for i, (phrase, _) in enumerate(PHRASES, start=1):
        lines += [f"      - no: {i}", f"        text: 第{i}项工作。", "        units: 市编办",
                  "        deadlines:", f"          - phrase: {phrase}", "            source: cell"]
        if "之日起" in phrase:
            lines += ["            trigger: application"]
        if "之日起" in phrase:  # an event the name table does not know: flagged, so a person reviews it
            lines += ["        review:", "          - field: deadline",
                      "            note: 【显式规格】受理申请之日起计算", "            status: open"]
    path = folder / "fields-2016.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_new_spec_fields_survive_import_and_show(store, env_for, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    env = env_for(store)
    code, _, err = run(env, "plan", "import", str(_plan_file(tmp_path)))
    assert code == 0, err
    code, out, err = run(env, "plan", "show", "fields-2016", "--json")
    assert code == 0, err
    shown = {req["no"]: req["deadlines"][0]["spec"] for task in json.loads(out)["tasks"]
             for req in task["requirements"]}
    for i, (phrase, fields) in enumerate(PHRASES, start=1):
        for key, value in fields.items():
            assert shown[i].get(key) == value, (phrase, key, shown[i])


def test_the_obligations_carry_what_the_fields_mean(store, env_for, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    env = env_for(store)
    code, _, err = run(env, "plan", "import", str(_plan_file(tmp_path)))
    assert code == 0, err
    code, out, err = run(env, "obligations", "list", "--plan", "fields-2016", "--as-of", "2016-06-23", "--json")
    assert code == 0, err
    dues: dict[int, set[str]] = {}
    for o in json.loads(out):
        dues.setdefault(int(str(o["requirement"])), set()).add(o["due"])
    assert "2016-09-30" in dues[3]                          # the window's due, not its start
    assert dues[1] and all(_weekday(d) == 5 for d in dues[1])  # every weekly due is a Friday
    assert dues[2] and all(d.endswith("-05") for d in dues[2])  # each month's report, 5 days after
    assert dues.get(4, {None}) == {None}                    # triggered: nothing due until the event


def _weekday(iso: str) -> int:
    import datetime as dt

    return dt.date.fromisoformat(iso).isoweekday()
