"""Inbox matching on the labelled corpus: precision and recall of the top proposal, documents per second.

Prints one JSON line, then a readable summary on stderr. The figures are
given for the whole corpus and for each part of it: ``dev`` (the documents
the weights and the threshold were set on) and ``heldout`` (fixed in the file
by a hash of the id; the honest measure). ``baseline`` is a naive matcher measured in the same
run: a trigger is proposed when its description's longest 《》-named document
or its first four characters after "省"/"市" occur in the document's title
(substring matching, the first matching trigger wins). ``seconds`` is the
time to rank the whole corpus ``--rounds`` times (after warm-up: jieba's
dictionary and the BM25 index are built once per scan, not per document).

    python bench/inbox.py [--rounds 20]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from _common import log, rss_mb
from duban.engine.deadlines.calendar import WorkingCalendar
from duban.engine.inbox.config import load_inbox_config
from duban.engine.inbox.evaluate import SPLITS, LabelledDocument, evaluate, load_labelled
from duban.engine.inbox.match import Matcher, TriggerProfile
from duban.engine.inbox.profiles import profiles_from_plans
from duban.engine.plans.planfile import load_plans

REPO = Path(__file__).resolve().parent.parent


def naive(profiles: list[TriggerProfile], item: LabelledDocument) -> str | None:
    """The baseline: the trigger whose named document (or description head) is a substring of the title."""
    for p in profiles:
        needle = max(p.named_documents, key=len) if p.named_documents else p.description.lstrip("省市")[:4]
        if needle and (needle in item.document.title or item.document.title in needle):
            return p.key
    return None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    plans = load_plans([REPO / "rules" / "plans"], units_dirs=[REPO / "rules" / "units"],
                       calendar=WorkingCalendar.default())
    profiles, background = profiles_from_plans(plans.plans)
    corpus = load_labelled(REPO / "tests" / "fixtures" / "inbox" / "documents.jsonl")
    t0 = time.perf_counter()
    matcher = Matcher(profiles, load_inbox_config(), background)
    build = time.perf_counter() - t0
    result = evaluate(matcher, corpus)  # warm-up and the quality figures
    parts = {split: evaluate(matcher, [i for i in corpus if i.split == split]) for split in SPLITS}
    t0 = time.perf_counter()
    for _ in range(args.rounds):
        for item in corpus:
            matcher.rank(item.document)
    seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    hits = []
    for _ in range(args.rounds):
        hits = [(item, naive(profiles, item)) for item in corpus]
    baseline = time.perf_counter() - t0
    proposed = [(i, k) for i, k in hits if k is not None]
    n = len(corpus) * args.rounds
    print(json.dumps({
        "bench": "inbox", "n": n, "seconds": round(seconds, 4), "baseline_seconds": round(baseline, 4),
        "ratio": round(seconds / baseline, 1) if baseline else None, "rss_mb": rss_mb(),
        "documents_per_second": round(n / seconds, 1), "index_build_seconds": round(build, 3),
        "precision_at_1": round(result.precision, 3), "recall_at_1": round(result.recall, 3),
        "proposed": result.proposed, "positives": result.positives,
        "splits": {split: r.to_json() for split, r in parts.items()},
        "baseline_precision_at_1": round(sum(1 for i, k in proposed if k in i.labels) / len(proposed), 3)
        if proposed else None,
        "baseline_recall_at_1": round(sum(1 for i, k in hits if i.labels and k in i.labels)
                                      / max(1, sum(1 for i, _ in hits if i.labels)), 3),
    }, ensure_ascii=False))
    for split, r in parts.items():
        log(f"{split:8} {r.documents:4} documents {r.positives:3} positives: precision@1 {r.precision:.2f} "
            f"({r.correct}/{r.proposed} top proposals right), recall@1 {r.recall:.2f} ({r.found}/{r.positives})")
        for line in (*r.misses, *r.wrong):
            log(f"         {line}")


if __name__ == "__main__":
    main()
