"""Benchmark: validate a province-scale plan set (21 cities × 30 tasks × 5 requirements × 15 units).

Generates, in a temporary folder, one units directory and one plan file per
city, then times :func:`duban.engine.plans.planfile.load_plans` over all of them.
The baseline, measured in the same run, is the bare parse of the same files
with libyaml (``yaml.load`` with ``CSafeLoader``): what any YAML loading costs,
before strictness, phrase compilation, unit expansion and calendar checks.

Run: ``.venv/bin/python bench/plan_validate.py`` (progress on stderr, one JSON line on stdout).
"""

from __future__ import annotations

import json
import random
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

from duban.engine.plans.planfile import load_plans

CITIES = 21
TASKS = 30
REQUIREMENTS = 5
COUNTIES = 9
BUREAUS = 12
RUNS = 5

PHRASES = [
    ("2016年12月底前完成", "cell", None),
    ("全年工作", "cell", None),
    ("2016年7月底前完成", "cell", None),
    ("本方案公布后30个工作日内", "text", None),
    ("待省相关文件出台后", "cell", "gd_doc"),
]


def _units_file(city: int) -> str:
    lines = [f"directory:\n  id: city{city:02d}\n  name: 第{city}市\n  demo_contacts: true\n",
             "supervisor: 市政府督查室\n", "units:\n"]
    names = ["市政府督查室"] + [f"市第{b}局" for b in range(BUREAUS)] + [f"第{c}县人民政府" for c in range(COUNTIES)]
    for i, name in enumerate(names):
        lines.append(f"  - name: {name}\n    officials:\n      - name: 联络员（示例）\n        role: clerk\n"
                     f"        email: clerk{i}@city{city}.example\n")
    lines.append("groups:\n  - name: 各县（市、区）人民政府（管委会）\n    members: ["
                 + ", ".join(f"第{c}县人民政府" for c in range(COUNTIES)) + "]\n")
    lines.append("  - name: 市有关单位\n    members: [" + ", ".join(f"市第{b}局" for b in range(BUREAUS)) + "]\n")
    return "".join(lines)


def _plan_file(city: int, rng: random.Random) -> str:
    out = [f"plan:\n  id: city{city:02d}-2016\n  title: 第{city}市2016年政务公开工作方案\n"
           f"  issuer: 第{city}市人民政府办公室\n  published: 2016-06-23\n  plan_year: 2016\n  units: city{city:02d}\n",
           "triggers:\n  - key: gd_doc\n    event: provincial_document_issued\n    description: 省相关文件出台\n",
           "tasks:\n"]
    for task in range(1, TASKS + 1):
        out.append(f"  - no: {task}\n    title: 第{task}项工作任务\n    requirements:\n")
        for req in range(1, REQUIREMENTS + 1):
            bureaus = rng.sample(range(BUREAUS), 6)
            cell = "、".join(f"市第{b}局" for b in bureaus) + "，各县（市、区）人民政府（管委会）"  # 6 + 9 = 15 units
            phrase, source, trigger = PHRASES[(task + req) % len(PHRASES)]
            out.append(f"      - no: {req}\n        text: 第{task}项第{req}条具体要求，按时公开相关信息。\n"
                       f"        units: {cell}\n        deadlines:\n          - phrase: {phrase}\n"
                       f"            source: {source}\n")
            if trigger:
                out.append(f"            trigger: {trigger}\n")
    return "".join(out)


def main() -> None:
    rng = random.Random(2016)
    with tempfile.TemporaryDirectory() as tmp:
        plans_dir, units_dir = Path(tmp) / "plans", Path(tmp) / "units"
        plans_dir.mkdir()
        units_dir.mkdir()
        for city in range(1, CITIES + 1):
            (units_dir / f"city{city:02d}.yaml").write_text(_units_file(city), encoding="utf-8")
            (plans_dir / f"city{city:02d}.yaml").write_text(_plan_file(city, rng), encoding="utf-8")
        files = sorted(plans_dir.glob("*.yaml")) + sorted(units_dir.glob("*.yaml"))
        size = sum(p.stat().st_size for p in files)
        print(f"generated {len(files)} files, {size / 1e6:.1f} MB", file=sys.stderr)

        timings, baselines = [], []
        summary: dict[str, int] = {}
        for run in range(RUNS):
            start = time.perf_counter()
            for path in files:
                yaml.CSafeLoader(path.read_text(encoding="utf-8")).get_single_data()  # libyaml, safe
            baselines.append(time.perf_counter() - start)
            start = time.perf_counter()
            result = load_plans([plans_dir], units_dirs=[units_dir])
            timings.append(time.perf_counter() - start)
            if result.errors:
                raise SystemExit("unexpected errors:\n" + "\n".join(e.format() for e in result.errors[:20]))
            summary = result.summary()
            print(f"run {run + 1}/{RUNS}: validate {timings[-1]:.3f}s, bare parse {baselines[-1]:.3f}s",
                  file=sys.stderr)

    seconds = statistics.median(timings)
    baseline = statistics.median(baselines)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({
        "bench": "plan_validate",
        "n": summary["requirements"],
        "seconds": round(seconds, 4),
        "baseline_seconds": round(baseline, 4),
        "ratio": round(seconds / baseline, 2),
        "rss_mb": round(rss_mb, 1),
        "plans": summary["plans"],
        "deadline_entries": summary["deadline_entries"],
        "obligations": summary["obligations"],
        "requirements_per_second": round(summary["requirements"] / seconds),
        "mb": round(size / 1e6, 2),
    }))


if __name__ == "__main__":
    main()
