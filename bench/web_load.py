"""Benchmark: the dashboard under many sessions with think time, browsing and completing, driven by locust.

    python bench/web_load.py [--users 200] [--think 1-5] [--duration 60] [--workers N]
                             [--store seed|scale] [--n 1000000] [--keep] [--reuse DBNAME] [--no-all-plans]

A fresh PostgreSQL store (``--store seed``: the seed plans replayed to a day;
``--store scale``: ``bench/tick.py``'s generated store of ``--n``
obligations split into plans of 2,000, see ``bench/_web_store.py``) is served
by one ``duban serve --workers N`` (default: one per CPU) on a free loopback
port. locust, used as a library and headless, runs ``--users`` sessions,
half supervisors and half clerks, with ``--think`` seconds between pages:

* a supervisor (督查室) browses the current plan's overview ``/``, the "all
  plans" overview ``/?plan=all``, a plan, the units, a unit, an obligation;
* a clerk (联络员, one of 20 accounts bound to the units with most open
  duties) opens 我的待办 ``/home``, its unit, a plan, an obligation from its
  home, and now and then completes a duty (``POST /obligations/ID/complete``
  with the form's CSRF token, then the obligation page it is sent to), each
  duty once.

Every account logs in once before the run, as a browser does, and its
sessions share that login: 200 logins a minute from one address is what the
login rate limiter exists to stop (HTTP 429). Bounded: ``--duration`` seconds,
loopback only.

The baseline, in the same run, is one supervisor session without think time
(the latency of an idle server). ``seconds`` is the p95 latency under load,
``baseline_seconds`` the idle p95, ``ratio`` = baseline / loaded. ``errors``
counts every failed request (non-2xx/3xx or a transport error); the target is
0 errors and p95 ≤ 0.5 s. Also printed: the CPU seconds the server
processes, locust itself and the whole machine used during the run, and the
load average: on a 2-core machine the load generator competes with the server.

Needs the ``bench`` extra: ``pip install -e '.[bench]'`` (locust).
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()  # locust runs on gevent; patch before anything opens a socket

import argparse  # noqa: E402
import itertools  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import re  # noqa: E402
import resource  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import gevent  # noqa: E402
from locust import HttpUser, between, task  # noqa: E402
from locust.env import Environment  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _common import PG_ADMIN, database, drop, log, rss_mb  # noqa: E402

REPO = HERE.parent
AS_OF = {"seed": "2016-09-01", "scale": "2016-09-20"}  # scale: bench/tick.py's DAY
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
LINKS = {"plan": re.compile(r'href="(/plans/[^"#?]+)'), "unit": re.compile(r'href="(/units/\d+)'),
         "obligation": re.compile(r'href="(/obligations/\d+)')}


class Shared:
    """What the sessions share: the day, the logins made before the run, links seen so far, duties to complete."""

    as_of = AS_OF["seed"]
    supervisor: dict[str, str] = {}  # cookie
    clerks: list[dict[str, Any]] = []  # name, cookies, csrf, unit_id, open (ids, popped as completed)
    found: dict[str, list[str]] = {}
    next_clerk = itertools.count()
    all_plans = True  # --no-all-plans: the current plan's overview instead (to measure what the other costs)


def learn(html: str) -> None:
    for kind, pattern in LINKS.items():
        if len(Shared.found.get(kind, ())) < 200:
            hits = sorted(set(pattern.findall(html)) | set(Shared.found.get(kind, ())))
            if hits:
                Shared.found[kind] = hits[:400]


class Browser(HttpUser):
    """A logged-in session: pages are read as of the store's day, and their links remembered."""

    abstract = True
    wait_time = between(1, 5)

    def get(self, path: str, name: str, **params: str) -> str:
        query = "&".join(f"{k}={v}" for k, v in {**params, "as_of": Shared.as_of}.items())
        html = self.client.get(f"{path}?{query}", name=name).text
        learn(html)
        return html

    def visit(self, kind: str, fallback: str) -> None:
        self.get(random.choice(Shared.found.get(kind) or [fallback]), f"/{kind}s/[id]")


class Supervisor(Browser):
    """A 督查室 official reading the morning's pages."""

    def on_start(self) -> None:
        self.client.cookies.update(Shared.supervisor)
    @task(3)
    def overview(self) -> None:
        self.get("/", "/ (current plan)")

    @task(1)
    def all_plans(self) -> None:
        if Shared.all_plans:
            self.get("/", "/?plan=all", plan="all")
        else:
            self.overview()

    @task(2)
    def plan(self) -> None:
        self.visit("plan", "/")

    @task(1)
    def units(self) -> None:
        self.get("/units", "/units")

    @task(2)
    def unit(self) -> None:
        self.visit("unit", "/units")

    @task(2)
    def obligation(self) -> None:
        self.visit("obligation", "/")


class Clerk(Browser):
    """A unit's 联络员: 我的待办, its unit, a plan, a duty, and now and then a completion."""

    def on_start(self) -> None:
        self.account = Shared.clerks[next(Shared.next_clerk) % len(Shared.clerks)]
        self.client.cookies.update(self.account["cookies"])
        self.mine: list[str] = []

    @task(4)
    def home(self) -> None:
        html = self.get("/home", "/home")
        self.mine = sorted(set(LINKS["obligation"].findall(html)))[:50] or self.mine

    @task(2)
    def own_unit(self) -> None:
        self.get(f"/units/{self.account['unit_id']}", "/units/[id]")

    @task(2)
    def plan(self) -> None:
        self.visit("plan", "/")

    @task(4)
    def obligation(self) -> None:
        self.get(random.choice(self.mine or Shared.found.get("obligation") or ["/"]), "/obligations/[id]")

    @task(1)
    def complete(self) -> None:
        if not self.account["open"]:
            return
        oid = self.account["open"].pop()
        answer = self.client.post(f"/obligations/{oid}/complete?as_of={Shared.as_of}", name="POST complete",
                                  allow_redirects=False,
                                  data={"on": Shared.as_of, "evidence": f"http://gov.example/gk/{oid}",
                                        "csrf": self.account["csrf"]})
        if answer.status_code == 303:
            self.client.get(answer.headers["location"], name="/obligations/[id]")


# --------------------------------------------------------------------------- the run


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def login(host: str, name: str, password: str) -> tuple[dict[str, str], str]:
    """Log in as a browser does (form, CSRF token); the session cookie and the session's CSRF token."""
    import requests

    with requests.Session() as http:
        token = CSRF.search(http.get(f"{host}/login", timeout=60).text)
        answer = http.post(f"{host}/login", timeout=60, allow_redirects=False,
                           data={"name": name, "password": password, "csrf": token.group(1) if token else ""})
        if answer.status_code != 303:
            raise SystemExit(f"login of {name} failed: HTTP {answer.status_code}")
        page = http.get(f"{host}/units", timeout=60).text  # any page: its forms carry the session's token
        csrf = CSRF.search(page)
        return http.cookies.get_dict(), csrf.group(1) if csrf else ""


def wait_up(host: str, timeout: float = 180.0) -> None:
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{host}/healthz", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise SystemExit(f"the dashboard did not come up at {host}")


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds of these processes and their children (from /proc; 0 for one gone)."""
    tick = os.sysconf("SC_CLK_TCK")
    family = set(pids)
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) in family:
                family.add(int(entry.name))
        except (OSError, IndexError, ValueError):
            continue
    total = 0.0
    for pid in family:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def database_backends(name: str | None) -> list[int]:
    """The PostgreSQL server processes connected to the bench's database (the dashboard's pooled connections)."""
    from sqlalchemy import create_engine, text

    admin = create_engine(PG_ADMIN)
    try:
        with admin.connect() as conn:
            return [int(pid) for pid in conn.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = :d"),
                                                     {"d": name}).scalars()]
    finally:
        admin.dispose()


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    tick = os.sysconf("SC_CLK_TCK")
    return (sum(values) - idle) / tick, sum(values) / tick


def run_load(host: str, users: int, spawn_rate: float, duration: float, think: tuple[float, float],
             classes: list[type[HttpUser]], server_pid: int, database: str | None) -> dict[str, Any]:
    """One bounded locust run: latencies, failures, and the CPU each side used."""
    for cls in classes:
        cls.wait_time = between(*think)
        cls.host = host
    env = Environment(user_classes=classes, host=host)
    runner = env.create_local_runner()
    own0, server0, (busy0, all0) = resource.getrusage(resource.RUSAGE_SELF), cpu_seconds([server_pid]), machine_busy()
    load0, t0 = os.getloadavg(), time.perf_counter()
    runner.start(users, spawn_rate=spawn_rate)
    gevent.spawn_later(duration, runner.quit)
    pg0 = {pid: cpu_seconds([pid]) for pid in database_backends(database)}
    runner.greenlet.join()
    own1, server1, (busy1, all1) = resource.getrusage(resource.RUSAGE_SELF), cpu_seconds([server_pid]), machine_busy()
    # connections the pools opened during the run count in full; one closed before the end is missed
    postgres = sum(cpu_seconds([pid]) - pg0.get(pid, 0.0) for pid in database_backends(database))
    wall = time.perf_counter() - t0
    total = env.stats.total
    return {"requests": total.num_requests, "errors": total.num_failures,
            "p50": total.get_response_time_percentile(0.50) / 1000,
            "p95": total.get_response_time_percentile(0.95) / 1000,
            "p99": total.get_response_time_percentile(0.99) / 1000,
            "rps": total.num_requests / duration,
            "error_kinds": {f"{e.method} {e.name}: {str(e.error)[:100]}": e.occurrences
                            for e in env.stats.errors.values()},
            "by_page": {name: {"n": s.num_requests, "p50": round(s.get_response_time_percentile(0.5) / 1000, 3),
                               "p95": round(s.get_response_time_percentile(0.95) / 1000, 3)}
                        for (name, _method), s in sorted(env.stats.entries.items())},
            "cpu": {"server_seconds": round(server1 - server0, 1),
                    "postgres_seconds": round(postgres, 1),
                    "locust_seconds": round(own1.ru_utime + own1.ru_stime - own0.ru_utime - own0.ru_stime, 1),
                    "machine_busy_share": round((busy1 - busy0) / max(all1 - all0, 1e-9), 3),
                    "machine_cpus": os.cpu_count(), "wall_seconds": round(wall, 1)},
            "load_average": {"before": [round(x, 2) for x in load0], "after": [round(x, 2) for x in os.getloadavg()]}}


def prepare(url: str, store: str, n: int) -> dict[str, Any]:
    """Build the store and the accounts in a child process (blocking drivers, no gevent); ``reuse``: find them."""
    answer = subprocess.run([sys.executable, str(HERE / "_web_store.py"), url, store, str(n), Shared.as_of],
                            cwd=REPO, check=True, stdout=subprocess.PIPE, text=True)
    return json.loads(answer.stdout.strip().splitlines()[-1])


def serve(url: str, port: int, workers: int | None, tmp: Path) -> subprocess.Popen[bytes]:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("DUBAN_")}, "DUBAN_DATABASE_URL": url,
           "DUBAN_OUTBOX_DIR": str(tmp / "outbox"), "DUBAN_WEB_PORT": str(port), "DUBAN_WEB_HOST": "127.0.0.1",
           "DUBAN_WEB_SECRET": os.urandom(24).hex()}
    extra = ["--workers", str(workers)] if workers else []
    with (tmp / "server.log").open("wb") as server_log:  # the child keeps its own copy of the descriptor
        return subprocess.Popen([sys.executable, "-m", "duban", "serve", "--no-access-log", *extra], cwd=REPO,
                                env=env, stdout=subprocess.DEVNULL, stderr=server_log)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--users", type=int, default=200)
    ap.add_argument("--think", default="1-5", help="seconds between pages, MIN-MAX")
    ap.add_argument("--duration", type=float, default=60.0, help="seconds of load (after ramp-up starts)")
    ap.add_argument("--workers", type=int, help="duban serve --workers (default: its own, one per CPU)")
    ap.add_argument("--store", choices=["seed", "scale"], default="seed")
    ap.add_argument("--n", type=int, default=1_000_000, help="obligations in the scale store")
    ap.add_argument("--no-all-plans", action="store_true",
                    help="diagnosis: supervisors open the current plan's overview instead of all plans'")
    ap.add_argument("--keep", action="store_true", help="keep the database (its name is printed) for --reuse")
    ap.add_argument("--reuse", help="serve this database, made by an earlier --keep run, with its accounts")
    args = ap.parse_args()
    think = tuple(float(x) for x in args.think.split("-", 1))
    Shared.as_of = AS_OF[args.store]
    Shared.all_plans = not args.no_all_plans
    with tempfile.TemporaryDirectory(prefix="duban-web-load-") as tmp:
        if args.reuse:
            name: str | None = args.reuse
            url = PG_ADMIN.rsplit("/", 1)[0] + "/" + args.reuse
            made = prepare(url, "reuse", args.n)
        else:
            url, name = database("postgresql", Path(tmp))
            log(f"preparing the {args.store} store in {name}")
            made = prepare(url, args.store, args.n)
        port = free_port()
        server = serve(url, port, args.workers, Path(tmp))
        try:
            host = f"http://127.0.0.1:{port}"
            wait_up(host)
            Shared.supervisor = login(host, made["supervisor"]["name"], made["supervisor"]["password"])[0]
            Shared.clerks = []
            for clerk in made["clerks"]:
                cookies, csrf = login(host, clerk["name"], clerk["password"])
                Shared.clerks.append({**clerk, "cookies": cookies, "csrf": csrf, "open": list(clerk["open"])})
            log(f"dashboard at {host}; baseline: 1 supervisor session, no think time, 15 s")
            idle = run_load(host, 1, 1, 15.0, (0.0, 0.0), [Supervisor], server.pid, name)
            log(f"  idle p95 {idle['p95']:.3f} s over {idle['requests']} requests")
            log(f"load: {args.users} sessions, think {args.think} s, {args.duration:.0f} s; uptime: {os.getloadavg()}")
            spawn_rate = max(1.0, args.users / 10)
            loaded = run_load(host, args.users, spawn_rate, args.duration, think,  # type: ignore[arg-type]
                              [Supervisor, Clerk], server.pid, name)
            log(f"  p50 {loaded['p50']:.3f} s, p95 {loaded['p95']:.3f} s, {loaded['requests']} requests, "
                f"{loaded['errors']} errors; cpu {loaded['cpu']}; load {loaded['load_average']}")
        finally:
            server.terminate()
            server.wait(timeout=60)
            errors = [line for line in (Path(tmp) / "server.log").read_text(errors="replace").splitlines()
                      if "Error" in line or "error" in line]
            for line in errors[-10:]:  # what the server said about failed requests
                log(f"  server: {line[:300]}")
            if not args.keep and not args.reuse:
                drop(name)
    workers = args.workers or len(os.sched_getaffinity(0))
    print(json.dumps({
        "bench": f"web-load-{args.store}", "n": made["obligations"], "users": args.users,
        "seconds": round(loaded["p95"], 4), "baseline_seconds": round(idle["p95"], 4),
        "ratio": round(idle["p95"] / max(loaded["p95"], 1e-9), 3), "rss_mb": rss_mb(),
        "p50_seconds": round(loaded["p50"], 4), "p99_seconds": round(loaded["p99"], 4),
        "requests": loaded["requests"], "errors": loaded["errors"], "error_kinds": loaded["error_kinds"],
        "requests_per_second": round(loaded["rps"], 1), "completions": loaded["by_page"].get("POST complete", {}),
        "think_seconds": args.think, "duration_seconds": args.duration, "by_page": loaded["by_page"],
        "cpu": loaded["cpu"], "load_average": loaded["load_average"], "target_p95_seconds": 0.5,
        "store": f"{args.store} ({made['obligations']:,} obligations, as of {Shared.as_of})",
        "server": f"duban serve --workers {workers} (uvicorn), PostgreSQL", "database": name,
        "all_plans_page": Shared.all_plans,
    }, ensure_ascii=False))


if __name__ == "__main__":
    main()
