"""Serving the dashboard with uvicorn: in the foreground, or in a thread beside the scheduler.

``duban serve`` calls :func:`serve`. With ``workers`` above 1 it runs
uvicorn's own multi-process supervisor (:class:`uvicorn.supervisors.Multiprocess`):
the parent binds the listening socket once (backlog :data:`BACKLOG`), starts
that many worker processes sharing it, pings them, replaces one that dies or
hangs, and on SIGINT/SIGTERM stops them all gracefully. Sessions are signed
cookies and every cache is keyed by the audit chain's head, so any worker
serves any request. Each worker builds its app from an :class:`AppRecipe`
(the settings and the session secret, pickled to the spawned process).

``duban run`` (the scheduler) can call :func:`start_in_thread` to keep the
dashboard up beside its ticks and stop it on shutdown with the returned
handle. The listening socket is bound before the thread starts, so a port in
use fails loudly in the caller, and port 0 picks a free port (tests read it
back from the handle).
"""

from __future__ import annotations

import os
import socket
import threading
from dataclasses import dataclass, field

import uvicorn
from argon2 import PasswordHasher
from starlette.applications import Starlette
from uvicorn.supervisors import Multiprocess

from ..engine.runtime.settings import Settings
from ..errors import DubanError
from ..engine.runtime.build import Runtime
from .app import create_app
from .auth import load_secret

#: Pending connections the kernel queues per listening socket before refusing more (capped by
#: ``net.core.somaxconn``). 200 sessions opening connections at once fit many times over.
BACKLOG = 2048
#: Seconds an idle keep-alive connection stays open. Longer than a reader's pause between pages
#: (the load test's think time is 1–5 s): with uvicorn's default of 5 s the server closed
#: connections just as browsers reused them, and those requests failed with a reset.
KEEP_ALIVE = 75
#: Seconds the supervisor waits for a worker to answer its ping before replacing it as hung. A
#: spawned worker answers only once it has imported the dashboard, which takes several seconds
#: on a busy 2-core machine: uvicorn's default of 5 s killed workers that were still starting.
WORKER_CHECK = 30


class ServerError(DubanError, OSError):
    """The dashboard could not start (port in use, bad address...)."""


def _config(app: object, host: str, port: int, log_level: str, *, workers: int = 1,
            access_log: bool | None = None) -> uvicorn.Config:
    # proxy_headers off: the login rate limit keys on the client address, which a
    # forged X-Forwarded-For must not change (put the proxy's address in
    # --forwarded-allow-ips when deploying behind one).
    return uvicorn.Config(app, host=host, port=port, log_level=log_level, proxy_headers=False,
                          server_header=False, lifespan="off",
                          access_log=log_level == "info" if access_log is None else access_log,
                          backlog=BACKLOG, timeout_keep_alive=KEEP_ALIVE, workers=workers,
                          timeout_worker_healthcheck=WORKER_CHECK,
                          factory=isinstance(app, AppRecipe))


def default_workers() -> int:
    """One worker process per CPU this process may run on (at least 1)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class AppRecipe:
    """What a worker process builds its dashboard from: picklable, so uvicorn can hand it to a spawned worker.

    The session secret is resolved once in the parent, so a first start with
    several workers cannot race to generate ``var/web-secret``.
    """

    settings: Settings
    secret: str = field(repr=False)

    def __call__(self) -> Starlette:
        """The worker's app, with its database engine and calendar ready before the first request."""
        app = create_app(self.settings, secret=self.secret)
        runtime = app.state.web.runtime
        runtime.engine  # noqa: B018 — the engine, and the schema checked, before the first request
        runtime.calendar  # noqa: B018
        return app


def serve(settings: Settings, *, host: str | None = None, port: int | None = None,
          runtime: Runtime | None = None, log_level: str = "info", workers: int = 1,
          access_log: bool | None = None) -> None:
    """Run the dashboard in the foreground until interrupted (Ctrl-C, SIGTERM).

    ``workers`` > 1: that many processes under uvicorn's supervisor (see the
    module doc); each builds its own runtime from ``settings``, so
    ``runtime`` is used for one process only. ``access_log`` defaults to on
    at log level ``info``.
    """
    host = host or settings.web_host
    port = settings.web_port if port is None else port
    if workers <= 1:
        app = create_app(settings, runtime=runtime)
        uvicorn.Server(_config(app, host, port, log_level, access_log=access_log)).run()
        return
    if runtime is not None:
        runtime.engine  # noqa: B018 — migrate the schema once, here, not in every worker at once
        runtime.engine.dispose()  # no pooled connection is inherited by the workers
    recipe = AppRecipe(settings=settings, secret=load_secret(settings.base_dir))
    config = _config(recipe, host, port, log_level, workers=workers, access_log=access_log)
    try:
        sock = config.bind_socket()
    except SystemExit:  # uvicorn logs the cause and exits: say it as the dashboard's error
        raise ServerError(f"cannot listen on {host}:{port}") from None
    try:
        Multiprocess(config, sockets=[sock]).run()
    finally:
        sock.close()


class _Server(uvicorn.Server):
    """A uvicorn server that says when it is listening (no polling, no sleeps)."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            await super().startup(sockets=sockets)
        finally:
            self.ready.set()


@dataclass
class ServerHandle:
    """A dashboard running in a background thread; :meth:`stop` shuts it down gracefully."""

    host: str
    port: int
    _server: _Server = field(repr=False)
    _thread: threading.Thread = field(repr=False)
    _socket: socket.socket = field(repr=False)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def stop(self, timeout: float = 10.0) -> None:
        self._server.should_exit = True
        self._thread.join(timeout)
        self._socket.close()

    def __enter__(self) -> ServerHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ServerError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.listen(BACKLOG)
    sock.set_inheritable(True)
    return sock


def start_in_thread(settings: Settings, host: str | None = None, port: int | None = None, *,
                    runtime: Runtime | None = None, secret: str | None = None, hasher: PasswordHasher | None = None,
                    log_level: str = "warning", startup_timeout: float = 30.0) -> ServerHandle:
    """Start the dashboard in a daemon thread and return once it accepts connections.

    ``runtime`` lets ``duban run`` share its engine and calendar; ``secret`` and
    ``hasher`` are for tests. Raises :class:`ServerError` when it cannot start.
    """
    host = host or settings.web_host
    sock = bind(host, settings.web_port if port is None else port)
    bound = int(sock.getsockname()[1])
    app = create_app(settings, runtime=runtime, secret=secret, hasher=hasher)
    server = _Server(_config(app, host, bound, log_level))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="duban-web", daemon=True)
    thread.start()
    if not server.ready.wait(startup_timeout) or not server.started:
        server.should_exit = True
        thread.join(5)
        sock.close()
        raise ServerError(f"the dashboard did not start on {host}:{bound}")
    return ServerHandle(host=host, port=bound, _server=server, _thread=thread, _socket=sock)
