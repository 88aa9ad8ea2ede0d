"""Benchmark: ``WorkingCalendar.add_workdays`` against day-by-day loops.

1,000,000 calls through the public API with random starts in the covered
years and offsets of 1..250 working days, timed against two day-by-day
reference loops measured on a subset in the same run and scaled:

* ``baseline``: stepping one day at a time with ``chinese_calendar.is_workday``
  (what a caller would write with the package alone; its ``find_workday`` is
  off by one from a rest day, so it is not used);
* ``own_loop``: stepping one day at a time with our own
  ``WorkingCalendar.is_workday`` — the same data, only the prefix counts
  removed, so this ratio isolates the algorithm.

Progress goes to stderr; the last line on stdout is one JSON object.
Run: ``.venv/bin/python bench/workdays.py``.
"""

from __future__ import annotations

import datetime as dt
import json
import platform
import random
import resource
import statistics
import sys
import time
from collections.abc import Callable, Sequence

import chinese_calendar

from duban.engine.deadlines.calendar import WorkingCalendar

N_CALLS = 1_000_000
MAX_OFFSET = 250
REPEATS = 5
SUBSET_CC = 400        # chinese_calendar.is_workday costs ~10 µs a day: a small subset suffices
SUBSET_OWN = 20_000
N_AT_30 = 200_000
SEED = 20160623
ONE_DAY = dt.timedelta(days=1)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def loop_with(is_workday: Callable[[dt.date], bool]) -> Callable[[dt.date, int], dt.date]:
    """A day-by-day reference: the n-th working day strictly after start."""

    def add(start: dt.date, n: int) -> dt.date:
        day, seen = start, 0
        while seen < n:
            day += ONE_DAY
            if is_workday(day):
                seen += 1
        return day

    return add


def timed(add: Callable[[dt.date, int], dt.date], starts: Sequence[dt.date], ns: Sequence[int]) -> float:
    began = time.perf_counter()
    for start, n in zip(starts, ns):
        add(start, n)
    return time.perf_counter() - began


def main() -> None:
    cal = WorkingCalendar.default()
    first, last = cal.span
    rng = random.Random(SEED)
    # Starts from 1 January of the first year up to the last day from which 250 working days
    # still stay inside the data.
    before = dt.date(first - 1, 12, 31)
    total = cal.workdays_between(before, dt.date(last, 12, 31))
    lo, hi = dt.date(first, 1, 1).toordinal(), cal.add_workdays(before, total - MAX_OFFSET).toordinal()
    starts = [dt.date.fromordinal(rng.randint(lo, hi)) for _ in range(N_CALLS)]
    ns = [rng.randint(1, MAX_OFFSET) for _ in range(N_CALLS)]
    log(f"calendar {first}–{last}; {N_CALLS:,} calls, offsets 1..{MAX_OFFSET}, {REPEATS} repeats")

    add = cal.add_workdays
    reference_cc = loop_with(chinese_calendar.is_workday)
    reference_own = loop_with(cal.is_workday)
    mismatches = sum(add(s, n) != reference_cc(s, n) for s, n in zip(starts[:SUBSET_CC], ns[:SUBSET_CC]))
    mismatches += sum(add(s, n) != reference_own(s, n) for s, n in zip(starts[:SUBSET_OWN], ns[:SUBSET_OWN]))
    log(f"correctness on the subsets: {mismatches} mismatches")

    runs = []
    for i in range(REPEATS):
        runs.append(timed(add, starts, ns))
        log(f"  run {i + 1}: {runs[-1]:.3f} s ({N_CALLS / runs[-1]:,.0f} calls/s)")
    seconds = statistics.median(runs)

    cc_subset = timed(reference_cc, starts[:SUBSET_CC], ns[:SUBSET_CC])
    baseline_seconds = cc_subset * N_CALLS / SUBSET_CC
    log(f"chinese_calendar day loop: {cc_subset:.3f} s for {SUBSET_CC} calls → {baseline_seconds:,.0f} s scaled")
    own_subset = timed(reference_own, starts[:SUBSET_OWN], ns[:SUBSET_OWN])
    own_seconds = own_subset * N_CALLS / SUBSET_OWN
    log(f"own is_workday day loop: {own_subset:.3f} s for {SUBSET_OWN} calls → {own_seconds:,.1f} s scaled")

    thirty = [30] * N_AT_30
    fast_30 = statistics.median(timed(add, starts[:N_AT_30], thirty) for _ in range(REPEATS)) / N_AT_30
    cc_30 = timed(reference_cc, starts[:SUBSET_CC], thirty[:SUBSET_CC]) / SUBSET_CC
    own_30 = timed(reference_own, starts[:SUBSET_OWN], thirty[:SUBSET_OWN]) / SUBSET_OWN
    log(f"at 30 working days: fast {fast_30 * 1e9:.0f} ns, chinese_calendar loop {cc_30 * 1e6:.1f} µs, "
        f"own loop {own_30 * 1e6:.2f} µs per call")

    result = {
        "bench": "workdays",
        "n": N_CALLS,
        "seconds": round(seconds, 4),
        "baseline_seconds": round(baseline_seconds, 2),
        "ratio": round(baseline_seconds / seconds, 1),
        "rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "calls_per_s": round(N_CALLS / seconds),
        "ns_per_call": round(seconds / N_CALLS * 1e9, 1),
        "runs_seconds": [round(r, 4) for r in runs],
        "baseline": "day-by-day loop on chinese_calendar.is_workday, subset scaled",
        "baseline_subset": SUBSET_CC,
        "ratio_at_30": round(cc_30 / fast_30, 1),
        "own_loop_seconds": round(own_seconds, 2),
        "own_loop_subset": SUBSET_OWN,
        "ratio_vs_own_loop": round(own_seconds / seconds, 1),
        "ratio_at_30_vs_own_loop": round(own_30 / fast_30, 1),
        "mismatches": mismatches,
        "years": [first, last],
        "python": platform.python_version(),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
