"""The dashboard's ASGI app: one factory and the middleware every response goes through.

:func:`create_app` builds a Starlette app from the settings (the Flask
tutorial's habit: defaults, then configuration, then test overrides passed as
arguments). The request plumbing is :mod:`.context`, the pages :mod:`.views`;
this module imports both and neither imports it.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from collections.abc import Callable, Iterable
from pathlib import Path

import jinja2
import pendulum
from markupsafe import Markup, escape
from argon2 import PasswordHasher
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..engine.runtime.build import Runtime, build_runtime
from ..engine.runtime.settings import Settings
from ..zh import cn_date
from . import readmodel
from .auth import default_hasher, load_secret
from .context import CSP, MAX_BODY, SESSION_COOKIE, SESSION_MAX_AGE, WebContext
from .views import routes

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
log = logging.getLogger(__name__)
#: When this variable is ``1``, ``/healthz`` also names the process that answered (the tests of
#: ``duban serve --workers`` tell the workers apart by it); otherwise it says only ``ok``.
HEALTHZ_PID_ENV = "DUBAN_WEB_HEALTHZ_PID"


# --------------------------------------------------------------------------- middleware


class SecurityHeaders:
    """Headers every response carries: no framing, no sniffing, no caching of government data.

    An unexpected error becomes a plain 500 *with* these headers (Starlette's
    own error page is sent outside the user middleware, without them).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                extra = [(b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"),
                         (b"referrer-policy", b"same-origin"), (b"content-security-policy", CSP.encode())]
                if b"cache-control" not in names and not scope["path"].startswith("/static/"):
                    extra.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers + [h for h in extra if h[0] not in names]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            if started:
                raise
            await PlainTextResponse("服务器内部错误（已记录）。", status_code=500)(scope, receive, send_with_headers)


class _TooLarge(Exception):
    """Raised from the receive channel once a body passes the limit (caught by :class:`BodyLimit`)."""


class BodyLimit:
    """Refuse request bodies over ``max_body`` bytes with 413, *while streaming*, before any parsing.

    A declared ``Content-Length`` over the limit is refused before a byte is
    read; a body without one (chunked) or one that lies is counted as it
    arrives, and reading stops at the limit. So an anonymous 1.5 GB upload
    costs at most ``max_body`` bytes of memory and nothing on disk (issue 14,
    row 1). No dashboard form takes files: the endpoints parse forms with
    ``max_files=0`` too.
    """

    def __init__(self, app: ASGIApp, max_body: int = MAX_BODY) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = [v for k, v in scope.get("headers", []) if k.lower() == b"content-length"]
        if declared:
            try:
                length = int(declared[0])
            except ValueError:
                await PlainTextResponse("Content-Length 无效。", status_code=400)(scope, receive, send)
                return
            if length > self.max_body:
                await self._refuse(scope, receive, send)
                return
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body:
                    raise _TooLarge
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except _TooLarge:
            if started:
                raise
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = PlainTextResponse(f"请求内容过大（上限 {self.max_body // 1024} KiB）。", status_code=413,
                                     headers={"connection": "close"})
        await response(scope, receive, send)


# --------------------------------------------------------------------------- templates


def _local(value: dt.datetime | None, tz: str) -> str:
    if value is None:
        return ""
    return pendulum.instance(value).in_timezone(tz).format("YYYY-MM-DD HH:mm")


def chips(items: Iterable[readmodel.Chip], link: Callable[[str], str]) -> Markup:
    """A plan page's obligation chips (one per unit and deadline, thousands on a large plan), as HTML.

    The markup a Jinja loop wrote, built in Python: the loop was most of the
    plan page's cost under load.
    """
    out = []
    for c in items:
        label = readmodel.STATUS_ZH[c.status]
        title = label + (f"，到期 {c.next_due.isoformat()}" if c.next_due else "")
        out.append(f'<a class="chip {escape(readmodel.COLOUR[c.status])}" '
                   f'href="{escape(link(f"/obligations/{c.obligation_id}"))}" title="{escape(title)}">'
                   f'{escape(c.unit)}<small>{escape(label)}</small></a>')
    return Markup("".join(out))


def template_env(settings: Settings) -> jinja2.Environment:
    """HTML templates: autoescaped, strict (a missing variable is an error, not a blank)."""
    # auto_reload off: the templates ship with the package, so a page need not stat its files on every render.
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True, auto_reload=False,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.globals.update(status_zh=readmodel.STATUS_ZH, colour=readmodel.COLOUR, colour_zh=readmodel.COLOUR_ZH,
                       order=readmodel.ORDER, kind_zh=readmodel.KIND_ZH, occ_state_zh=readmodel.OCC_STATE_ZH,
                       chips=chips)
    env.filters["local"] = lambda v: _local(v, settings.timezone)
    env.filters["pretty"] = lambda v: json.dumps(v, ensure_ascii=False, indent=1, sort_keys=True, default=str)
    env.filters["compact"] = lambda v: json.dumps(v, ensure_ascii=False, sort_keys=True, default=str)
    env.filters["cn_date"] = cn_date
    return env


# --------------------------------------------------------------------------- the factory


async def healthz(request: Request) -> Response:
    """``GET /healthz``: ``ok`` without a login or a database query (for a load balancer's check)."""
    pid = f" pid={os.getpid()}" if request.app.state.healthz_pid else ""
    return PlainTextResponse("ok" + pid)


def create_app(settings: Settings, *, runtime: Runtime | None = None, secret: str | None = None,
               hasher: PasswordHasher | None = None, today: Callable[[], dt.date] | None = None,
               https: bool | None = None) -> Starlette:
    """The dashboard for ``settings`` (tests pass a runtime on their store, a secret and a fast hasher).

    The session secret comes from ``$DUBAN_WEB_SECRET`` or ``var/web-secret``
    (generated, 0600) unless given. Cookies are marked Secure when the
    configured base URL is https (``web.base_url``) or ``https`` says so.
    """
    runtime = runtime or build_runtime(settings)
    secure = settings.web_base_url.startswith("https://") if https is None else https

    def now() -> dt.datetime:
        return dt.datetime.now(dt.timezone.utc)

    web = WebContext(settings=settings, runtime=runtime, hasher=hasher or default_hasher(),
                     templates=template_env(settings), https=secure,
                     today=today or runtime.today, now=now)
    all_routes: list[BaseRoute] = [*routes(), Route("/healthz", healthz),
                                   Mount("/static", app=StaticFiles(directory=str(STATIC)), name="static")]
    app = Starlette(
        routes=all_routes,
        middleware=[
            Middleware(SecurityHeaders),
            Middleware(BodyLimit),
            Middleware(SessionMiddleware, secret_key=secret or load_secret(settings.base_dir),
                       session_cookie=SESSION_COOKIE, max_age=SESSION_MAX_AGE, same_site="lax", https_only=secure),
        ],
    )
    app.state.web = web
    app.state.healthz_pid = os.environ.get(HEALTHZ_PID_ENV) == "1"
    return app
