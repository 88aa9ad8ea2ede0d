"""One schema drives the config reader and the docs: values checked at load, defaults equal, docs equal."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from duban.cli.main import cli
from duban.engine.runtime.build import build_runtime, notifier_settings
from duban.engine.runtime.schema import SCHEMA, markdown_table
from duban.engine.runtime.settings import DEFAULT_CONFIG, ConfigError, load_settings
from duban.notifiers import factory
from duban.notifiers.outbox import OutboxNotifier
from duban.notifiers.smtp import SmtpNotifier
from duban.notifiers.webhook import WebhookNotifier

REPO = Path(__file__).resolve().parent.parent


def problems(tmp_path: Path, text: str, environ: dict[str, str] | None = None) -> list[str]:
    cfg = tmp_path / "config.yaml"
    cfg.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_settings(cfg, environ=environ or {})
    return str(info.value).splitlines()[1:]


# --------------------------------------------------------------------------- validated at load


def test_a_misspelt_time_zone_names_its_line_and_the_zone_meant(tmp_path):
    lines = problems(tmp_path, "database:\n  url: sqlite:///x.db\ntimezone: Asia/Shangai\n")
    cfg = tmp_path / "config.yaml"
    assert len(lines) == 1
    assert lines[0].startswith(f"{cfg}:3: bad-timezone timezone: 'Asia/Shangai'")
    assert "did you mean 'Asia/Shanghai'" in lines[0]


def test_a_check_in_day_that_does_not_exist_names_the_key(tmp_path):
    lines = problems(tmp_path, 'ongoing:\n  checkins:\n    - "06-30"\n    - "13-45"\n')
    assert lines == [f"{tmp_path / 'config.yaml'}:4: bad-date ongoing.checkins[1]: '13-45' is not a day of the "
                     'year MM-DD (e.g. "06-30")']


@pytest.mark.parametrize(("text", "line", "code", "key"), [
    ("schedule:\n  hour: 24\n", 2, "out-of-range", "schedule.hour"),
    ("web:\n  port: 0\n", 2, "out-of-range", "web.port"),
    ("web:\n  base_url: ftp://x.example\n", 2, "bad-url", "web.base_url"),
    ("notifier:\n  sender: not an address\n", 2, "bad-address", "notifier.sender"),
    ("notifier:\n  message_id_domain: 督办.example\n", 2, "bad-domain", "notifier.message_id_domain"),
    ("notifier:\n  smtp:\n    mode: tls\n", 3, "bad-choice", "notifier.smtp.mode"),
    ("notifier:\n  smtp:\n    timeout: soon\n", 3, "bad-number", "notifier.smtp.timeout"),
    ("notifier:\n  smtp:\n    ca_file: /no/such/ca.pem\n", 3, "not-found", "notifier.smtp.ca_file"),
    ("notifier:\n  webhook:\n    format: slack\n", 3, "bad-choice", "notifier.webhook.format"),
    ("notifier:\n  webhook:\n    env_proxies: yes\n", 3, "bad-bool", "notifier.webhook.env_proxies"),
    ("calendar:\n  extra_dirs: [/no/such/dir]\n", 2, "not-found", "calendar.extra_dirs[0]"),
    ("reminders:\n  overrides: {lead_times: [ten]}\n", 2, None, "reminders.overrides"),
])
def test_every_value_is_checked_at_load_with_its_line(tmp_path, text, line, code, key):
    (first, *_rest) = problems(tmp_path, text)
    match = re.match(r"(.+):(\d+): (\S+) (\S+): ", first)
    assert match, first
    assert (match.group(1), int(match.group(2))) == (str(tmp_path / "config.yaml"), line)
    assert match.group(4).startswith(key)
    if code:
        assert match.group(3) == code


def test_an_environment_override_is_checked_and_named(tmp_path):
    lines = problems(tmp_path, "", {"DUBAN_WEB_PORT": "eighty", "DUBAN_NOTIFIER": "fax"})
    assert any(line.startswith("$DUBAN_WEB_PORT:1: bad-number web.port:") for line in lines)
    assert any(line.startswith("$DUBAN_NOTIFIER:1: bad-choice notifier.kind:") for line in lines)


def test_a_bad_config_stops_a_command_before_it_runs(tmp_path):
    cfg = tmp_path / "config.yaml"
    cfg.write_text("timezone: Asia/Shangai\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["obligations", "list"], env={"DUBAN_CONFIG": str(cfg)})
    assert result.exit_code == 1
    assert f"{cfg}:1: bad-timezone timezone" in result.stderr and "Traceback" not in result.output


# --------------------------------------------------------------------------- defaults


def test_defaults_are_the_same_whether_a_key_is_written_or_left_out(tmp_path):
    """An empty file gets exactly what the shipped config.yaml writes (message_id_domain, smtp host/port/mode...)."""
    empty = tmp_path / "empty.yaml"
    empty.write_text("{}\n", encoding="utf-8")
    shipped, omitted = load_settings(environ={}), load_settings(empty, environ={})
    assert omitted.values == shipped.values
    assert omitted.notifier["message_id_domain"] == "duban.jieyang.example"
    assert omitted.notifier["smtp"] | {} == shipped.notifier["smtp"]
    assert (omitted.notifier["smtp"]["host"], omitted.notifier["smtp"]["port"],
            omitted.notifier["smtp"]["mode"]) == ("127.0.0.1", 25, "plain")


def test_a_port_left_out_follows_the_mode(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("notifier:\n  smtp:\n    mode: ssl\n", encoding="utf-8")
    assert load_settings(cfg, environ={}).notifier["smtp"]["port"] == 465


# --------------------------------------------------------------------------- every notifier kind


@pytest.mark.parametrize(("kind", "environ", "cls"), [
    ("outbox", {}, OutboxNotifier),
    ("smtp", {}, SmtpNotifier),
    ("webhook", {"DUBAN_WEBHOOK_URL": "http://127.0.0.1:9/hook"}, WebhookNotifier),
])
def test_each_notifier_kind_builds_from_the_shipped_config(tmp_path, kind, environ, cls):
    settings = load_settings(environ={"DUBAN_NOTIFIER": kind, "DUBAN_OUTBOX_DIR": str(tmp_path / "out"), **environ})
    notifier = build_runtime(settings).notifier_factory()
    try:
        assert isinstance(notifier, cls)
        if kind == "webhook":
            assert notifier.format == "json"  # config.yaml's `generic`: duban's own JSON payload
    finally:
        notifier.close()


def test_the_webhook_kind_without_a_url_fails_at_load_naming_the_key():
    with pytest.raises(ConfigError) as info:
        load_settings(environ={"DUBAN_NOTIFIER": "webhook"})
    assert re.search(r"config\.yaml:\d+: missing-value notifier\.webhook\.url: required", str(info.value))


def test_every_setting_the_notifiers_take_is_settable_in_the_config(tmp_path):
    for kind in ("smtp", "webhook"):
        settable = {k.name for k in SCHEMA if k.section == f"notifier.{kind}"}
        assert settable == set(factory._KEYS[kind]), kind
    cfg = tmp_path / "c.yaml"
    cfg.write_text("notifier:\n  kind: smtp\n  smtp:\n    timeout: 5\n    max_attempts: 7\n    backoff_base: 0.5\n"
                   "    backoff_cap: 4\n    retry_after: 60\n    local_hostname: duban.gov.example\n", encoding="utf-8")
    mapping = notifier_settings(load_settings(cfg, environ={}))
    assert {k: mapping[k] for k in ("timeout", "max_attempts", "backoff_base", "backoff_cap", "retry_after",
                                    "local_hostname")} == {"timeout": 5.0, "max_attempts": 7, "backoff_base": 0.5,
                                                           "backoff_cap": 4.0, "retry_after": 60.0,
                                                           "local_hostname": "duban.gov.example"}
    notifier = factory.build_notifier(mapping)
    assert (notifier.max_attempts, notifier.local_hostname) == (7, "duban.gov.example")


# --------------------------------------------------------------------------- the docs come from the schema


def _generated_blocks(doc: Path) -> list[tuple[str, str]]:
    text = doc.read_text(encoding="utf-8")
    return re.findall(r"<!-- generated: duban config schema --markdown(?: --prefix (\S+))? -->\n(.*?)<!-- end -->",
                      text, flags=re.S)


@pytest.mark.parametrize("doc", ["docs/configuration.md", "docs/notifications.md"])
def test_the_docs_tables_equal_the_schema(doc):
    blocks = _generated_blocks(REPO / doc)
    assert blocks, f"{doc} has no generated table"
    for prefix, table in blocks:
        expected = CliRunner().invoke(cli, ["config", "schema", "--markdown", *(["--prefix", prefix] if prefix else [])])
        assert expected.exit_code == 0
        assert table == expected.stdout == markdown_table(prefix), (
            f"{doc}: regenerate with `duban config schema --markdown{' --prefix ' + prefix if prefix else ''}`")


def test_the_shipped_config_writes_every_key_with_its_default():
    """config.yaml is the annotated example: every key is in it, with the value a file that omits it gets."""
    text = DEFAULT_CONFIG.read_text(encoding="utf-8")
    for key in SCHEMA:
        assert re.search(rf"^\s*{re.escape(key.name)}:", text, flags=re.M), key.path
