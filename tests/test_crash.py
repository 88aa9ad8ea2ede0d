"""No reminder lost, none doubled: SIGKILL the main job at random points and re-run it.

A clean replay of a few weeks of the seed year is the reference. The same
replay is then started again and again in a fresh store, each time killed
with SIGKILL after a random delay (while ticks are deciding, writing the
outbox or delivering), until one run finishes. The final store must hold
exactly the reference's decisions, and every outbox row must have been
delivered exactly once, as one file.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from duban.store.models import Notification, Obligation, Occurrence, StageRecord
from sqlalchemy import create_engine, select

REPO = Path(__file__).resolve().parent.parent
START, END = "2016-07-18", "2016-08-09"


def duban(env: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "duban", *args], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def run_to_end(env: dict[str, str], *args: str) -> None:
    proc = duban(env, *args)
    _out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err.decode()


def state(url: str, outbox: Path) -> tuple[set[tuple[object, ...]], set[str], list[str], set[str]]:
    engine = create_engine(url)
    with engine.connect() as conn:
        records = {tuple(r) for r in conn.execute(
            select(Obligation.okey, Occurrence.key, StageRecord.stage, StageRecord.repeat, StageRecord.action,
                   StageRecord.tick_date)
            .join(Occurrence, Occurrence.id == StageRecord.occurrence_id)
            .join(Obligation, Obligation.id == Occurrence.obligation_id))}
        rows = conn.execute(select(Notification.key, Notification.status)).all()
    engine.dispose()
    from duban.notifiers.outbox import outbox_file_name

    files = {p.name for p in outbox.glob("*.eml")}
    expected = {outbox_file_name(k) for k, _ in rows}
    return records, {k for k, _ in rows}, sorted({s for _, s in rows}), files ^ expected


@pytest.mark.slow
def test_sigkill_at_random_points_loses_and_doubles_nothing(store, tmp_path):
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("DUBAN_")}
    # The reference: one clean run in its own SQLite store.
    ref_env = {**base_env, "DUBAN_DATABASE_URL": f"sqlite:///{tmp_path / 'ref.db'}",
               "DUBAN_OUTBOX_DIR": str(tmp_path / "ref-outbox")}
    run_to_end(ref_env, "plan", "import")
    started = time.monotonic()
    run_to_end(ref_env, "simulate", "--from", START, "--to", END, "--quiet")
    duration = time.monotonic() - started
    ref_records, ref_keys, ref_status, ref_unmatched = state(ref_env["DUBAN_DATABASE_URL"], tmp_path / "ref-outbox")
    assert ref_records and ref_keys and ref_status == ["sent"] and not ref_unmatched

    env = {**base_env, "DUBAN_DATABASE_URL": store.url, "DUBAN_OUTBOX_DIR": str(tmp_path / "outbox")}
    run_to_end(env, "plan", "import")
    rng = random.Random(20160623)
    kills = 0
    # Kill four runs at random points of a run's length (start-up, ticks, delivery), then let one finish.
    for _attempt in range(4):
        proc = duban(env, "simulate", "--from", START, "--to", END, "--quiet")
        try:
            proc.wait(timeout=rng.uniform(0.2, 0.6) * duration)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            kills += 1
    assert kills >= 2, "the test must actually interrupt the job"
    run_to_end(env, "simulate", "--from", START, "--to", END, "--quiet")
    records, keys, statuses, unmatched = state(store.url, tmp_path / "outbox")
    assert records == ref_records  # every decision exactly once, on the same day as the clean run
    assert keys == ref_keys  # the same digests, none doubled
    assert statuses == ["sent"]  # everything written was delivered
    assert not unmatched  # one file per outbox row, no stray files
