"""One rule per concept (issue 10): the configured time zone and the "due soon" threshold.

The configured time zone is the one every part answers "which day, which hour" in.

China keeps one zone (北京时间), the default; a deployment may still configure another (a
server kept in UTC, an overseas office). Issue 10 found ``Asia/Shanghai`` hard-coded in the
projection, the emails and the reports while ``timezone:`` was configurable. Here the same
event instant is recorded under two configurations, and what the store decides and what people
are shown follow the configuration.
"""

from __future__ import annotations

import json
from pathlib import Path

from helpers import REPO, run


def _config(tmp_path: Path, zone: str) -> str:
    text = (REPO / "config.yaml").read_text(encoding="utf-8")
    if not (tmp_path / "rules").exists():  # the config's relative paths resolve beside it
        (tmp_path / "rules").symlink_to(REPO / "rules")
    path = tmp_path / f"config-{zone.replace('/', '-')}.yaml"
    path.write_text(text.replace("timezone: Asia/Shanghai", f"timezone: {zone}", 1), encoding="utf-8")
    return str(path)


def _env(store, tmp_path: Path, zone: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {"DUBAN_CONFIG": _config(tmp_path, zone), "DUBAN_DATABASE_URL": store.url,
            "DUBAN_OUTBOX_DIR": str(tmp_path / "outbox")}


def test_event_times_are_read_and_shown_in_the_configured_zone(seeded, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    utc = _env(seeded, tmp_path, "UTC")
    # 20:00 on 1 July in UTC is already 2 July in Beijing: under UTC it is on its own date.
    code, out, err = run(utc, "event", "record", "gd_negative_list_doc", "--plan", "jieyang-2016-disclosure",
                         "--date", "2016-07-01", "--at", "20:00", "--actor", "督查室林瑜")
    assert code == 0, err
    code, out, err = run(utc, "event", "list", "--json")
    assert code == 0, err
    (event,) = json.loads(out)
    assert event["at"] == "2016-07-01T20:00:00+00:00"
    # The same stored instant, shown under the default configuration, is 04:00 on 2 July.
    code, out, err = run(_env(seeded, tmp_path, "Asia/Shanghai"), "event", "list", "--json")
    assert code == 0, err
    assert json.loads(out)[0]["at"] == "2016-07-02T04:00:00+08:00"


def test_the_audit_list_prints_times_in_the_configured_zone(seeded, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    lines = {}
    for zone in ("UTC", "Asia/Shanghai"):
        code, out, err = run(_env(seeded, tmp_path, zone), "audit", "list", "--limit", "1")
        assert code == 0, err
        lines[zone] = out.split("\t")[1]
    from datetime import datetime

    utc, beijing = (datetime.strptime(lines[z], "%Y-%m-%d %H:%M:%S") for z in ("UTC", "Asia/Shanghai"))
    assert (beijing - utc).total_seconds() == 8 * 3600


def test_due_soon_follows_the_policy_everywhere(seeded, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """One "due soon" (黄) threshold: the policy's ``yellow_within``, in the CLI and the report alike.

    Before, the dashboard, report and CLI used a constant 5 while the emails used the policy,
    so a supervising office that set ``yellow_within: 2`` was shown two different pictures.
    """
    text = (REPO / "config.yaml").read_text(encoding="utf-8").replace(
        "overrides: {}", "overrides: {yellow_within: 2}", 1)
    if not (tmp_path / "rules").exists():
        (tmp_path / "rules").symlink_to(REPO / "rules")
    cfg = tmp_path / "config-yellow2.yaml"
    cfg.write_text(text, encoding="utf-8")
    narrow = {"DUBAN_CONFIG": str(cfg), "DUBAN_DATABASE_URL": seeded.url, "DUBAN_OUTBOX_DIR": str(tmp_path / "o")}
    wide = _env(seeded, tmp_path, "Asia/Shanghai")
    # 2016-07-29 (Friday): the 30-working-day duties fall due on 2016-08-04, 4 working days later.
    args = ("obligations", "list", "--plan", "jieyang-2016-disclosure", "--task", "0", "--as-of", "2016-07-29",
            "--json")
    statuses = {}
    for name, env in (("narrow", narrow), ("wide", wide)):
        code, out, err = run(env, *args)
        assert code == 0, err
        statuses[name] = {r["status"] for r in json.loads(out) if r["due"] == "2016-08-04"}
    assert statuses == {"narrow": {"open"}, "wide": {"due_soon"}}
    for name, env, expected in (("narrow", narrow, "未到期"), ("wide", wide, "即将到期")):
        out_csv = tmp_path / f"report-{name}.csv"
        code, _, err = run(env, "report", "--plan", "jieyang-2016-disclosure", "--as-of", "2016-07-29",
                           "--format", "csv", "-o", str(out_csv))
        assert code == 0, err
        rows = [line for line in out_csv.read_text(encoding="utf-8-sig").splitlines() if "2016-08-04" in line]
        assert rows and all(expected in line for line in rows), (name, rows[:2])
