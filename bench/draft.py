"""Benchmark: draft plan files from notice text (``duban plan draft``) at province scale.

The input is the seed text (two notices, 93 requirements) repeated ``COPIES``
times in one file, as a province's office might paste a year's notices from
21 cities into one extraction: ``2 × COPIES`` notices. Timed: reading the text,
drafting every plan (units matched, phrases compiled, in-text deadlines found,
review notes) and rendering the plan files. The baseline, measured in the same
run, is what comes next in the workflow: validating the drafted files with
:func:`duban.engine.plans.planfile.load_plans` (strict YAML, phrase compilation,
unit expansion, calendar checks). Medians of ``RUNS`` runs.

Run: ``.venv/bin/python bench/draft.py`` (progress on stderr, one JSON line on stdout).
"""

from __future__ import annotations

import json
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

from duban.engine.drafting.draft import draft_plans, render_yaml
from duban.engine.plans.planfile import load_plans
from duban.engine.plans.units import load_directory
from duban.rules import UNITS_DIR

REPO = Path(__file__).resolve().parent.parent
SEED = "000_99e50215087478b0.txt"
COPIES = 21
RUNS = 5


def _seed() -> str:
    fixture = REPO / "tests" / "fixtures" / "seeds" / SEED
    path = fixture if fixture.is_file() else REPO.parent / "shared" / "seeds" / SEED
    return path.read_text(encoding="utf-8")


def main() -> None:
    load = load_directory(UNITS_DIR / "jieyang.yaml")
    if load.directory is None or load.errors:
        raise SystemExit("the jieyang units directory does not load")
    text = "\n".join([_seed()] * COPIES)
    print(f"input: {len(text.splitlines())} lines, {len(text.encode()) / 1e6:.2f} MB", file=sys.stderr)
    timings, baselines = [], []
    requirements = notes = plans_count = 0
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        for run in range(RUNS):
            start = time.perf_counter()
            plans, _warnings = draft_plans(text, directory=load.directory, source=SEED)
            files = {f"{plan.id}.yaml": render_yaml(plan) for plan in plans}
            timings.append(time.perf_counter() - start)
            for name, content in files.items():
                (out / name).write_text(content, encoding="utf-8")
            start = time.perf_counter()
            result = load_plans([out], units_dirs=[UNITS_DIR])
            baselines.append(time.perf_counter() - start)
            if result.errors:
                raise SystemExit("drafted files do not validate:\n" + "\n".join(e.format() for e in result.errors[:20]))
            summary = result.summary()
            requirements, notes, plans_count = summary["requirements"], summary["open_reviews"], summary["plans"]
            print(f"run {run + 1}/{RUNS}: draft {timings[-1]:.3f}s, validate the drafts {baselines[-1]:.3f}s",
                  file=sys.stderr)
    seconds = statistics.median(timings)
    baseline = statistics.median(baselines)
    print(json.dumps({
        "bench": "draft",
        "n": requirements,
        "seconds": round(seconds, 4),
        "baseline_seconds": round(baseline, 4),
        "ratio": round(seconds / baseline, 2),
        "rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "plans": plans_count,
        "review_notes": notes,
        "requirements_per_second": round(requirements / seconds),
        "first_run_seconds": round(timings[0], 4),
    }))


if __name__ == "__main__":
    main()
