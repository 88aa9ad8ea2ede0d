"""Settings: the embedded file, another file, the environment; strict errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from duban.engine.runtime.settings import DEFAULT_CONFIG, ConfigError, load_settings


def test_embedded_defaults_point_at_var_and_rules():
    s = load_settings(environ={})
    root = DEFAULT_CONFIG.parent
    assert s.database_url == f"sqlite:///{root / 'var' / 'duban.db'}"
    assert Path(s.notifier["outbox_dir"]) == root / "var" / "outbox"
    assert s.timezone == "Asia/Shanghai" and s.notifier["kind"] == "outbox"
    assert s.ruleset == root / "rules" / "rulesets" / "reminders.yaml"


def test_environment_overrides_and_another_file(tmp_path):
    cfg = tmp_path / "prod.yaml"
    cfg.write_text("database:\n  url: sqlite:///data/prod.db\nschedule:\n  hour: 8\n  minute: 30\n", encoding="utf-8")
    s = load_settings(environ={"DUBAN_CONFIG": str(cfg), "DUBAN_NOTIFIER": "smtp", "DUBAN_WEB_PORT": "8080"})
    assert s.database_url == f"sqlite:///{tmp_path / 'data' / 'prod.db'}"  # relative to the config file
    assert (s.schedule.hour, s.schedule.minute) == (8, 30)
    assert s.notifier["kind"] == "smtp" and s.web_port == 8080
    s = load_settings(environ={"DUBAN_CONFIG": str(cfg), "DUBAN_DATABASE_URL": "postgresql+psycopg://u@h/db"})
    assert s.database_url == "postgresql+psycopg://u@h/db"


def test_every_error_names_the_key_and_line(tmp_path):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("database:\n  url: sqlite:///x.db\n  uri: oops\nschedule:\n  hour: nine\n  working_days_only: yes\n"
                   "notifier:\n  kind: fax\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_settings(cfg, environ={})
    lines = str(info.value).splitlines()[1:]
    assert f"{cfg}:3: unknown-field database.uri: unknown field 'uri' (did you mean 'url'?); allowed here: url" in lines
    assert any(line.startswith(f"{cfg}:5: bad-number schedule.hour") for line in lines)
    assert any(line.startswith(f"{cfg}:6: bad-bool schedule.working_days_only") for line in lines)
    assert any(line.startswith(f"{cfg}:8: bad-choice notifier.kind") and "'fax'" in line for line in lines)


def test_the_smtp_password_comes_from_the_environment_and_prints_as_stars(tmp_path, monkeypatch):
    monkeypatch.setenv("DUBAN_SMTP_PASSWORD", "s3cret")
    s = load_settings(environ={})
    secret = s.smtp_password()
    assert secret.reveal() == "s3cret"
    assert "s3cret" not in repr(secret) and "s3cret" not in str(secret) and "s3cret" not in repr(s)
