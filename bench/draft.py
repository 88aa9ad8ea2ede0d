"""Benchmark: draft plan files from notice text (``duban plan draft``) at province scale.

The input is the seed text (two notices, 93 requirements) repeated ``COPIES``
times in one file, as a province's office might paste a year's notices from
21 cities into one extraction: ``2 × COPIES`` notices. Timed: reading the text,
drafting every plan (units matched, phrases compiled, in-text deadlines found,
review notes) and rendering the plan files. The baseline, measured in the same
run, is what comes next in the workflow: validating the drafted files with
:func:`duban.engine.plans.planfile.load_plans` (strict YAML, phrase compilation,
unit expansion, calendar checks). Medians of ``RUNS`` runs.

Then the corpus (tests/fixtures/notices/corpus, real notices in every format
they are given): notices drafted, requirements found / expected, lead units,
co-units and deadline phrases right (scored against the hand-checked keys,
see :mod:`duban.engine.drafting.keys`), invented requirements, and notices per
second (median of ``RUNS`` passes over every file).

Run: ``.venv/bin/python bench/draft.py`` (a readable summary on stderr, one JSON line on stdout).
"""

from __future__ import annotations

import json
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

from duban.engine.drafting.draft import NoticeReadError, draft_plans, render_yaml
from duban.engine.drafting.formats import read_document
from duban.engine.drafting.keys import Drafted, load_key, score, squash
from duban.engine.drafting.layout import find_requirements
from duban.engine.drafting.notice import draft_document
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


CORPUS = REPO / "tests" / "fixtures" / "notices" / "corpus"


def corpus() -> dict[str, object]:
    """Draft every corpus file in every format; score against the keys; time whole passes."""
    cases = [(k, fmt) for k in sorted(CORPUS.glob("*.key.json")) for fmt in load_key(k)["formats"]]
    totals = {"expected": 0, "found": 0, "lead_right": 0, "co_right": 0, "deadline_right": 0, "all_right": 0,
              "invented": 0}
    drafted = errors = empty = 0
    for key_path, fmt in cases:
        stem = key_path.name[: -len(".key.json")]
        key = dict(load_key(key_path))
        document = read_document(CORPUS / f"{stem}.{fmt}")
        present = squash(document.text)
        key["requirements"] = [r for r in key["requirements"]
                               if squash(r["start"]).lstrip("0123456789.、")[:8] in present]
        try:
            plan = draft_document(document)
            drafted += 1
            empty += not plan.tasks  # a plan notice with no requirement on the page: drafted, and says so
        except NoticeReadError:
            errors += 1
        found = [Drafted(task_title=f.task_title, text=f.text, lead=f.lead, co=f.co, deadlines=f.deadlines)
                 for f in find_requirements(document)]
        result = score(key, found, (CORPUS / f"{stem}.txt").read_text(encoding="utf-8"))
        for name, value in result.to_json().items():
            if name in totals:
                totals[name] += value
    timings = []
    for _run in range(RUNS):
        start = time.perf_counter()
        for key_path, fmt in cases:
            try:
                draft_document(read_document(CORPUS / f"{key_path.name[: -len('.key.json')]}.{fmt}"))
            except NoticeReadError:
                pass
        timings.append(time.perf_counter() - start)
    seconds = statistics.median(timings)
    exp = totals["expected"] or 1
    print(f"corpus: {len(cases)} files ({len({k for k, _ in cases})} notices), {drafted} drafted ({empty} with no "
          f"requirement on the page), {errors} refused; requirements found {totals['found']}/{totals['expected']} "
          f"({100 * totals['found'] / exp:.1f} %), lead units right {totals['lead_right']}, co-units right "
          f"{totals['co_right']}, deadline phrases right {totals['deadline_right']}, all three "
          f"{totals['all_right']}; invented {totals['invented']}; {len(cases) / seconds:.1f} notices/s",
          file=sys.stderr)
    return {"corpus_files": len(cases), "corpus_drafted": drafted, "corpus_drafted_empty": empty,
            "corpus_refused": errors,
            **{f"corpus_{k}": v for k, v in totals.items()},
            "corpus_notices_per_second": round(len(cases) / seconds, 1)}


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
        **corpus(),
    }))


if __name__ == "__main__":
    main()
