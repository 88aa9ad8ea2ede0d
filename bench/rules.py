"""Benchmark: the durable-rules evaluator against the plain one (the baseline), 10,000 and 50,000 candidates.

Each run matches a whole tick's candidates with the shipped policy, once
with durable-rules and once with the plain evaluator (the baseline); the
shared :func:`decide` step is timed separately (it is the same for both).
Candidates are spread from 60 working days overdue to 30 before, with random
recorded stages and repeat counters, so every rule of the compiled ruleset
fires. Figures are medians of several runs; progress goes to stderr, one
JSON line to stdout: ``seconds``/``baseline_seconds`` are durable/plain
matching at the largest n; ``sizes`` has every n, with whole-tick figures.

    .venv/bin/python bench/rules.py [--runs 5]
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import resource
import statistics
import sys
import time
from collections.abc import Callable

from duban.engine.reminders import rules_durable

from duban.engine.reminders import rules_plain
from duban.engine.reminders.decide import Candidate, decide
from duban.engine.reminders.policy import ReminderPolicy, default_policy

SIZES = (10_000, 50_000)


def make_candidates(policy: ReminderPolicy, n: int, seed: int) -> list[Candidate]:
    rnd = random.Random(seed)
    stage_ids = policy.stage_ids
    return [Candidate(id=f"occ:{i}", wd_to_due=rnd.randint(-60, 30),
                      recorded=frozenset(s for s in stage_ids if rnd.random() < 0.3),
                      repeats_recorded=rnd.randint(0, 6)) for i in range(n)]


def timed(step: Callable[[], object]) -> float:
    gc.collect()  # start every step from the same heap; collections during the step still count
    start = time.perf_counter()
    step()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    policy = default_policy()
    sizes: dict[str, dict[str, float | int]] = {}
    for n in SIZES:
        batch = make_candidates(policy, n, seed=n)
        check = rules_durable.run(policy, batch)
        plain_matched = rules_plain.evaluate(policy, batch)
        if dict(check.matched) != plain_matched or check.actions != n:
            raise SystemExit("bench: durable and plain disagree")
        figures: dict[str, list[float]] = {"durable": [], "plain": [], "decide": []}
        for run in range(args.runs):
            figures["plain"].append(timed(lambda: rules_plain.evaluate(policy, batch)))
            figures["durable"].append(timed(lambda: rules_durable.evaluate(policy, batch)))
            figures["decide"].append(timed(lambda: decide(policy, batch, plain_matched)))
            print(f"n={n} run {run + 1}/{args.runs}: " + ", ".join(f"{k} {v[-1]:.3f}s" for k, v in figures.items()),
                  file=sys.stderr)
        d, p, dec = (statistics.median(figures[k]) for k in ("durable", "plain", "decide"))
        sizes[str(n)] = {"seconds": round(d, 4), "baseline_seconds": round(p, 4), "ratio": round(d / p, 2),
                         "durable_per_candidate_us": round(d / n * 1e6, 2),
                         "plain_per_candidate_us": round(p / n * 1e6, 2),
                         "decide_seconds": round(dec, 4),
                         "tick_seconds_durable": round(d + dec, 4), "tick_seconds_plain": round(p + dec, 4),
                         "posts": check.posts}
    top = sizes[str(SIZES[-1])]
    compiled = rules_durable.compile_policy(policy)
    print(json.dumps({
        "bench": "rules", "n": SIZES[-1], "seconds": top["seconds"], "baseline_seconds": top["baseline_seconds"],
        "ratio": top["ratio"], "rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "per_candidate_us": {"durable": top["durable_per_candidate_us"], "plain": top["plain_per_candidate_us"]},
        "durable_per_candidate_us": top["durable_per_candidate_us"],
        "plain_per_candidate_us": top["plain_per_candidate_us"],
        "decide_seconds": top["decide_seconds"],
        "runs": args.runs, "rules": len(compiled.rules), "batch_size": rules_durable.BATCH_SIZE, "sizes": sizes,
    }, ensure_ascii=False))


if __name__ == "__main__":
    main()
