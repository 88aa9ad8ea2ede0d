"""The webhook notifier against a real http.server on 127.0.0.1, in a thread."""

from __future__ import annotations

import dataclasses
import json
import socket
import threading
from collections.abc import Iterator
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from duban.notifiers.abc import NotifierConfigError, OutgoingMessage
from duban.notifiers.factory import build_notifier
from duban.notifiers.render import SAMPLE_SENDER, render_digest, sample_digest
from duban.notifiers.webhook import WebhookNotifier, payload_for, redact_url

NOW = datetime(2016, 8, 1, 1, 0, tzinfo=timezone.utc)


class Robot:
    """What the fake group robot answers, and what it received."""

    def __init__(self) -> None:
        self.answers: list[tuple[int, dict[str, str], bytes]] = []
        self.received: list[tuple[str, dict[str, str], Any]] = []

    def answer(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
        raw = json.dumps(body if body is not None else {"errcode": 0, "errmsg": "ok"}).encode()
        self.answers.append((status, headers or {}, raw))


@pytest.fixture
def robot() -> Iterator[tuple[Robot, str]]:
    """A real HTTP server; each POST pops the next scripted answer (default 200 ok)."""
    state = Robot()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            body = json.loads(self.rfile.read(length).decode("utf-8"))
            state.received.append((self.path, dict(self.headers), body))
            status, headers, raw = state.answers.pop(0) if state.answers else (200, {}, b'{"errcode": 0}')
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield state, f"http://127.0.0.1:{server.server_address[1]}/cgi-bin/webhook/send?key=SECRET-ROBOT-KEY"
    server.shutdown()
    server.server_close()
    thread.join()


def messages(n: int) -> list[OutgoingMessage]:
    return [
        render_digest(
            dataclasses.replace(sample_digest(), key=f"2016-08-01:clerk:{i}"),
            sender=SAMPLE_SENDER, message_id_domain="duban.example", now=NOW,
        )
        for i in range(n)
    ]


def hook(url: str, **kwargs: Any) -> WebhookNotifier:
    return WebhookNotifier(url, timeout=5.0, env_proxies=False, **kwargs)


def test_generic_json_payload(robot: tuple[Robot, str]) -> None:
    state, url = robot
    batch = messages(2)
    results = hook(url).send_batch(batch)
    assert [r.status for r in results] == ["sent", "sent"]
    assert [r.key for r in results] == [m.key for m in batch]
    path, headers, body = state.received[0]
    assert path == "/cgi-bin/webhook/send?key=SECRET-ROBOT-KEY"
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    assert body == {
        "key": batch[0].key,
        "message_id": batch[0].message_id,
        "sender": "督办系统 <duban@duban.example>",
        "recipient": "林瑜 <linyu@dishui.jieyang.example>",
        "subject": "【督办】市地税局完成时限提醒（3项，其中已逾期1项）",
        "text": batch[0].text,
        "created": "2016-08-01T09:00:00+08:00",
    }
    assert "SECRET" not in results[0].detail


def test_wecom_markdown_payload(robot: tuple[Robot, str]) -> None:
    state, url = robot
    [result] = hook(url, format="wecom").send_batch(messages(1))
    assert result.status == "sent"
    body = state.received[0][2]
    assert set(body) == {"msgtype", "markdown"} and body["msgtype"] == "markdown"
    assert set(body["markdown"]) == {"content"}
    content = body["markdown"]["content"]
    assert content.startswith("**【督办】市地税局完成时限提醒（3项，其中已逾期1项）**\n\n林瑜同志：")
    assert "红色 · 已逾期" in content


def test_dingtalk_markdown_payload(robot: tuple[Robot, str]) -> None:
    state, url = robot
    [result] = hook(url, format="dingtalk").send_batch(messages(1))
    assert result.status == "sent"
    body = state.received[0][2]
    assert body["msgtype"] == "markdown"
    assert body["markdown"]["title"] == "【督办】市地税局完成时限提醒（3项，其中已逾期1项）"
    assert "林瑜同志" in body["markdown"]["text"]


def test_long_digests_are_cut_for_the_robot() -> None:
    message = dataclasses.replace(messages(1)[0], text="督办事项\n" * 2000)
    content = payload_for(message, "wecom", max_bytes=4000)["markdown"]["content"]
    assert len(content.encode("utf-8")) <= 4000
    assert content.endswith("完整内容请登录督办平台查看）")
    assert "督办事项\n\n……" in content  # cut at a line end


def test_500_is_retry_and_400_is_failed(robot: tuple[Robot, str]) -> None:
    state, url = robot
    state.answer(500, {"error": "internal"})
    state.answer(400, {"error": "bad payload"})
    state.answer(503, {}, {"Retry-After": "7"})
    results = hook(url, retry_after=120.0).send_batch(messages(3))
    assert [r.status for r in results] == ["retry", "failed", "retry"]
    assert results[0].retry_after == 120.0 and "HTTP 500" in results[0].detail
    assert results[1].retry_after is None and "HTTP 400" in results[1].detail and "bad payload" in results[1].detail
    assert results[2].retry_after == 7.0
    assert all("SECRET" not in r.detail for r in results)


def test_429_honours_retry_after(robot: tuple[Robot, str]) -> None:
    state, url = robot
    state.answer(429, {}, {"Retry-After": "30"})
    [result] = hook(url).send_batch(messages(1))
    assert result.status == "retry" and result.retry_after == 30.0


def test_robot_errcodes_are_read(robot: tuple[Robot, str]) -> None:
    state, url = robot
    state.answer(200, {"errcode": 93000, "errmsg": "invalid webhook url"})
    state.answer(200, {"errcode": 45009, "errmsg": "api freq out of limit"})
    results = hook(url, format="wecom").send_batch(messages(2))
    assert [r.status for r in results] == ["failed", "retry"]
    assert "93000" in results[0].detail and "invalid webhook url" in results[0].detail
    assert results[1].retry_after == 60.0


def test_redirects_are_not_followed(robot: tuple[Robot, str]) -> None:
    state, url = robot
    state.answer(302, {}, {"Location": "http://127.0.0.1:9/elsewhere"})
    [result] = hook(url).send_batch(messages(1))
    assert result.status == "failed" and "HTTP 302" in result.detail
    assert len(state.received) == 1


def test_a_silent_server_times_out_as_retry() -> None:
    with socket.socket() as listener:  # accepts connections (kernel backlog) but never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/hook"
        [result] = WebhookNotifier(url, timeout=0.2, env_proxies=False).send_batch(messages(1))
    assert result.status == "retry"
    assert "no answer" in result.detail and "timed out" in result.detail


def test_a_refused_connection_is_retry() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}/hook"
        [result] = hook(url).send_batch(messages(1))
    assert result.status == "retry" and "ConnectionRefusedError" in result.detail


def test_factory_reads_the_url_from_the_environment(robot: tuple[Robot, str]) -> None:
    state, url = robot
    notifier = build_notifier(
        {"kind": "webhook", "url_env": "DUBAN_TEST_ROBOT_URL", "format": "wecom", "env_proxies": "false"},
        environ={"DUBAN_TEST_ROBOT_URL": url},
    )
    assert isinstance(notifier, WebhookNotifier) and notifier.name == "webhook"
    assert "SECRET" not in repr(notifier)
    assert [r.status for r in notifier.send_batch(messages(1))] == ["sent"]
    assert state.received[0][2]["msgtype"] == "markdown"


def test_factory_webhook_problems() -> None:
    with pytest.raises(NotifierConfigError) as caught:
        build_notifier({"kind": "webhook", "url": "ftp://x.example/hook", "format": "slack", "timeout": "-1"})
    problems = "\n".join(caught.value.problems)
    assert "not an http(s) URL" in problems
    assert "format: 'slack'" in problems and "timeout" in problems
    with pytest.raises(NotifierConfigError, match="url_env"):
        build_notifier({"kind": "webhook", "url_env": "NOT_SET_HERE"}, environ={})
    with pytest.raises(NotifierConfigError, match="not both"):
        build_notifier({"kind": "webhook", "url": "https://a.example/", "url_env": "X"}, environ={"X": "https://b.example/"})


def test_redact_url_drops_query_and_credentials() -> None:
    assert redact_url("https://user:pw@qyapi.example:8443/cgi-bin/webhook/send?key=abc#x") == (
        "https://qyapi.example:8443/cgi-bin/webhook/send"
    )
