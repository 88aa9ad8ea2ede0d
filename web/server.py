"""Serving the dashboard with uvicorn: in the foreground, or in a thread beside the scheduler.

``duban serve`` calls :func:`serve`. ``duban run`` (the scheduler) can call
:func:`start_in_thread` to keep the dashboard up beside its ticks and stop it
on shutdown with the returned handle. The listening socket is bound before
the thread starts, so a port in use fails loudly in the caller, and port 0
picks a free port (tests read it back from the handle).
"""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field

import uvicorn
from argon2 import PasswordHasher

from ..engine.runtime.settings import Settings
from ..errors import DubanError
from ..engine.runtime.build import Runtime
from .app import create_app


class ServerError(DubanError, OSError):
    """The dashboard could not start (port in use, bad address...)."""


def _config(app: object, host: str, port: int, log_level: str) -> uvicorn.Config:
    # proxy_headers off: the login rate limit keys on the client address, which a
    # forged X-Forwarded-For must not change (put the proxy's address in
    # --forwarded-allow-ips when deploying behind one).
    return uvicorn.Config(app, host=host, port=port, log_level=log_level, proxy_headers=False,
                          server_header=False, lifespan="off", access_log=log_level == "info")


def serve(settings: Settings, *, host: str | None = None, port: int | None = None,
          runtime: Runtime | None = None, log_level: str = "info") -> None:
    """Run the dashboard in the foreground until interrupted (Ctrl-C)."""
    app = create_app(settings, runtime=runtime)
    uvicorn.Server(_config(app, host or settings.web_host, settings.web_port if port is None else port,
                           log_level)).run()


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
    sock.listen(128)
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
