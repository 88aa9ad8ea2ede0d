"""The webhook notifier: POST each digest's summary as JSON to a URL.

Three payload shapes (``format``):

- ``"json"`` (generic): ``{"key", "message_id", "sender", "recipient",
  "subject", "text", "created"}``; for a receiving system of one's own.
- ``"wecom"``: a WeCom (企业微信) group robot,
  ``{"msgtype": "markdown", "markdown": {"content": "**subject**\\n\\ntext"}}``.
- ``"dingtalk"``: a DingTalk (钉钉) group robot,
  ``{"msgtype": "markdown", "markdown": {"title": subject, "text": ...}}``.

Robot messages are capped at ``max_bytes`` of UTF-8 (WeCom refuses markdown
over 4096 bytes); a longer digest is cut at a line and points to the
dashboard. DingTalk robots with a signing secret are not supported.

Failure semantics: a 2xx answer is ``"sent"``; a 5xx answer, 408, 429, a
timeout or a refused connection is ``"retry"`` (429's ``Retry-After`` is
honoured); any other 4xx is ``"failed"``, and so is a redirect, which is not
followed (urllib would turn the POST into a GET and lose the body). Robots
answer HTTP 200 even when they refuse a message: their JSON ``errcode`` is
read, and a non-zero code is ``"failed"``, except the robots' rate-limit codes,
which are ``"retry"``. A connection that drops after the request was sent is
``"retry"`` like SMTP's ambiguous case: the group may see a digest twice.

Robot URLs carry their access key in the query string: give the URL through
an environment variable (``url_env``) rather than the config file. Details
and errors show the URL without its query.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from email.message import Message
from typing import Any, Literal, Mapping, Sequence, TypeAlias, get_args

from .abc import DeliveryResult, NotifierConfigError, OutgoingMessage

__all__ = ["FORMATS", "Format", "WebhookNotifier", "payload_for", "redact_url"]

Format: TypeAlias = Literal["json", "wecom", "dingtalk"]
FORMATS: tuple[str, ...] = get_args(Format)

#: Robot ``errcode`` values that mean "too many messages, later" (WeCom 45009
#: 接口调用超过限制; DingTalk 130101 send too fast).
RATE_LIMIT_ERRCODES: frozenset[int] = frozenset({45009, 130101})
_TRUNCATED = "\n\n……（内容较长，完整内容请登录督办平台查看）"


def redact_url(url: str) -> str:
    """``url`` without query, fragment or user info: safe for logs and details."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path, "", ""))


def _truncate_utf8(text: str, max_bytes: int) -> str:
    """Cut ``text`` to at most ``max_bytes`` UTF-8 bytes, at a line end when one is near."""
    if len(text.encode("utf-8")) <= max_bytes:
        return text
    budget = max_bytes - len(_TRUNCATED.encode("utf-8"))
    cut = text.encode("utf-8")[: max(0, budget)].decode("utf-8", "ignore")
    line_end = cut.rfind("\n")
    if line_end > len(cut) // 2:
        cut = cut[:line_end]
    return cut.rstrip() + _TRUNCATED


def payload_for(message: OutgoingMessage, format: Format, *, max_bytes: int = 4000) -> dict[str, Any]:
    """The JSON body posted for ``message`` in ``format`` (see the module docstring)."""
    if format == "json":
        return {
            "key": message.key,
            "message_id": message.message_id,
            "sender": message.sender,
            "recipient": message.recipient,
            "subject": message.subject,
            "text": message.text,
            "created": message.created.isoformat() if message.created else None,
        }
    content = _truncate_utf8(f"**{message.subject}**\n\n{message.text.strip()}", max_bytes)
    if format == "wecom":
        return {"msgtype": "markdown", "markdown": {"content": content}}
    if format == "dingtalk":
        return {"msgtype": "markdown", "markdown": {"title": message.subject, "text": content}}
    raise NotifierConfigError("webhook", [f"unknown format {format!r}; expected one of {FORMATS}"])


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Refuse redirects: a redirected POST would arrive as a GET without its body."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        return None


class WebhookNotifier:
    """POSTs one JSON document per message (urllib, no extra dependency)."""

    name = "webhook"

    def __init__(
        self,
        url: str,
        *,
        format: Format = "json",
        timeout: float = 10.0,
        max_bytes: int = 4000,
        retry_after: float = 300.0,
        headers: Mapping[str, str] | None = None,
        env_proxies: bool = True,
    ) -> None:
        parts = urllib.parse.urlsplit(url)
        problems = []
        if parts.scheme not in ("http", "https") or not parts.hostname:
            problems.append(f"url {redact_url(url)!r} is not an http(s) URL with a host")
        if format not in FORMATS:
            problems.append(f"unknown format {format!r}; expected one of {FORMATS}")
        if problems:
            raise NotifierConfigError("webhook", problems)
        self.url = url
        self.format: Format = format
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.retry_after = retry_after
        self.headers = dict(headers or {})
        handlers: list[urllib.request.BaseHandler] = [_NoRedirect()]
        if not env_proxies:
            handlers.append(urllib.request.ProxyHandler({}))
        self._opener = urllib.request.build_opener(*handlers)

    def __repr__(self) -> str:
        return f"WebhookNotifier(url={redact_url(self.url)!r}, format={self.format!r})"

    def send_batch(self, messages: Sequence[OutgoingMessage]) -> list[DeliveryResult]:
        """POST every message; one result per message, in order."""
        return [self._post(message) for message in messages]

    def close(self) -> None:
        """Nothing to release: urllib opens one connection per request."""

    def _post(self, message: OutgoingMessage) -> DeliveryResult:
        body = json.dumps(payload_for(message, self.format, max_bytes=self.max_bytes), ensure_ascii=False)
        request = urllib.request.Request(
            self.url,
            data=body.encode("utf-8"),
            method="POST",
            headers={"Content-Type": "application/json; charset=utf-8", "User-Agent": "duban", **self.headers},
        )
        where = redact_url(self.url)
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                status = response.status
                answer = response.read(65536)
        except urllib.error.HTTPError as exc:
            return self._http_error(message.key, where, exc)
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            return DeliveryResult(
                key=message.key, status="retry", retry_after=self.retry_after,
                detail=f"POST {where}: no answer ({type(reason).__name__}: {reason})",
            )
        return self._robot_answer(message.key, where, status, answer)

    def _http_error(self, key: str, where: str, exc: urllib.error.HTTPError) -> DeliveryResult:
        try:
            excerpt = exc.read(300).decode("utf-8", "replace")
        except OSError:
            excerpt = ""
        finally:
            exc.close()
        detail = f"POST {where}: HTTP {exc.code} {exc.reason} {excerpt}".strip()
        if exc.code >= 500 or exc.code in (408, 429):
            return DeliveryResult(
                key=key, status="retry", detail=detail,
                retry_after=_retry_after_header(exc.headers, self.retry_after),
            )
        return DeliveryResult(key=key, status="failed", detail=detail)

    def _robot_answer(self, key: str, where: str, status: int, answer: bytes) -> DeliveryResult:
        detail = f"POST {where}: HTTP {status}"
        if self.format == "json":
            return DeliveryResult(key=key, status="sent", detail=detail)
        try:
            parsed = json.loads(answer.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return DeliveryResult(key=key, status="sent", detail=f"{detail} (answer is not JSON)")
        errcode = parsed.get("errcode", 0) if isinstance(parsed, dict) else 0
        if errcode in (0, None):
            return DeliveryResult(key=key, status="sent", detail=detail)
        detail = f"{detail}, robot errcode {errcode!r}: {parsed.get('errmsg', '')}"
        if errcode in RATE_LIMIT_ERRCODES:
            return DeliveryResult(key=key, status="retry", detail=detail, retry_after=60.0)
        return DeliveryResult(key=key, status="failed", detail=detail)


def _retry_after_header(headers: Message | None, default: float) -> float:
    """The ``Retry-After`` delay in seconds (the seconds form; an HTTP date falls back)."""
    value = headers.get("Retry-After") if headers is not None else None
    try:
        return max(0.0, float(value)) if value is not None else default
    except ValueError:
        return default
