"""Benchmark: render digests (Jinja2 + MIME) and send them over SMTP, one connection vs one per message.

A local aiosmtpd sink runs in a child process (as a mail server would, on the
other core). Each run renders N digests and sends them:

- with reuse: one :class:`SmtpNotifier` batch, one connection for all N
  (what the sender loop does);
- baseline: one batch per message, so one connection (banner, EHLO, QUIT)
  per message, measured in the same run.

Figures are medians over ``--runs`` runs. ``seconds`` / ``baseline_seconds``
are end to end (render + send) for N messages; ``ratio`` is
baseline / reuse (how many times faster reuse is). Target: at least 500
messages/s end to end with reuse.

    .venv/bin/python bench/smtp.py [--n 1000] [--runs 5]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import resource
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone

from duban.notifiers.abc import OutgoingMessage
from duban.notifiers.model import Digest
from duban.notifiers.render import SAMPLE_SENDER, render_digest, sample_digest
from duban.notifiers.smtp import SmtpNotifier, wire_bytes

TARGET_PER_S = 500.0
NOW = datetime(2016, 8, 1, 1, 0, tzinfo=timezone.utc)


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def digests(n: int) -> list[Digest]:
    """N distinct clerk digests of 5 items each, from the sample data."""
    base = sample_digest()
    items = base.items + tuple(
        dataclasses.replace(item, obligation_id=item.obligation_id + 100, task_no=item.task_no + 1)
        for item in base.items[:2]
    )
    return [
        dataclasses.replace(
            base,
            key=f"bench:2016-08-01:clerk:{index}",
            recipient_name=f"联络员{index}",
            recipient_email=f"clerk{index}@unit{index % 40}.jieyang.example",
            items=items,
        )
        for index in range(n)
    ]


def render_all(batch: list[Digest]) -> list[OutgoingMessage]:
    return [render_digest(d, sender=SAMPLE_SENDER, message_id_domain="duban.example", now=NOW) for d in batch]


@contextmanager
def sink() -> Iterator[int]:
    """An aiosmtpd Sink server in a child process; yields its port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "aiosmtpd", "-n", "-c", "aiosmtpd.handlers.Sink", "-l", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
                    conn.recv(100)
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("the aiosmtpd sink did not start") from None
                time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


def check(results: list, n: int) -> None:  # type: ignore[type-arg]
    sent = sum(1 for r in results if r.status == "sent")
    if sent != n:
        raise RuntimeError(f"only {sent} of {n} messages were sent: {results[:3]}")


def run_once(port: int, batch: list[Digest]) -> dict[str, float]:
    n = len(batch)
    # Render only (Jinja2 + MIME bytes), for render_per_s.
    start = time.perf_counter()
    for message in render_all(batch):
        wire_bytes(message)
    render_s = time.perf_counter() - start

    # With reuse: render, then one batch over one connection.
    start = time.perf_counter()
    messages = render_all(batch)
    rendered = time.perf_counter()
    notifier = SmtpNotifier("127.0.0.1", port, mode="plain", timeout=30.0)
    check(notifier.send_batch(messages), n)
    reuse_end = time.perf_counter()
    reuse_s, reuse_send_s = reuse_end - start, reuse_end - rendered

    # Baseline: one connection per message.
    start = time.perf_counter()
    messages = render_all(batch)
    rendered = time.perf_counter()
    results = []
    for message in messages:
        results.extend(notifier.send_batch([message]))
    check(results, n)
    base_end = time.perf_counter()
    return {
        "render_s": render_s,
        "reuse_s": reuse_s,
        "reuse_send_s": reuse_send_s,
        "baseline_s": base_end - start,
        "baseline_send_s": base_end - rendered,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="digests per run")
    parser.add_argument("--runs", type=int, default=5, help="runs (medians are reported)")
    args = parser.parse_args()
    batch = digests(args.n)
    runs: list[dict[str, float]] = []
    with sink() as port:
        run_once(port, batch[: min(50, args.n)])  # warm up: template compile, imports, server
        for index in range(args.runs):
            figures = run_once(port, batch)
            runs.append(figures)
            log(
                f"run {index + 1}/{args.runs}: render {args.n / figures['render_s']:.0f}/s, "
                f"reuse {args.n / figures['reuse_s']:.0f}/s end to end "
                f"({args.n / figures['reuse_send_s']:.0f}/s sending), "
                f"per connection {args.n / figures['baseline_s']:.0f}/s end to end "
                f"({args.n / figures['baseline_send_s']:.0f}/s sending)"
            )

    def median(name: str) -> float:
        return statistics.median(run[name] for run in runs)

    seconds, baseline = median("reuse_s"), median("baseline_s")
    end_to_end = args.n / seconds
    print(json.dumps({
        "bench": "smtp",
        "n": args.n,
        "seconds": round(seconds, 4),
        "baseline_seconds": round(baseline, 4),
        "ratio": round(baseline / seconds, 2),
        "rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "runs": args.runs,
        "render_per_s": round(args.n / median("render_s"), 1),
        "smtp_reuse_per_s": round(args.n / median("reuse_send_s"), 1),
        "smtp_per_connection_per_s": round(args.n / median("baseline_send_s"), 1),
        "end_to_end_per_s": round(end_to_end, 1),
        "target_per_s": TARGET_PER_S,
        "meets_target": end_to_end >= TARGET_PER_S,
    }))


if __name__ == "__main__":
    main()
