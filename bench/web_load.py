"""Benchmark: the dashboard under many sessions with think time, driven by locust.

    python bench/web_load.py [--users 200] [--think 1-5] [--duration 60] [--backend postgresql]

A fresh store (the seed plans, imported and replayed to a day so pages have
content) is served by one ``duban serve`` process on a free loopback port.
locust (used as a library, headless) runs ``--users`` sessions, each logging
in (one login, made before the run as a browser does it, shared: 200 logins a
minute from one address would rightly hit the login rate limiter) and then browsing: the "all
plans" overview, a plan, the units index, a unit and an obligation, with
``--think`` seconds between pages. Bounded in count and in time: the run
stops after ``--duration`` seconds, loopback only.

The baseline, in the same run, is one session browsing the same pages
without think time (the latency of an idle server). ``seconds`` is the p95
latency under load, ``baseline_seconds`` the idle p95; ``ratio`` =
baseline / loaded (below 1: load costs latency). ``errors`` counts every
failed request (non-2xx/3xx or a transport error); the target is 0 errors and
p95 ≤ 0.5 s.

Needs the ``bench`` extra: ``pip install -e '.[bench]'`` (locust).
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()  # locust runs on gevent; patch before anything opens a socket

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import re  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import gevent  # noqa: E402
from locust import HttpUser, between, task  # noqa: E402
from locust.env import Environment  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import database, drop, log, rss_mb  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
AS_OF = "2016-09-01"
USER, PASSWORD = "bench-supervisor", "bench-password-2016-load"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
LINKS = {"plan": re.compile(r'href="(/plans/[^"#?]+)'), "unit": re.compile(r'href="(/units/\d+)'),
         "obligation": re.compile(r'href="(/obligations/\d+)')}


class Browsing(HttpUser):
    """One official, logged in, reading pages the way a supervisor does in the morning."""

    wait_time = between(1, 5)
    found: dict[str, list[str]] = {}
    #: The session cookie of one login made before the run (see :func:`login_once`).
    cookies: dict[str, str] = {}

    def on_start(self) -> None:
        # 200 logins a minute from one address is what the login rate limiter exists to stop
        # (HTTP 429): the sessions share one login instead, and the bench measures browsing.
        self.client.cookies.update(Browsing.cookies)

    def _visit(self, kind: str, fallback: str) -> None:
        links = Browsing.found.get(kind) or [fallback]
        page = self.client.get(f"{random.choice(links)}?as_of={AS_OF}", name=f"/{kind}s/[id]")
        self._learn(page.text)

    def _learn(self, html: str) -> None:
        for kind, pattern in LINKS.items():
            if kind not in Browsing.found:
                hits = sorted(set(pattern.findall(html)))
                if hits:
                    Browsing.found[kind] = hits[:200]

    @task(4)
    def overview(self) -> None:
        self._learn(self.client.get(f"/?as_of={AS_OF}", name="/ (all plans)").text)

    @task(2)
    def plan(self) -> None:
        self._visit("plan", "/")

    @task(1)
    def units(self) -> None:
        self._learn(self.client.get(f"/units?as_of={AS_OF}", name="/units").text)

    @task(2)
    def unit(self) -> None:
        self._visit("unit", "/units")

    @task(2)
    def obligation(self) -> None:
        self._visit("obligation", "/")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare(env: dict[str, str]) -> None:
    """The seed plans, a replay to AS_OF (so pages show reminders), one supervisor account."""
    for args in (["plan", "import"], ["simulate", "--from", "2016-06-21", "--to", AS_OF, "--quiet"]):
        subprocess.run([sys.executable, "-m", "duban", *args], cwd=REPO, env=env, check=True,
                       stdout=subprocess.DEVNULL)
    subprocess.run([sys.executable, "-m", "duban", "user", "add", USER, "--role", "supervisor", "--password-stdin"],
                   cwd=REPO, env=env, check=True, input=PASSWORD + "\n", text=True, stdout=subprocess.DEVNULL)


def login_once(host: str) -> dict[str, str]:
    """Log in as a browser does (form, CSRF token) and return the session cookie."""
    import requests

    with requests.Session() as http:
        token = CSRF.search(http.get(f"{host}/login", timeout=30).text)
        answer = http.post(f"{host}/login", timeout=30, allow_redirects=False,
                           data={"name": USER, "password": PASSWORD, "csrf": token.group(1) if token else ""})
        if answer.status_code != 303:
            raise SystemExit(f"login failed: HTTP {answer.status_code}")
        return http.cookies.get_dict()


def wait_up(host: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    port = int(host.rsplit(":", 1)[1])
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"the dashboard did not come up at {host}")


def run_load(host: str, users: int, spawn_rate: float, duration: float, think: tuple[float, float]) -> dict[str, float]:
    """One bounded locust run; the aggregate's p50/p95, request and failure counts."""
    Browsing.wait_time = between(*think)
    Browsing.host = host
    env = Environment(user_classes=[Browsing], host=host)
    runner = env.create_local_runner()
    runner.start(users, spawn_rate=spawn_rate)
    gevent.spawn_later(duration, runner.quit)
    runner.greenlet.join()
    total = env.stats.total
    pages: dict[int, int] = {}  # response time (ms, as locust rounds it) → count, logins left out
    for (name, _method), entry in env.stats.entries.items():
        if not name.startswith("/login"):
            for ms, count in entry.response_times.items():
                pages[ms] = pages.get(ms, 0) + count
    return {"requests": total.num_requests, "errors": total.num_failures, "pages_p95": _percentile(pages, 0.95),
            "p50": total.get_response_time_percentile(0.50) / 1000,
            "p95": total.get_response_time_percentile(0.95) / 1000,
            "rps": total.num_requests / duration,
            "error_kinds": {f"{e.method} {e.name}: {str(e.error)[:100]}": e.occurrences
                            for e in env.stats.errors.values()},
            "by_page_p95": {name: round(s.get_response_time_percentile(0.95) / 1000, 3)
                            for (name, _method), s in env.stats.entries.items()}}


def _percentile(histogram: dict[int, int], q: float) -> float:
    """The ``q`` quantile, in seconds, of a {milliseconds: count} histogram."""
    total = sum(histogram.values())
    seen = 0
    for ms in sorted(histogram):
        seen += histogram[ms]
        if seen >= q * total:
            return ms / 1000
    return 0.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--users", type=int, default=200)
    ap.add_argument("--think", default="1-5", help="seconds between pages, MIN-MAX")
    ap.add_argument("--duration", type=float, default=60.0, help="seconds of load (after ramp-up starts)")
    ap.add_argument("--backend", choices=["sqlite", "postgresql"], default="postgresql")
    args = ap.parse_args()
    think = tuple(float(x) for x in args.think.split("-", 1))
    with tempfile.TemporaryDirectory(prefix="duban-web-load-") as tmp:
        url, name = database(args.backend, Path(tmp))
        port = free_port()
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("DUBAN_")}, "DUBAN_DATABASE_URL": url,
               "DUBAN_OUTBOX_DIR": str(Path(tmp) / "outbox"), "DUBAN_WEB_PORT": str(port),
               "DUBAN_WEB_HOST": "127.0.0.1"}
        server = None
        try:
            prepare(env)
            server = subprocess.Popen([sys.executable, "-m", "duban", "serve"], cwd=REPO, env=env,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            host = f"http://127.0.0.1:{port}"
            wait_up(host)
            Browsing.cookies = login_once(host)
            log(f"dashboard at {host}; baseline: 1 session, no think time, 15 s")
            idle = run_load(host, 1, 1, 15.0, (0.0, 0.0))
            log(f"  idle p95 {idle['p95']:.3f} s over {idle['requests']} requests")
            log(f"load: {args.users} sessions, think {args.think} s, {args.duration:.0f} s")
            spawn_rate = max(1.0, args.users / 10)
            loaded = run_load(host, args.users, spawn_rate, args.duration, think)  # type: ignore[arg-type]
            log(f"  p50 {loaded['p50']:.3f} s, p95 {loaded['p95']:.3f} s, {loaded['requests']} requests, "
                f"{loaded['errors']} errors")
        finally:
            if server is not None:
                server.terminate()
                server.wait(timeout=30)
            drop(name)
    print(json.dumps({
        "bench": f"web-load-{args.backend}", "n": args.users, "seconds": round(loaded["p95"], 4),
        "baseline_seconds": round(idle["p95"], 4), "ratio": round(idle["p95"] / max(loaded["p95"], 1e-9), 3),
        "rss_mb": rss_mb(), "p50_seconds": round(loaded["p50"], 4), "requests": loaded["requests"],
        "pages_p95_seconds": loaded["pages_p95"], "idle_pages_p95_seconds": idle["pages_p95"],
        "errors": loaded["errors"], "error_kinds": loaded["error_kinds"],
        "requests_per_second": round(loaded["rps"], 1), "think_seconds": args.think,
        "duration_seconds": args.duration, "by_page_p95": loaded["by_page_p95"], "target_p95_seconds": 0.5,
        "store": "seed plans replayed to " + AS_OF, "server": "one `duban serve` (uvicorn) process",
    }, ensure_ascii=False))


if __name__ == "__main__":
    main()
