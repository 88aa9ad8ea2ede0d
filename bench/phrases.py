"""Benchmark: the deadline-phrase compiler (target ≥ 20,000 distinct phrases/s).

Run standalone: ``.venv/bin/python bench/phrases.py [N]``. Progress goes to
stderr; the last stdout line is one JSON object.

Every phrase of the uncached run is distinct (years, months, days, windows,
spacing and full-width digits vary), so the LRU cache never helps it: it is
the compiler's real speed. The cached run compiles the same phrases again.
The baseline, measured in the same run, is the floor any compiler pays:
NFKC-normalising each phrase and one precompiled regex search over it.
"""

from __future__ import annotations

import json
import resource
import statistics
import sys
import time
from collections.abc import Callable

from pathlib import Path

from duban.engine.deadlines import phrases
from duban.engine.deadlines.phrases import compiler, forms
from duban.engine.deadlines.phrases.normalise import normalise

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
import phrase_scoring  # noqa: E402  (tests/phrase_scoring.py: the scorer the corpus test uses)

_TEMPLATES = (
    "{y}年{m}月底前完成", "{y} 年 {m} 月底前完成", "{m}月{d}日前", "{y}年{m}月{d}日前", "{y}年第{q}季度完成",
    "{y}年{m}月前完成", "{y}年{m}月", "{y}年底前完成", "力争{y}年{m}月底前完成", "原则上{m}月{d}日前完成",
    "待省相关文件出台后{d}日内", "收到国家税收政策文件后{d}个工作日内转发", "本方案公布后{d}个工作日内",
    "在市人大通过市级部门预算后{d}日内", "每月{d}日前", "流行季节（{m}-{m2}月）每月", "自{y}年起每季度",
    "中考{m}月高考{m2}月", "按预算法规定完成。全部部门决算公开完成时限{y}年{m}月底前",
    "{y}年{m}月底前完成, 后续定期进行目录调整", "特别重大、重大突发事件发生后，应在{h}小时内",
    "省文件发布之日起{d}个工作日内", "{y}年上半年", "{y}年{m}月中旬",
)
_FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def distinct_phrases(n: int) -> list[str]:
    """``n`` distinct phrases cycling through the templates."""
    out: dict[str, None] = {}
    i = 0
    while len(out) < n:
        template = _TEMPLATES[i % len(_TEMPLATES)]
        k = i // len(_TEMPLATES)
        phrase = template.format(y=1990 + k % 120, m=1 + k % 12, m2=1 + (k // 12) % 12, d=1 + (k // 7) % 28,
                                 q=1 + k % 4, h=1 + k % 72)
        if (k // 120) % 2:
            phrase = phrase.translate(_FULLWIDTH)
        if (k // 240) % 3:
            phrase = " " * ((k // 240) % 3) + phrase + "　" * ((k // 720) % 4)
        out[phrase] = None
        i += 1
    return list(out)


def _timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 40_000
    runs = 5
    batch = distinct_phrases(n)
    print(f"bench phrases: {len(batch)} distinct phrases, {runs} runs", file=sys.stderr)

    floor_pattern = forms._FORMS[-2].pattern  # any precompiled form: the floor is one search

    def floor() -> None:
        for p in batch:
            floor_pattern.search(normalise(p))

    def uncached() -> None:
        compile_ = compiler._compile  # the compiler itself, no LRU cache in front
        for p in batch:
            compile_(p, 2016)

    def cached() -> None:
        for p in batch[:8000]:
            phrases.compile_phrase(p, plan_year=2016)

    baseline, plain, hits = [], [], []
    for run in range(runs):
        baseline.append(_timed(floor))
        plain.append(_timed(uncached))
        cached()  # warm the cache (it holds 8192 entries)
        hits.append(_timed(cached) * len(batch) / 8000)
        print(f"  run {run + 1}: floor {baseline[-1]:.3f}s, uncached {plain[-1]:.3f}s, "
              f"cached {hits[-1]:.3f}s (scaled to n)", file=sys.stderr)
    seconds, base, hit = statistics.median(plain), statistics.median(baseline), statistics.median(hits)
    corpus = phrase_scoring.load_corpus()
    t0 = time.perf_counter()
    for row in corpus:  # the real phrases, uncached
        try:
            compiler._compile(row["phrase"], row["plan_year"])
        except phrases.PhraseError:
            pass
    corpus_rate = len(corpus) / (time.perf_counter() - t0)
    score = phrase_scoring.score(corpus, phrases.compile_phrase)
    texts = phrase_scoring.score_texts(phrase_scoring.load_corpus("texts.jsonl"), phrases.extract_text_deadlines)
    rate = len(batch) / seconds
    print(json.dumps({
        "bench": "phrases",
        "n": len(batch),
        "seconds": round(seconds, 4),
        "baseline_seconds": round(base, 4),
        "ratio": round(seconds / base, 2),
        "rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "runs": runs,
        "phrases_per_s_uncached": round(rate),
        "phrases_per_s_cached": round(len(batch) / hit),
        "target_phrases_per_s": 20_000,
        "target_met": rate >= 20_000,
        "corpus": {"phrases": score.total, **score.summary(), "phrases_per_s_uncached": round(corpus_rate)},
        "texts": {"deadlines": texts.expected, "found": texts.found, "spurious": len(texts.spurious)},
    }))


if __name__ == "__main__":
    main()
