"""Benchmark: reminder volume over the seed year — what recipients actually receive.

    python bench/reminder_volume.py [--scenario rules/scenarios/jieyang-2016-demo.yaml | --no-scenario]

Imports the seed plans into a scratch SQLite store and replays 2016-06-21 →
2017-03-31 (the same replay as ``make run``) with the demo scenario, or with
no completions at all (``--no-scenario``, the harshest case). The volume is a
product property (issue 13): at most one email per recipient per working
day, per-recipient weekly median ≤ 2 and p95 ≤ 3, no email over 50 cards.

``seconds`` is the replay's wall time; ``baseline_seconds`` the figure before
the reminder rework (7,469 emails, measured on this machine) so ``ratio`` is
the email ratio new/old. Ends with one JSON line:
{"bench", "n", "seconds", "baseline_seconds", "ratio", "rss_mb", "volume", ...}.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import log, rss_mb  # noqa: E402

from duban.engine.plans.importer import import_result  # noqa: E402
from duban.engine.plans.planfile import load_plans  # noqa: E402
from duban.engine.runtime.build import build_runtime  # noqa: E402
from duban.engine.runtime.settings import load_settings  # noqa: E402
from duban.engine.runtime.simulate import load_scenario, simulate  # noqa: E402
from duban.engine.deadlines.spec import Offset  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
START, END = dt.date(2016, 6, 21), dt.date(2017, 3, 31)
#: Emails of the same replay before issue 13 (one digest per role and a per-item overdue rhythm).
BASELINE_EMAILS = 7469


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", type=Path, default=REPO / "rules/scenarios/jieyang-2016-demo.yaml")
    parser.add_argument("--no-scenario", action="store_true", help="no completions at all (the harshest case)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(environ={"DUBAN_DATABASE_URL": f"sqlite:///{tmp}/volume.db",
                                          "DUBAN_OUTBOX_DIR": f"{tmp}/outbox"})
        rt = build_runtime(settings)
        result = load_plans([REPO / "rules" / "plans"], units_dirs=[REPO / "rules" / "units"], calendar=rt.calendar)
        with rt.sessions() as s, s.begin():
            import_result(s, result, calendar=rt.calendar, actor="bench", checkins=settings.ongoing_checkins,
                          default_offset=Offset(unit="working_days",
                                                amount=settings.trigger_default_offset_working_days))
        scenario = None if args.no_scenario else load_scenario(args.scenario)
        log(f"replaying {START} → {END} ({'no scenario' if scenario is None else scenario.name})")
        started = time.perf_counter()
        summary = simulate(rt, START, END, scenario=scenario)
        seconds = time.perf_counter() - started
        v = summary.volume
    print(json.dumps({"bench": "reminder_volume", "n": v.emails, "seconds": round(seconds, 2),
                      "baseline_seconds": None, "baseline_emails": BASELINE_EMAILS,
                      "ratio": round(v.emails / BASELINE_EMAILS, 3), "rss_mb": rss_mb(),
                      "scenario": None if scenario is None else scenario.name, "volume": v.to_json()},
                     ensure_ascii=False))


if __name__ == "__main__":
    main()
