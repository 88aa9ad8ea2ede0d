"""The request plumbing every page shares: the per-app context, the per-request page, the endpoint wrapper.

Both :mod:`.app` (the factory) and :mod:`.views` (the handlers) import this
module, and it imports neither, so there is no import cycle between them.
Every page goes through :func:`endpoint`, which in one place:

1. opens a database session (the handler runs in a worker thread: SQL is
   blocking, the event loop is not);
2. resolves the logged-in user from the signed session cookie and the
   account's ``session_epoch`` (logout, a password change and ``user
   disable`` bump it, so a copied cookie dies too) and the session's login
   time (an absolute lifetime: a busy session still ends);
   no user → the login page (GET) or 403 (POST) — deny by default;
3. checks the CSRF token on every POST (session-bound, constant-time);
4. checks the route's permission; object-level checks happen in the handler
   through :meth:`Page.require`, which raises :class:`Denied`;
5. commits a POST's work (the service's change and its audit row) or rolls
   everything back on error; every denial is then written to the audit log
   as ``web.denied`` in its own transaction.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from urllib.parse import urlencode

import jinja2
from argon2 import PasswordHasher
from markupsafe import Markup
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from ..engine.runtime.build import Runtime
from ..engine.runtime.settings import Settings
from ..engine.services.permissions import RULES, PermissionDenied
from ..errors import CalendarYearMissing, DubanError
from ..store import audit
from ..store.models import Obligation
from .freshness import Scope, untouched
from .auth import SESSION_LIFETIME, Principal, csrf_ok, csrf_token, decide, load_principal

SESSION_COOKIE = "duban_session"
SESSION_MAX_AGE = int(SESSION_LIFETIME.total_seconds())  # the signer refuses older cookies too
MAX_BODY = 256 * 1024  # bytes in one request body: every form fits (fields × MAX_FIELD, percent-encoded)
MAX_FORM_FIELDS = 32  # fields in one form: the largest dashboard form has 8
MAX_FIELD = 4000  # characters in one form field (evidence, reasons): enough for a URL list, not a dump
MAX_ID = 2**31 - 1  # the largest id either database stores (INTEGER); a larger one names nothing
Handler = Callable[["Page"], Response]
#: The page frame around a content block rendered by :meth:`Page.render_cached`.
CACHED_CONTENT = "_cached_content.html"

#: The dashboard's Content-Security-Policy; a report page adds the hashes of its own inline style.
CSP = ("default-src 'self'; style-src 'self'; img-src 'self' data:; script-src 'none'; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")


class Denied(DubanError, PermissionError):
    """The dashboard refused an action (audited as ``web.denied``)."""

    def __init__(self, action: str, reason: str, *, object_type: str = "route", object_id: str = "") -> None:
        self.action = action
        self.reason = reason
        self.object_type = object_type
        self.object_id = object_id
        super().__init__(f"denied {action!r}: {reason}")


class BadRequest(DubanError, ValueError):
    """A form or query value the dashboard cannot use (shown to the user, status 400)."""


class PageNotFound(DubanError, LookupError):
    """No such plan, unit, obligation... (status 404)."""


# --------------------------------------------------------------------------- caches


class _Flight:
    """One computation in progress: the threads that asked for the same value wait on ``done``."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.ok = False
        self.value: Any = None


class AggregateCache:
    """A small LRU of computed aggregates, keyed by the audit chain's head.

    Every change to plans, obligations and due instances goes through a
    service that appends to the audit chain in the same transaction, so the
    head's ``(seq, hash)`` changes exactly when a status could have changed; a
    key that includes it is never stale. Other processes (the CLI, the
    scheduler, the other dashboard workers) move the head too, since they
    share the database. A page scoped to one plan or one unit is kept across
    head moves that provably did not touch it (:meth:`get_scoped`,
    :mod:`.freshness`).

    Requests that ask for a value while it is being computed wait for it
    instead of running the same aggregate side by side (under load many ask
    at once, just after a completion moved the head); a waiter whose
    computation failed computes for itself.
    """

    def __init__(self, size: int = 64, scoped_size: int = 2048) -> None:
        self._size = size
        self._scoped_size = scoped_size
        self._data: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self._scoped: OrderedDict[tuple[Any, ...], tuple[Any, tuple[int, str]]] = OrderedDict()
        self._lock = threading.Lock()
        self._computing: dict[tuple[Any, ...], _Flight] = {}

    def _remember(self, table: OrderedDict[tuple[Any, ...], Any], key: tuple[Any, ...], value: Any) -> None:
        limit = self._scoped_size if table is self._scoped else self._size
        with self._lock:
            table[key] = value
            table.move_to_end(key)
            while len(table) > limit:
                table.popitem(last=False)

    def _once(self, key: tuple[Any, ...], compute: Callable[[], Any]) -> Any:
        """``compute()``, run by one thread at a time per ``key``: the others wait and share its result."""
        with self._lock:
            flight = self._computing.get(key)
            owner = flight is None
            if flight is None:
                flight = self._computing[key] = _Flight()
        if not owner:
            flight.done.wait()
            return flight.value if flight.ok else compute()
        try:
            flight.value = compute()
            flight.ok = True
            return flight.value
        finally:
            with self._lock:
                del self._computing[key]
            flight.done.set()

    def get_or_compute(self, key: tuple[Any, ...], compute: Callable[[], Any]) -> Any:
        """The value for ``key`` (which includes the head), computed once."""
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                return self._data[key]
        value = self._once(key, compute)
        self._remember(self._data, key, value)
        return value

    def get_scoped(self, key: tuple[Any, ...], head: tuple[int, str],
                   untouched: Callable[[tuple[int, str]], bool], compute: Callable[[], Any]) -> Any:
        """The value for ``key`` as of ``head``: the one computed at an earlier head if ``untouched(that head)``."""
        with self._lock:
            entry = self._scoped.get(key)
        if entry is not None:
            value, since = entry
            if since[0] >= head[0] or untouched(since):  # computed at this head or later, or nothing since matters
                if since[0] < head[0]:
                    self._remember(self._scoped, key, (value, head))
                return value
        value = self._once((*key, head), compute)
        self._remember(self._scoped, key, (value, head))
        return value

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self._scoped.clear()


class Fragments:
    """Rendered HTML blocks of cached views (:meth:`Page.render_cached`): a small thread-safe LRU."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._data: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...]) -> Any:
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def put(self, key: tuple[Any, ...], value: Any) -> None:
        with self._lock:
            self._data[key] = value
            while len(self._data) > self._size:
                self._data.popitem(last=False)


@dataclass
class WebContext:
    """What every request needs, built once per app (no process-global state)."""

    settings: Settings
    runtime: Runtime
    hasher: PasswordHasher
    templates: jinja2.Environment
    https: bool
    today: Callable[[], dt.date]
    now: Callable[[], dt.datetime]
    cache: AggregateCache = field(default_factory=AggregateCache)
    fragments: Fragments = field(default_factory=lambda: Fragments(256))

    def head_key(self, session: Session) -> tuple[int, str]:
        head = audit.head(session)
        return (head.seq, head.hash) if head else (0, audit.GENESIS)


# --------------------------------------------------------------------------- the per-request page


@dataclass
class Page:
    """One request as a handler sees it: the user, the database session, the as-of day, the form."""

    request: Request
    web: WebContext
    db: Session
    user: Principal
    as_of: dt.date
    as_of_param: str | None
    form: FormData | None

    def param(self, name: str, default: str | None = None) -> str | None:
        value = self.request.query_params.get(name)
        return value if value not in (None, "") else default

    def field(self, name: str, *, required: bool = False) -> str | None:
        value = self.form.get(name) if self.form is not None else None
        if isinstance(value, str):
            value = value.strip()
        if not value:
            if required:
                raise BadRequest(f"表单缺少“{FIELD_ZH.get(name, name)}”")
            return None
        if not isinstance(value, str):
            raise BadRequest(f"表单字段“{FIELD_ZH.get(name, name)}”不是文本")
        if len(value) > MAX_FIELD:
            raise BadRequest(f"表单字段“{FIELD_ZH.get(name, name)}”过长（{len(value)} 字，最多 {MAX_FIELD} 字）")
        return value

    def date_field(self, name: str, *, required: bool = True, not_after_today: bool = False) -> dt.date | None:
        text = self.field(name, required=required)
        if text is None:
            return None
        try:
            day = dt.date.fromisoformat(text)
        except ValueError:
            raise BadRequest(f"“{FIELD_ZH.get(name, name)}”{text!r}不是有效日期（YYYY-MM-DD）") from None
        if not_after_today and day > self.web.today():
            raise BadRequest(f"“{FIELD_ZH.get(name, name)}”{day.isoformat()}晚于今天（{self.web.today().isoformat()}）")
        return day

    def required_date(self, name: str, *, not_after_today: bool = False) -> dt.date:
        day = self.date_field(name, required=True, not_after_today=not_after_today)
        if day is None:  # date_field raised already; this keeps the type exact
            raise BadRequest(f"表单缺少“{FIELD_ZH.get(name, name)}”")
        return day

    def require(self, action: str, *, obligation: Obligation | None = None, requested_by: str | None = None,
                plan_id: str | None = None, object_type: str = "route", object_id: str | int = "") -> None:
        """Raise :class:`Denied` unless the user may do ``action`` (on ``obligation``, in ``plan_id``)."""
        verdict = decide(self.db, self.user, action, obligation=obligation, requested_by=requested_by,
                         plan_id=plan_id)
        if not verdict.allowed:
            raise Denied(action, verdict.reason, object_type=object_type, object_id=str(object_id))

    def can(self, action: str, **kwargs: Any) -> bool:
        return decide(self.db, self.user, action, **kwargs).allowed

    def link(self, path: str, **params: Any) -> str:
        """``path`` with query ``params`` and the page's explicit ``as_of`` (so demos stay in their year)."""
        if not params and "#" not in path and "?" not in path:  # the common case: a plan page links every chip
            return path + self._as_of_query
        path, hash_, fragment = path.partition("#")
        query = {k: v for k, v in params.items() if v not in (None, "")}
        if self.as_of_param and "as_of" not in query:
            query["as_of"] = self.as_of_param
        return path + ("?" + urlencode(query) if query else "") + hash_ + fragment

    @cached_property
    def _as_of_query(self) -> str:
        return "?" + urlencode({"as_of": self.as_of_param}) if self.as_of_param else ""

    def cached(self, name: str, *key: Any, compute: Callable[[], Any]) -> Any:
        """``compute()`` for this as-of day, remembered in this process until the audit chain's head moves.

        For read models that depend only on the store and the day (never on
        the user): see :class:`AggregateCache` for why the head is the key.
        """
        return self.web.cache.get_or_compute((name, *key, self.as_of, self.web.head_key(self.db)), compute)

    def cached_for(self, scope: Scope, name: str, *key: Any, compute: Callable[[], Any]) -> Any:
        """Like :meth:`cached` for a page about one plan or one unit: kept while the head moves elsewhere."""
        head = self.web.head_key(self.db)
        return self.web.cache.get_scoped((name, scope, *key, self.as_of), head,
                                         lambda since: untouched(self.db, scope, since, head), compute)

    def render_cached(self, template: str, model: Any, /, *key: Any, **context: Any) -> HTMLResponse:
        """:meth:`render` for a page whose ``model`` came from the caches: its content block is rendered once.

        The block's HTML is remembered with the very ``model`` object (a new
        one, computed after a change, renders anew) and ``key``, which must
        hold every value of the user's the block uses (what they may do, their
        units); the rest of the page (header, CSRF token, flash) is rendered
        for each request. Large pages (a thousand units' rows) cost most in
        the template, not in SQL.
        """
        fkey = (template, id(model), self.as_of_param, *key)
        hit = self.web.fragments.get(fkey)
        if hit is None or hit[0] is not model:
            source = self.web.templates.get_template(template)
            ctx = source.new_context({"request": self.request, "user": self.user, "page": self, "csrf": "",
                                      "flash": None, "link": self.link, "can": self.can, **context})
            top = source.root_render_func(ctx)
            next(top, None)  # runs the template's top level (its macro imports) up to its first output
            top.close()
            hit = (model, Markup("".join(source.blocks["title"](ctx))), Markup("".join(source.blocks["content"](ctx))))
            self.web.fragments.put(fkey, hit)
        return self.render(CACHED_CONTENT, cached_title=hit[1], cached_content=hit[2])

    def render(self, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        return render(self.web, self.request, template, status_code=status_code, user=self.user, page=self,
                      **context)

    def redirect(self, path: str, **params: Any) -> RedirectResponse:
        return RedirectResponse(self.link(path, **params), status_code=303)

    def flash(self, message: str) -> None:
        self.request.session["flash"] = message


FIELD_ZH: Mapping[str, str] = {
    "on": "日期", "evidence": "佐证材料", "occurrence": "到期批次", "reason": "理由", "until": "延期至",
    "doc_number": "文号", "title": "文件标题", "received": "收文日期", "note": "备注", "name": "账号",
    "password": "密码",
}


def render(web: WebContext, request: Request, template: str, *, status_code: int = 200,
           user: Principal | None = None, page: Page | None = None, **context: Any) -> HTMLResponse:
    flash = request.session.pop("flash", None) if "session" in request.scope else None
    html = web.templates.get_template(template).render(
        request=request, user=user, page=page, csrf=csrf_token(request.session), flash=flash,
        link=page.link if page else (lambda path, **kw: path + ("?" + urlencode(kw) if kw else "")),
        can=page.can if page else (lambda *a, **k: False), **context)
    return HTMLResponse(html, status_code=status_code)


def parse_as_of(value: str | None, today: dt.date, span: tuple[int, int]) -> tuple[dt.date, str | None]:
    """``?as_of=`` as a day inside the calendar's covered years ``span`` (else 400, never a 500)."""
    if not value:
        return today, None
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise BadRequest(f"as_of={value[:40]!r} 不是有效日期（YYYY-MM-DD）") from None
    if not span[0] <= day.year <= span[1]:
        raise BadRequest(f"as_of={value} 超出工作日历覆盖的年份（{span[0]}–{span[1]}）")
    return day, value


def bounded_int(value: str | int, what: str) -> int:
    """An id or count from a path or query: an integer in 0..:data:`MAX_ID` (else 400)."""
    try:
        number = int(value)
    except ValueError:
        raise BadRequest(f"{what} {str(value)[:40]!r} 不是整数") from None
    if not 0 <= number <= MAX_ID:
        raise BadRequest(f"{what} {str(value)[:40]} 超出范围（0–{MAX_ID}）")
    return number


# --------------------------------------------------------------------------- the endpoint wrapper


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def current_user(request: Request, db: Session, now: dt.datetime) -> Principal | None:
    """The session's user, unless the session is older than :data:`SESSION_LIFETIME` since login.

    The cookie is re-signed on every response, so its own age never runs
    out while it is used; the login instant (``iat``) it carries does.
    """
    uid, epoch, iat = request.session.get("uid"), request.session.get("ep"), request.session.get("iat")
    if not isinstance(uid, int) or not isinstance(epoch, int) or not isinstance(iat, int):
        return None
    age = now.timestamp() - iat
    if not 0 <= age <= SESSION_LIFETIME.total_seconds():
        request.session.clear()
        return None
    return load_principal(db, uid, epoch)


def record_denial(web: WebContext, user: Principal, request: Request, exc: Denied) -> None:
    """Write ``web.denied`` to the audit log in its own transaction (the refused change never happened)."""
    with web.runtime.sessions() as db, db.begin():
        audit.append(db, actor=user.name, source="web", action="web.denied", object_type=exc.object_type,
                     object_id=audit.clip_id(exc.object_id or request.url.path),
                     after={"action": exc.action, "role": user.role.value, "method": request.method,
                            "path": request.url.path[:2000], "client": _client(request)},
                     reason=exc.reason)


def _error(web: WebContext, request: Request, user: Principal | None, status: int, title: str, message: str
           ) -> HTMLResponse:
    return render(web, request, "error.html", status_code=status, user=user, title=title, message=message)


def _run(request: Request, form: FormData | None, handler: Handler, action: str) -> Response:
    web: WebContext = request.app.state.web
    with web.runtime.sessions() as db:
        user = current_user(request, db, web.now())
        if user is None:
            db.rollback()
            if request.method == "GET":
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                return RedirectResponse("/login?" + urlencode({"next": target}), status_code=303)
            return _error(web, request, None, 403, "未登录", "请先登录。")
        try:
            if request.method == "POST" and not csrf_ok(request.session, form.get("csrf") if form else None):
                raise Denied(action, "missing or wrong CSRF token", object_type="csrf")
            as_of, as_of_param = parse_as_of(request.query_params.get("as_of"), web.today(),
                                             web.runtime.calendar.span)
            page = Page(request=request, web=web, db=db, user=user, as_of=as_of, as_of_param=as_of_param, form=form)
            page.require(action, object_type="route", object_id=request.url.path)
            response = handler(page)
            if request.method == "POST":
                db.commit()
            else:
                db.rollback()
            return response
        except (Denied, PermissionDenied) as exc:
            db.rollback()
            denied = exc if isinstance(exc, Denied) else Denied(action, str(exc), object_type="service",
                                                                  object_id=request.url.path)
            record_denial(web, user, request, denied)
            what = RULES[denied.action].label if denied.action in RULES else denied.action
            message = "表单已失效（CSRF 校验失败），请刷新页面后重试。" if denied.object_type == "csrf" else \
                f"您的账号（{user.role_label}）无权{what}。"
            return _error(web, request, user, 403, "无权操作", message)
        except CalendarYearMissing as exc:  # a LookupError too: before the 404 clause
            db.rollback()
            return _error(web, request, user, 400, "缺少工作日历", str(exc))
        except (PageNotFound, LookupError) as exc:
            db.rollback()
            return _error(web, request, user, 404, "未找到", str(exc))
        except (BadRequest, DubanError, ValueError) as exc:
            db.rollback()
            return _error(web, request, user, 400, "无法办理", str(exc))


async def read_form(request: Request) -> FormData:
    """The request's form: no file parts, few fields (the body size is capped by the app's BodyLimit)."""
    return await request.form(max_files=0, max_fields=MAX_FORM_FIELDS, max_part_size=MAX_BODY)


def endpoint(handler: Handler, *, action: str = "view") -> Callable[[Request], Awaitable[Response]]:
    """An ASGI endpoint running ``handler`` with login, CSRF and permission checks (see module doc)."""

    async def run(request: Request) -> Response:
        form = await read_form(request) if request.method == "POST" else None
        try:
            return await run_in_threadpool(_run, request, form, handler, action)
        finally:
            if form is not None:
                await form.close()

    run.__name__ = handler.__name__
    return run


def route(path: str, handler: Handler, *, action: str = "view", methods: tuple[str, ...] = ("GET",)) -> Route:
    return Route(path, endpoint(handler, action=action), methods=list(methods))
